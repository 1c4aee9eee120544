"""Names and one-line descriptions of every segment, from its profile; kept segments keep their names."""


def model(dbt, session):
    dbt.config(materialized="table")
    from custseg.pipeline import name_segments
    from custseg.run_context import RunContext

    return name_segments(RunContext.from_dbt(dbt),
                         feature_stats_relation=dbt.ref("customer_segmentation", "int_segment_feature_stats"),
                         models_relation=dbt.ref("customer_segmentation", "int_segment_models"),
                         rules_relation=dbt.ref("customer_segmentation", "rfm_segments"))
