{#-
  The spark target (README "Beyond one machine"; scripts/spark_build.py runs it): every SQL
  model runs on Spark; the fitted artifacts come from a DuckDB build, exported as Parquet into
  CUSTSEG_SAVED_DIR and read by the stand-ins in models/spark/; the run context (settings, input contract,
  algorithms: custseg.run_context, as on DuckDB) comes in CUSTSEG_RUN_CONTEXT_JSON.
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
