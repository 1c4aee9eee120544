"""The rule-based RFM segments described like a fitted model (quality on the evaluation
sample), so segment_metrics compares them with the learned segmentations. Empty for a
customer table."""


def model(dbt, session):
    dbt.config(materialized="table")
    from custseg.pipeline import rfm_record
    from custseg.run_context import RunContext

    return rfm_record(RunContext.from_dbt(dbt),
                      sample_relation=dbt.ref("customer_segmentation", "int_model_fit_sample"),
                      preprocessing_relation=dbt.ref("customer_segmentation", "segment_preprocessing"),
                      segments_relation=dbt.ref("customer_segmentation", "int_rfm_segments"),
                      rules_relation=dbt.ref("customer_segmentation", "rfm_segments"))
