{#-
  One row per algorithm: the model version the run's segments come from, with its
  parameters, the fitted parameters as JSON, and which segment ids it kept from the previous
  version, added and retired. segment_model_parameters has the fitted parameters as rows.
-#}
select
    cast({{ sql_string(current_run_id()) }} as string) as run_id,
    cast(algorithm as string) as algorithm,
    cast(algorithm_label as string) as algorithm_label,
    cast(model_version as integer) as model_version,
    cast(preprocessing_version as integer) as preprocessing_version,
    cast(previous_version as integer) as previous_version,
    cast(fit_space as string) as fit_space,
    cast(n_segments as integer) as n_segments,
    cast(has_noise_segment as boolean) as has_noise_segment,
    cast(segment_ids_json as string) as segment_ids_json,
    cast(kept_ids_json as string) as kept_ids_json,
    cast(new_ids_json as string) as new_ids_json,
    cast(retired_ids_json as string) as retired_ids_json,
    cast(parameters_json as string) as parameters_json,
    cast(model_json as string) as model_json,
    cast(fitted_at as timestamp) as fitted_at
from {{ ref('customer_segmentation', 'int_segment_models') }}
