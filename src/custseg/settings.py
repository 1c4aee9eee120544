"""The pipeline settings as the Python side sees them.

dbt validates every var when it parses the project (macros/settings.sql) and writes the
result to the `segmentation_config` table; `Settings.from_json` reads that. The same
class, with its defaults, lets the package run without dbt (tests, notebooks).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Mapping


@dataclass(frozen=True)
class Settings:
    random_state: int = 42
    segment_mode: str = "refit"
    model_version: int | None = None
    refit_after_days: int = 30
    refit_after_change: float = 0.2
    outlier_method: str = "cap"
    primary_algorithm: str = "kmeans"
    k_min: int = 2
    k_max: int = 10
    kmeans_k: int | None = None
    hierarchical_k: int | None = None
    gmm_k: int | None = None
    som_grid: tuple[int, int] | None = None
    fit_sample_size: int = 50_000
    hierarchical_sample_size: int = 5_000
    density_sample_size: int = 10_000
    silhouette_sample_size: int = 5_000
    evaluation_sample_size: int = 10_000
    stability_resamples: int = 5
    assign_batch_rows: int = 250_000
    profile_median_sample_size: int = 50_000
    report_max_points: int = 5_000
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        from .algorithms import ALGORITHMS  # here: the algorithms import this module

        if self.primary_algorithm not in ALGORITHMS:
            raise ValueError(
                f"primary_algorithm must be one of {', '.join(ALGORITHMS)}; got {self.primary_algorithm!r}"
            )
        if not 2 <= self.k_min <= self.k_max:
            raise ValueError(f"need 2 <= k_min <= k_max; got k_min={self.k_min}, k_max={self.k_max}")
        if self.segment_mode not in ("refit", "score", "auto", "score_changes"):
            raise ValueError(f"segment_mode must be refit, score, auto or score_changes; got {self.segment_mode!r}")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> "Settings":
        known = {f.name for f in fields(cls)} - {"extra"}
        kwargs: dict[str, Any] = {}
        for key in known:
            if key in values and values[key] is not None:
                kwargs[key] = values[key]
            elif key in values and key in {"kmeans_k", "hierarchical_k", "gmm_k", "som_grid", "model_version"}:
                kwargs[key] = None
        if kwargs.get("som_grid") is not None:
            kwargs["som_grid"] = tuple(int(v) for v in kwargs["som_grid"])
        kwargs["extra"] = {k: v for k, v in values.items() if k not in known}
        return cls(**kwargs)

    @classmethod
    def from_json(cls, text: str) -> "Settings":
        return cls.from_mapping(json.loads(text))

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("extra")
        return out

    def fixed_k(self, algorithm: str) -> int | None:
        return {"kmeans": self.kmeans_k, "hierarchical": self.hierarchical_k, "gmm": self.gmm_k}.get(algorithm)
