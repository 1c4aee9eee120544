{#-
  One row per algorithm: the fitted model the run's segments come from (its parameters,
  the fitted parameters as JSON, its k-selection curve and quality). The tables other
  engines and BI tools read the parameters from are segment_model_parameters.
-#}
select
    cast({{ sql_string(current_run_id()) }} as varchar) as run_id,
    cast(algorithm as varchar) as algorithm,
    cast(algorithm_label as varchar) as algorithm_label,
    cast(fit_space as varchar) as fit_space,
    cast(n_segments as integer) as n_segments,
    cast(has_noise_segment as boolean) as has_noise_segment,
    cast(parameters_json as varchar) as parameters_json,
    cast(model_json as varchar) as model_json,
    cast(fitted_at as timestamp) as fitted_at
from {{ ref('int_segment_models') }}
