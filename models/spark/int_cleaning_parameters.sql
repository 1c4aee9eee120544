{#- spark target: the saved int_cleaning_parameters of the DuckDB run this build scores with (scripts/spark_build.py exports it). -#}
select * from {{ saved_artifact('int_cleaning_parameters') }}
