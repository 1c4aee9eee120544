"""Scores every customer with every fitted model, streaming Arrow batches back to DuckDB."""


def model(dbt, session):
    dbt.config(materialized="table")
    from custseg.pipeline import score_customers

    return score_customers(
        config_relation=dbt.ref("segmentation_config"),
        features_relation=dbt.ref("customer_features"),
        preprocessing_relation=dbt.ref("segment_preprocessing"),
        models_relation=dbt.ref("int_segment_models"),
    )
