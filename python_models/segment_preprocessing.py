"""Fits the preprocessing all algorithms share (transforms, scaling, PCA) on the fit sample."""


def model(dbt, session):
    dbt.config(materialized="table")
    from custseg.pipeline import fit_preprocessing

    return fit_preprocessing(
        config_relation=dbt.ref("segmentation_config"),
        sample_relation=dbt.ref("int_model_fit_sample"),
    )
