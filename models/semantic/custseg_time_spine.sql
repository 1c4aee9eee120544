{#-
  One row per day from 2000 to 2099: the time spine MetricFlow joins metric_time to
  (models/semantic/_semantic_models.yml). The semantic layer runs on DuckDB only.
-#}
select cast(range as date) as date_day
from range(date '2000-01-01', date '2100-01-01', interval 1 day)
