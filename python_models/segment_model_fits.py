"""Fits every registered algorithm on the fit sample, one row per algorithm (a refit appends
a new model version; a score run nothing). When the table is first built, the rows of the
per-algorithm tables that held the models before (<algorithm>_model) are carried into it."""


def model(dbt, session):
    dbt.config(materialized="incremental", incremental_strategy="append", full_refresh=False)
    from custseg import frames
    from custseg.pipeline import fit_models, legacy_model_rows
    from custseg.run_context import RunContext

    return fit_models(
        RunContext.from_dbt(dbt),
        sample_relation=dbt.ref("customer_segmentation", "int_model_fit_sample"),
        preprocessing_relation=dbt.ref("customer_segmentation", "segment_preprocessing"),
        existing=frames.table(session, dbt.this) if dbt.is_incremental else None,
        carried=None if dbt.is_incremental else legacy_model_rows(session, dbt.this.schema),
    )
