"""The fitted parameters of each model version as rows (centres, SOM weights, mixture parameters),
for any SQL engine."""


def model(dbt, session):
    dbt.config(materialized="incremental", incremental_strategy="append", full_refresh=False)
    from custseg import frames
    from custseg.pipeline import model_parameters
    from custseg.run_context import RunContext

    return model_parameters(
        RunContext.from_dbt(dbt),
        models_relation=dbt.ref("customer_segmentation", "int_segment_models"),
        existing=frames.table(session, dbt.this) if dbt.is_incremental else None,
    )
