{#-
  spark target: every customer scored with the saved models in SQL (macros/sql_scoring.sql),
  the same columns as the Python model int_customer_scores of a DuckDB build.
-#}
{{ sql_customer_scores(ref('customer_features'), ref('int_segment_models'), ref('segment_preprocessing'),
                       ref('segment_pca_components'), ref('segment_model_parameters')) }}
