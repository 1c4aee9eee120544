"""Names and one-line descriptions of every segment, derived from its profile."""


def model(dbt, session):
    dbt.config(materialized="table")
    from custseg.pipeline import name_segments

    return name_segments(profile_stats_relation=dbt.ref("int_segment_profile_stats"))
