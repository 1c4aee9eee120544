"""Customer segmentation on dbt + DuckDB: the modelling package."""

__version__ = "0.1.0"
