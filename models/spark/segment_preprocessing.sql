{#- spark target: the saved segment_preprocessing of the DuckDB run this build scores with (scripts/spark_build.py exports it). -#}
select * from {{ saved_artifact('segment_preprocessing') }}
