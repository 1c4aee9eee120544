"""Every customer's coordinates in the first three principal components (the PCA views), streamed."""


def model(dbt, session):
    dbt.config(materialized="table")
    from custseg.pipeline import RunContext, customer_pca

    return customer_pca(
        RunContext.from_dbt(dbt),
        features_relation=dbt.ref("customer_features"),
        preprocessing_relation=dbt.ref("segment_preprocessing"),
    )
