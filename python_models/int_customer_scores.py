"""Scores every customer with every fitted model (one row per customer and algorithm), streaming Arrow batches."""


def model(dbt, session):
    dbt.config(materialized="table")
    dbt.ref("input_summary")  # the input checks pass before any customer is scored (score_changes runs them too)
    from custseg.pipeline import score_customers
    from custseg.run_context import RunContext

    return score_customers(
        RunContext.from_dbt(dbt),
        features_relation=dbt.ref("customer_features"),
        preprocessing_relation=dbt.ref("segment_preprocessing"),
        models_relation=dbt.ref("int_segment_models"),
    )
