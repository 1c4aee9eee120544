{#-
  The spark target (README "Beyond one machine"; scripts/spark_build.py runs it): every SQL
  model runs on Spark; the fitted artifacts come from a DuckDB build, exported as Parquet into
  CUSTSEG_SAVED_DIR and read by the stand-ins in models/spark/; the input contract comes in
  CUSTSEG_CONTRACT_JSON (custseg.spark_support, the same custseg.inputs the DuckDB plugin
  calls), the algorithm registry in CUSTSEG_ALGORITHMS_JSON.
-#}

{% macro is_spark() %}
  {{ return(target.type == 'spark') }}
{% endmacro %}

{#- FROM expression of a saved artifact exported for the spark target. -#}
{% macro saved_artifact(name) %}
  {% set folder = env_var('CUSTSEG_SAVED_DIR', '') %}
  {% if execute and not folder %}
    {{ exceptions.raise_compiler_error("the spark target scores with a saved model exported from a DuckDB build: run it "
        ~ "with `make spark-build` (scripts/spark_build.py), which sets CUSTSEG_SAVED_DIR.") }}
  {% endif %}
  {{ return("parquet." ~ quote_identifier(folder ~ "/" ~ name ~ ".parquet")) }}
{% endmacro %}

{#- The answer custseg.inputs gave scripts/spark_build.py, as customer_input() expects it. -#}
{% macro spark_input_answer() %}
  {% set text = env_var('CUSTSEG_CONTRACT_JSON', '') %}
  {% if not text %}
    {{ exceptions.raise_compiler_error("the spark target reads the input contract from CUSTSEG_CONTRACT_JSON: run it "
        ~ "with `make spark-build` (scripts/spark_build.py).") }}
  {% endif %}
  {{ return(fromjson(text)) }}
{% endmacro %}
