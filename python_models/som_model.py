"""Fits the self-organizing map on the fit sample; one row: the fitted model, its k-selection curve and quality."""


def model(dbt, session):
    dbt.config(materialized="table")
    from custseg.pipeline import RunContext, fit_model

    return fit_model(
        "som",
        RunContext.from_dbt(dbt),
        sample_relation=dbt.ref("int_model_fit_sample"),
        preprocessing_relation=dbt.ref("segment_preprocessing"),
    )
