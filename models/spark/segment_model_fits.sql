{#- spark target: the saved segment_model_fits rows of the DuckDB run this build scores with (scripts/spark_build.py exports them). -#}
select * from {{ saved_artifact('segment_model_fits') }}
