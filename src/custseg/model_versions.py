"""What a run does with the saved models: refit, or score with which saved version.

Every refit creates a model version: a number, recorded in segment_model_versions, on every
fitted artifact (cleaning parameters, preprocessing, the models, parameter rows, segment
names) and on every mart row. segment_mode decides, once per run (custseg.run_context):

    refit          fit a new version, starting from the last one (segments keep their ids);
    score          fit nothing: score with the last published version (or `model_version`);
    score_changes  as score, only for the customers whose input changed (the version of the
                   last full build that was published);
    auto           score, unless there is no saved version, a clustered column is gone, the
                   version is older than refit_after_days or the input's row count moved by
                   more than refit_after_change: then refit.

A version is usable when a published run made or used it, or it is this run's: a failed
refit's models are never scored with. The decision is a pure function of the database's
state (`ModelState`, read by the caller), so it is tested without a database.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

from .settings import Settings


class RunRefused(ValueError):
    """The run cannot start as asked; the message is one line for the user."""


@dataclass(frozen=True)
class SavedVersion:
    model_version: int
    created_at: str          # UTC, 'YYYY-MM-DD HH:MM:SS'
    input_rows: int
    features: tuple[str, ...]


@dataclass(frozen=True)
class ModelState:
    """What the working database says about saved models."""

    versions: tuple[SavedVersion, ...] = ()
    published: tuple[int, ...] = ()            # versions a published run made or used
    last_full_version: int | None = None       # the version of the last published full build

    @classmethod
    def from_rows(cls, versions: list, published: list, last_full: list) -> "ModelState":
        return cls(tuple(SavedVersion(int(v), str(c)[:19], int(n or 0), tuple(json.loads(f or "[]")))
                         for v, c, n, f in versions),
                   tuple(int(v) for (v,) in published if v is not None),
                   int(last_full[0][0]) if last_full and last_full[0][0] is not None else None)


@dataclass(frozen=True)
class ModelPlan:
    mode: str                     # refit | score | score_changes
    model_version: int
    usable: tuple[int, ...]       # versions artifacts may be read at
    message: str                  # the build log's line
    new_version: SavedVersion | None = None   # a refit's row of segment_model_versions
    why: str = "asked"


def decide(settings: Settings, state: ModelState, features: list[str], input_rows: int,
           now: dt.datetime, run_started: str, database: str) -> ModelPlan:
    requested, pin = settings.segment_mode, settings.model_version
    by_version = {v.model_version: v for v in state.versions}
    usable = [v for v in state.versions if v.model_version in state.published]
    if pin is not None:
        if pin not in by_version:
            raise RunRefused(f"model_version {pin} is not a saved model version (saved: "
                             f"{', '.join(str(v) for v in by_version) or 'none'}); see segment_model_versions.")
        if requested == "refit":
            raise RunRefused("model_version pins a saved model to score with; set segment_mode: score "
                             "(a refit always fits a new version).")
        usable = [by_version[pin]]
    saved = usable[-1] if usable else None
    if requested == "score_changes":
        full = state.last_full_version
        if pin is not None and full is not None and pin != full:
            raise RunRefused(f"segment_mode score_changes scores with model version {full}, the one the published "
                             f"segments come from; to score with version {pin}, run a full build with "
                             "segment_mode: score.")
        saved = by_version.get(full) if full is not None else None
    missing = [c for c in saved.features if c not in features] if saved else []

    mode, why = requested, "asked"
    if requested in ("score", "score_changes"):
        if saved is None:
            raise RunRefused(f"segment_mode is {requested}, but no model has been saved in {database} yet; "
                             "run a build with segment_mode: refit first.")
        if missing:
            raise RunRefused(f"segment_mode is {requested}, but the input no longer has the columns model version "
                             f"{saved.model_version} was fitted on: {', '.join(missing)}; run a build with "
                             "segment_mode: refit to fit a new version.")
    elif requested == "auto":
        if saved is None:
            mode, why = "refit", "no saved model"
        elif missing:
            mode, why = "refit", f"the input no longer has {', '.join(missing)}"
        else:
            age = (now - dt.datetime.fromisoformat(saved.created_at)).days
            change = abs(input_rows - saved.input_rows) / max(saved.input_rows, 1)
            if age > settings.refit_after_days:
                mode, why = "refit", f"model version {saved.model_version} is {age} days old"
            elif change > settings.refit_after_change:
                mode, why = "refit", f"the input changed by {100 * change:.0f}% of its rows"
            else:
                mode, why = "score", (f"model version {saved.model_version} is {age} days old and the input "
                                      f"changed by {100 * change:.1f}%")

    published = sorted(set(state.published))
    if mode == "refit":
        version = max(by_version, default=0) + 1
        row = SavedVersion(version, run_started, input_rows, tuple(features))
        message = (f"Model version {version}: a refit" + (f" ({why})" if requested == "auto" else "")
                   + (f", starting from version {saved.model_version}" if saved else "") + ".")
        return ModelPlan("refit", version, tuple(published + [version]), message, row, why)
    version = saved.model_version
    return ModelPlan(mode, version, tuple(sorted(set(published + [version]))),
                     f"Scoring with model version {version} ({why}); nothing is fitted.", None, why)


@dataclass(frozen=True)
class ParsePlan:
    """While dbt parses (or outside a build): the latest published version, else a first refit."""

    mode: str = "refit"
    model_version: int = 1
    usable: tuple[int, ...] = field(default=(1,))
