{#- spark target: the saved som_model of the DuckDB run this build scores with (scripts/spark_build.py exports it). -#}
select * from {{ saved_artifact('som_model') }}
