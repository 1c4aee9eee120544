"""Each customer's silhouette in its primary-algorithm segment, on the silhouette sample
(the report's silhouette plot)."""


def model(dbt, session):
    dbt.config(materialized="table")
    from custseg.pipeline import silhouette_values
    from custseg.run_context import RunContext

    return silhouette_values(
        RunContext.from_dbt(dbt),
        sample_relation=dbt.ref("customer_segmentation", "int_model_fit_sample"),
        preprocessing_relation=dbt.ref("customer_segmentation", "segment_preprocessing"),
        models_relation=dbt.ref("customer_segmentation", "int_segment_models"),
        scores_relation=dbt.ref("customer_segmentation", "int_customer_scores"),
    )
