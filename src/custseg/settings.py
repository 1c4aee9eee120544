"""Every setting of the pipeline, in one place: its name, default, check and meaning.

A setting is a dbt var (dbt_project.yml `vars:` lists the same names and defaults; a test
keeps the two equal). The vars of an invocation are validated once, when the run starts
(custseg.run_context.start), against the fields below: a bad value stops the run before
anything is built, with one line naming the var, the value and what is allowed. The
validated settings are stored in `segmentation_config` and reach every model through the
run context. Values are data: paths are checked to be paths, column names are quoted
wherever they reach SQL, and nothing is ever rendered as a template.

    Settings.validate({"k_max": 8})      # the defaults, with k_max 8, checked
    Settings(k_min=2, k_max=5)           # the same checks, for tests and notebooks
"""

from __future__ import annotations

import json
import re
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any, Callable, Mapping


class SettingError(ValueError):
    """A var with a value the pipeline cannot use; the message is one line for the user."""


def _shown(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False)


def invalid(name: str, value: Any, expected: str) -> SettingError:
    return SettingError(f"Invalid var '{name}': got {_shown(value)}; expected {expected}. "
                        f"Set it in dbt_project.yml or with --vars '{{{name}: ...}}'.")


# --------------------------------------------------------------------------- checks
# A check takes (name, value) and returns the value to use, or raises SettingError.
Check = Callable[[str, Any], Any]

_CONTROL = re.compile(r"[\x00-\x1f]")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_name(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != "" and len(value) <= 200 and not _CONTROL.search(value)


def integer(low: int, high: int | None = None, nullable: bool = False) -> Check:
    def check(name: str, value: Any) -> int | None:
        if value is None and nullable:
            return None
        if not _is_number(value) or value != int(value):
            raise invalid(name, value, "an integer" + (" or null" if nullable else ""))
        if value < low or (high is not None and value > high):
            raise invalid(name, value, f"an integer from {low}" + (f" to {high}" if high is not None else " up"))
        return int(value)
    return check


def number(low: float, high: float, expected: str) -> Check:
    """A number strictly between `low` and `high`."""
    def check(name: str, value: Any) -> float:
        if not _is_number(value) or not low < value < high:
            raise invalid(name, value, expected)
        return value
    return check


def choice(*values: str, dynamic: Callable[[], tuple[str, ...]] | None = None) -> Check:
    def check(name: str, value: Any) -> str:
        allowed = dynamic() if dynamic else values
        if value not in allowed:
            raise invalid(name, value, "one of " + ", ".join(allowed))
        return value
    return check


def path(name: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or _CONTROL.search(value):
        raise invalid(name, value, "a path to a CSV or Parquet file (or a glob), or null")
    if any(mark in value for mark in ("{{", "{%", "{#")):
        raise invalid(name, value, "a file path (text, not a template: settings are data)")
    return value


def column_name(expected: str) -> Check:
    def check(name: str, value: Any) -> str | None:
        if value is not None and not _is_name(value):
            raise invalid(name, value, expected)
        return value
    return check


def column_names(nullable: bool = False) -> Check:
    def check(name: str, value: Any) -> list[str] | None:
        if value is None:
            return None if nullable else []
        if isinstance(value, (str, Mapping)) or not isinstance(value, (list, tuple)):
            raise invalid(name, value, "a list of column names, e.g. [card_type, income_band]"
                          + (", or null to infer" if nullable else ""))
        seen: set[str] = set()
        for c in value:
            if not _is_name(c):
                raise invalid(name, value, f"column names as text; {_shown(c)} is not one")
            if c.lower() in seen:
                raise invalid(name, value, f"each column once; '{c}' is listed twice")
            seen.add(c.lower())
        return list(value)
    return check


def column_map(name: str, value: Any) -> dict:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise invalid(name, value, "a mapping {your_column: new_name}")
    if not all(_is_name(k) and _is_name(v) for k, v in value.items()):
        raise invalid(name, value, "column names as text on both sides")
    return dict(value)


def feature_columns(name: str, value: Any) -> list | dict | None:
    if isinstance(value, Mapping):
        from .catalogue import kinds

        known = list(kinds())
        for c, kind in value.items():
            if not _is_name(c) or (kind is not None and kind not in known):
                raise invalid(name, value, f"a map {{column: kind}} with kinds among {', '.join(known)} "
                                           "(or null to infer the kind)")
        return dict(value)
    names = column_names(nullable=True)(name, value)
    if names is not None and len(names) < 2:
        raise invalid(name, names, "at least two columns (or null to infer them)")
    return names


def mapping(expected: str) -> Check:
    def check(name: str, value: Any) -> dict | None:
        if value is not None and not isinstance(value, Mapping):
            raise invalid(name, value, expected)
        return None if value is None else dict(value)
    return check


def date(name: str, value: Any) -> str | None:
    if value is None:
        return None
    text = str(value)
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        raise invalid(name, text, "a date YYYY-MM-DD, or null for the latest date in the data")
    return text


def grid(name: str, value: Any) -> tuple[int, int] | None:
    if value is None:
        return None
    expected = "[rows, cols] with 2 to 50 nodes each, or null"
    if isinstance(value, (str, Mapping)) or not isinstance(value, (list, tuple)) or len(value) != 2:
        raise invalid(name, value, expected)
    if not all(_is_number(v) and v == int(v) and 2 <= v <= 50 for v in value):
        raise invalid(name, value, expected)
    return int(value[0]), int(value[1])


#: The kinds of relation an input var can name, and the shape of each value (README: "From a table").
RELATION_KINDS = {"model": "name", "source": "[source_name, table_name]", "table": "[database.][schema.]table",
                  "postgres": "schema.table"}
#: A dbt node name: what `ref()` takes.
_NODE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_\-]{0,199}")
_RELATION_EXAMPLES = {"model": "{model: dim_customers}", "source": "{source: [crm, customers]}",
                      "table": "{table: main.customers}", "postgres": "{postgres: public.customers}"}


def relation(name: str, value: Any) -> dict | None:
    """{kind: target}: a table or view to read instead of a file: a model or seed of the dbt
    project that runs the build (read with ref()), a declared dbt source (source()), a table of
    the target database or a database attached to it, or a PostgreSQL table. Data, never a
    template: dbt reads it as it is given (macros/run_context.sql raw_var)."""
    if value is None:
        return None
    shapes = " or ".join(f"{{{k}: {v}}}" for k, v in RELATION_KINDS.items())
    if not isinstance(value, Mapping) or len(value) != 1 or next(iter(value)) not in RELATION_KINDS:
        raise invalid(name, value, f"a mapping with one key: {shapes}, or null")
    kind, target = next(iter(value.items()))
    expected = f"{{{kind}: {RELATION_KINDS[kind]}}}, e.g. {_RELATION_EXAMPLES[kind]}"
    if kind == "source":
        if isinstance(target, str) or not isinstance(target, (list, tuple)) or len(target) != 2 \
                or not all(_is_name(t) for t in target):
            raise invalid(name, value, expected)
        return {kind: [str(t) for t in target]}
    parts = str(target).split(".") if isinstance(target, str) else []
    if kind == "model" and not (isinstance(target, str) and _NODE_NAME.fullmatch(target)):
        raise invalid(name, value, expected)
    if kind in ("table", "postgres") and (not _is_name(target) or not all(p.strip() for p in parts)
                                          or not (len(parts) == 2 if kind == "postgres" else len(parts) <= 3)):
        raise invalid(name, value, expected)
    return {kind: target}


def flag(name: str, value: Any) -> bool:
    if value is not True and value is not False:
        raise invalid(name, value, "true or false")
    return value


def postgres_schema(name: str, value: Any) -> str:
    if (not _is_name(value) or len(value) > 40 or "__staging_" in value
            or value.lower() in ("public", "information_schema") or value.lower().startswith("pg_")):
        raise invalid(name, value, "a schema name of at most 40 characters that the publish owns (it replaces the "
                                   "schema whole, so not public or a system schema), e.g. segments")
    return value


def schema_name(name: str, value: Any) -> str:
    if not _is_name(value) or value != value.strip():
        raise invalid(name, value, "a schema name, e.g. segments")
    return value


#: DuckDB storage versions the serving database can be written in (README: "For BI tools").
SERVING_STORAGE_VERSIONS = ("v1.0.0", "v1.2.0", "v1.4.0", "v1.5.0", "v2.0.0")


def _algorithms() -> tuple[str, ...]:
    from .algorithms import ALGORITHMS   # here: the algorithms import this module

    return ALGORITHMS


def setting(default: Any, check: Check, doc: str, group: str) -> Any:
    """A field of Settings: its default, its check, one line on what it does, and its group."""
    kwargs = {"default_factory": (lambda: type(default)())} if isinstance(default, (list, dict)) \
        else {"default": default}
    return field(metadata={"check": check, "doc": doc, "group": group}, **kwargs)


# --------------------------------------------------------------------------- the schema
@dataclass(frozen=True)
class Settings:
    # --- input (README: "Bring your own customers")
    customers_path: str | None = setting(None, path, "CSV, Parquet or JSON file (or glob); null = the embedded sample",
                                         "input")
    transactions_path: str | None = setting(
        None, path, "an order/transaction log instead (a file or glob; 'sample' = the embedded one)",
                                            "input")
    customers_relation: dict | None = setting(
        None, relation, "instead of customers_path: {model: x}, {source: [s, t]}, {table: s.t} or {postgres: s.t}",
                                              "input")
    transactions_relation: dict | None = setting(
        None, relation, "instead of transactions_path: a relation, as customers_relation",
                                                 "input")
    column_map: dict = setting({}, column_map, "renames: {your_column: new_name}, e.g. {acct_id: CUST_ID}", "input")
    id_column: str | None = setting(None, column_name("a column name, or null to use CUST_ID or infer the id"),
                                    "the customer id; null = CUST_ID if present, else inferred", "input")
    feature_columns: list | dict | None = setting(None, feature_columns,
                                                  "null = infer; a list of columns; or a map {column: kind}", "input")
    categorical_columns: list | None = setting(None, column_names(nullable=True),
                                               "null = infer (text with few distinct values); or a list", "input")
    ignore_columns: list = setting([], column_names(), "carried into customer_features untouched, never clustered",
                                   "input")
    input_options: dict | None = setting(
        None, mapping("a mapping such as {header: false, delimiter: whitespace, column_names: [...]}"),
        "for files sniffing cannot read: {header, delimiter, column_names, encoding}", "input")
    as_of: str | None = setting(None, date, "reference date (YYYY-MM-DD); null = the latest date in the data", "input")
    # --- cleaning
    outlier_method: str = setting("cap", choice("cap", "reject", "none"), "cap | reject | none", "cleaning")
    outlier_upper_quantile: float = setting(0.995, number(0.5, 1, "a number strictly between 0.5 and 1, e.g. 0.995"),
                                            "amounts, counts, ratios and durations above this quantile are capped",
                                            "cleaning")
    max_rejected_share: float = setting(0.10, number(0, 1.000001, "a share above 0 and at most 1, e.g. 0.10"),
                                        "above this share of rejected input rows the build fails", "cleaning")
    warn_rejected_share: float = setting(0.01, number(-0.000001, 1.000001, "a share from 0 to 1, e.g. 0.01"),
                                         "above this share it warns", "cleaning")
    # --- modelling
    random_state: int = setting(42, integer(0, 4294967295), "the seed of every sample and fit", "modelling")
    segment_mode: str = setting("refit", choice("refit", "score", "auto", "score_changes"),
                                "refit | score | auto | score_changes (README: \"Running it every day\")", "modelling")
    model_version: int | None = setting(None, integer(1, nullable=True),
                                        "score with this saved model version; null = the latest", "modelling")
    refit_after_days: int = setting(30, integer(0, 36500), "segment_mode auto: refit when the model is older than this",
                                    "modelling")
    refit_after_change: float = setting(0.2, number(0, 1000, "a share above 0, e.g. 0.2"),
                                        "... or when the input's row count changed by more than this share",
                                        "modelling")
    primary_algorithm: str = setting("kmeans", choice(dynamic=_algorithms),
                                     "kmeans | hierarchical | som | density | gmm", "modelling")
    k_min: int = setting(2, integer(2, 50), "the smallest k scanned", "modelling")
    k_max: int = setting(10, integer(2, 50), "the largest k scanned", "modelling")
    kmeans_k: int | None = setting(None, integer(2, 50, nullable=True),
                                   "null = chosen automatically (docs/methodology.md)", "modelling")
    hierarchical_k: int | None = setting(None, integer(2, 50, nullable=True), "null = chosen automatically",
                                         "modelling")
    gmm_k: int | None = setting(None, integer(2, 50, nullable=True), "null = chosen automatically", "modelling")
    som_grid: tuple[int, int] | None = setting(None, grid, "[rows, cols]; null = sized from the data", "modelling")
    fit_sample_size: int = setting(50_000, integer(100), "customers the models are fitted on", "modelling")
    hierarchical_sample_size: int = setting(5_000, integer(100, 20000), "customers the Ward tree is built on",
                                            "modelling")
    density_sample_size: int = setting(10_000, integer(100, 200000), "customers DBSCAN is fitted on", "modelling")
    silhouette_sample_size: int = setting(5_000, integer(100, 50000), "customers silhouettes are measured on",
                                          "modelling")
    evaluation_sample_size: int = setting(10_000, integer(100, 200000),
                                          "customers for k scans of the mixture, quality and stability", "modelling")
    stability_resamples: int = setting(5, integer(0, 100), "refits on resamples behind stability_ari", "modelling")
    assign_batch_rows: int = setting(250_000, integer(1000), "customers scored per Arrow batch", "modelling")
    profile_median_sample_size: int = setting(50_000, integer(1000),
                                              "medians of bigger segments come from a sample this size", "modelling")
    # --- report
    report_max_points: int = setting(5_000, integer(100, 200000), "points drawn in scatter plots (counts use everyone)",
                                     "report")
    # --- serving and publishing (README: "For BI tools")
    serving_storage_version: str = setting("v1.0.0", choice(*SERVING_STORAGE_VERSIONS),
                                           "the serving database's file format (v1.0.0: DuckDB 0.10.3 on read it)",
                                           "serving")
    serving_format: str = setting("duckdb", choice("duckdb", "parquet"),
                                  "duckdb | parquet (the DuckDB file and a folder of Parquet files beside it)",
                                  "serving")
    publish_postgres: bool = setting(False, flag, "also publish the marts into PostgreSQL ($CUSTSEG_POSTGRES_URL)",
                                     "serving")
    postgres_schema: str = setting("segments", postgres_schema,
                                   "... into this schema, which every publish replaces whole",
                                   "serving")
    # --- as a dbt package (README: "Use it in your dbt project")
    package_schema: str = setting("segments", schema_name,
                                  "installed in another dbt project: the schema of all its tables (standalone: the "
                                  "target's)", "package")

    def __post_init__(self) -> None:
        for f in fields(self):
            object.__setattr__(self, f.name, f.metadata["check"](f.name, getattr(self, f.name)))
        for role in ("customers", "transactions"):
            if getattr(self, f"{role}_path") is not None and getattr(self, f"{role}_relation") is not None:
                raise SettingError(f"Set {role}_path or {role}_relation, not both: the {role} are read from one place.")
        customers = "customers_path" if self.customers_path is not None else \
            "customers_relation" if self.customers_relation is not None else None
        transactions = "transactions_path" if self.transactions_path is not None else \
            "transactions_relation" if self.transactions_relation is not None else None
        if customers and transactions:
            raise SettingError(f"Set {customers} or {transactions}, not both: one input is segmented per build.")
        for rel in (self.customers_relation, self.transactions_relation):
            if self.publish_postgres and rel and "postgres" in rel \
                    and rel["postgres"].split(".")[0].strip() == self.postgres_schema:
                raise invalid("postgres_schema", self.postgres_schema,
                              f"another schema than the input's ({rel['postgres']}): the publish replaces that "
                              "schema whole")
        if self.warn_rejected_share > self.max_rejected_share:
            raise invalid("warn_rejected_share", self.warn_rejected_share,
                          f"at most max_rejected_share ({self.max_rejected_share})")
        if self.k_max < self.k_min:
            raise invalid("k_max", self.k_max, f"at least k_min ({self.k_min})")

    # -- reading -------------------------------------------------------------------
    @classmethod
    def validate(cls, values: Mapping[str, Any]) -> "Settings":
        """The settings from vars (missing ones take their defaults). Raises SettingError, one
        line, for an unknown var or a bad value."""
        unknown_var(values)
        return cls(**{f.name: values[f.name] for f in fields(cls) if f.name in values})

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> "Settings":
        """Validated settings as stored (segmentation_config, the run context): keys this
        version does not know are left out."""
        names = {f.name for f in fields(cls)}
        return cls.validate({k: v for k, v in values.items() if k in names})

    @classmethod
    def from_json(cls, text: str) -> "Settings":
        return cls.from_mapping(json.loads(text))

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["som_grid"] = list(self.som_grid) if self.som_grid else None
        return out

    def fixed_k(self, algorithm: str) -> int | None:
        return {"kmeans": self.kmeans_k, "hierarchical": self.hierarchical_k, "gmm": self.gmm_k}.get(algorithm)


def _default(f) -> Any:
    return f.default_factory() if f.default is MISSING else f.default


def names() -> list[str]:
    """Every var, in the order of dbt_project.yml."""
    return [f.name for f in fields(Settings)]


def defaults() -> dict[str, Any]:
    """Each var's default, as dbt_project.yml states it."""
    return {f.name: _default(f) for f in fields(Settings)}


RENAMED = {"model_features": "The var 'model_features' was renamed 'feature_columns' (a list of input columns, or a "
                             "map {column: kind}); see README, 'Bring your own customers'."}


def unknown_var(values: Mapping[str, Any]) -> None:
    """Refuse a var this project does not know (a typo would otherwise be silently ignored)."""
    known = names()
    for key in values:
        if key in RENAMED:
            raise SettingError(RENAMED[key])
        if key not in known:
            close = [k for k in known if k[:4] == str(key)[:4]]
            raise SettingError(f"Unknown var '{key}'" + (f" (did you mean {' or '.join(close)}?)" if close else "")
                               + "; the vars are listed in dbt_project.yml.")


# --------------------------------------------------------------------------- generated files
JINJA_DEFAULTS = "macros/setting_defaults.sql"
DBT_PROJECT = "dbt_project.yml"
GROUPS = {"input": 'input (README: "Bring your own customers")', "cleaning": "cleaning", "modelling": "modelling",
          "report": "report", "serving": 'serving and publishing (README: "For BI tools")',
          "package": 'as a dbt package (README: "Use it in your dbt project")'}


def _yaml_value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def dbt_project_vars() -> str:
    """The `vars:` block of dbt_project.yml: every var with its default and what it means."""
    lines, group = ["vars:"], None
    for f in fields(Settings):
        if f.metadata["group"] != group:
            group = f.metadata["group"]
            title = f"  # --- {GROUPS[group]} "
            lines.append(title + "-" * max(3, 92 - len(title)))
        item = f"  {f.name}: {_yaml_value(_default(f))}"
        lines.append(f"{item:<32}# {f.metadata['doc']}" if len(item) < 32 else f"{item} # {f.metadata['doc']}")
    return "\n".join(lines) + "\n"


def _replace_vars_block(text: str) -> str:
    start = text.index("\nvars:\n") + 1
    end = text.index("\n\n", start) + 1
    return text[:start] + dbt_project_vars() + text[end:]


def jinja_defaults() -> str:
    """macros/setting_defaults.sql, generated from the schema above (`python -m custseg.settings`;
    a test fails when it is out of date): what the macros know while dbt parses, when nothing
    runs and the run context does not exist yet."""
    values = json.dumps(defaults(), sort_keys=False)
    assert "'" not in values and "\\" not in values, "a default that needs escaping in a Jinja literal"
    return ("{#- Generated from src/custseg/settings.py by `python -m custseg.settings`: do not edit.\n"
            "    Each var's default, for the macros while dbt parses the project (macros/run_context.sql);\n"
            "    a run validates the vars it is given in custseg.settings. -#}\n"
            "{% macro setting_defaults() %}\n"
            f"  {{{{ return(fromjson('{values}')) }}}}\n"
            "{% endmacro %}\n")


if __name__ == "__main__":
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    (root / JINJA_DEFAULTS).write_text(jinja_defaults(), encoding="utf-8")
    project = root / DBT_PROJECT
    project.write_text(_replace_vars_block(project.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"wrote {JINJA_DEFAULTS} and the vars of {DBT_PROJECT}", file=sys.stderr)
