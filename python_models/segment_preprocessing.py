"""Fits the preprocessing all algorithms share (caps, transforms, scaling, PCA); a refit appends a new version."""


def model(dbt, session):
    dbt.config(materialized="incremental", incremental_strategy="append", full_refresh=False)
    from custseg import frames
    from custseg.pipeline import fit_preprocessing
    from custseg.run_context import RunContext

    return fit_preprocessing(
        RunContext.from_dbt(dbt),
        sample_relation=dbt.ref("customer_segmentation", "int_model_fit_sample"),
        parameters_relation=dbt.ref("customer_segmentation", "int_cleaning_parameters"),
        existing=frames.table(session, dbt.this) if dbt.is_incremental else None,
    )
