"""Scores every customer with every fitted model (one row per customer and algorithm), streaming Arrow batches."""


def model(dbt, session):
    dbt.config(materialized="table")
    # the input checks pass before any customer is scored (score_changes runs them too)
    dbt.ref("customer_segmentation", "input_summary")
    from custseg.pipeline import score_customers
    from custseg.run_context import RunContext

    return score_customers(
        RunContext.from_dbt(dbt),
        features_relation=dbt.ref("customer_segmentation", "customer_features"),
        preprocessing_relation=dbt.ref("customer_segmentation", "segment_preprocessing"),
        models_relation=dbt.ref("customer_segmentation", "int_segment_models"),
    )
