{#-
  spark target: every customer scored with the saved models in SQL, the same columns as the
  Python model int_customer_scores of a DuckDB build. The query is written in Python from
  the saved parameters (custseg.scoring_sql: each model's score_sql, the preprocessing's
  space_sql) when scripts/spark_build.py exports the saved model, and emitted here as it is
  (it reads the two relations named below).
-#}
{%- set scoring = run_query("select scores_sql from " ~ saved_artifact('custseg_scoring')).columns[0].values()[0]
    if execute else 'select 1 as customer_id' %}
with custseg_features as (

    select * from {{ ref('customer_segmentation', 'customer_features') }}

),

custseg_parameters as (

    select * from {{ ref('customer_segmentation', 'segment_model_parameters') }}

)

select * from (
{{ scoring }}
) as scores
