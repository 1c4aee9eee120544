"""Fits the self-organizing map on the fit sample (a refit appends a new model version; a score run nothing)."""


def model(dbt, session):
    dbt.config(materialized="incremental", incremental_strategy="append", full_refresh=False)
    from custseg import frames
    from custseg.pipeline import RunContext, fit_model

    return fit_model(
        "som",
        RunContext.from_dbt(dbt),
        sample_relation=dbt.ref("int_model_fit_sample"),
        preprocessing_relation=dbt.ref("segment_preprocessing"),
        existing=frames.table(session, dbt.this) if dbt.is_incremental else None,
    )
