{#- spark target: the saved kmeans_model of the DuckDB run this build scores with (scripts/spark_build.py exports it). -#}
select * from {{ saved_artifact('kmeans_model') }}
