"""Names and one-line descriptions of every segment, derived from its profile."""


def model(dbt, session):
    dbt.config(materialized="table")
    from custseg.pipeline import RunContext, name_segments

    return name_segments(RunContext.from_dbt(dbt), feature_stats_relation=dbt.ref("int_segment_feature_stats"))
