"""Fits the preprocessing all algorithms share (caps, transforms, scaling, PCA) on the fit sample."""


def model(dbt, session):
    dbt.config(materialized="table")
    from custseg.pipeline import RunContext, fit_preprocessing

    return fit_preprocessing(
        RunContext.from_dbt(dbt),
        sample_relation=dbt.ref("int_model_fit_sample"),
        parameters_relation=dbt.ref("int_cleaning_parameters"),
    )
