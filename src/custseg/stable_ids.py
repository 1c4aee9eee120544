"""Segment ids that stay put across refits.

A refit starts from the previous version (see algorithms.base.PreviousFit) and then its
segments are matched to the previous version's by membership overlap on the customers of the
fit sample: the pairs sharing the most customers, found by an optimal one-to-one assignment
(Hungarian algorithm) on the overlap counts, keep the previous id when they share at least
MIN_JACCARD of their customers (so a segment that split or merged does not pass for the old
one). A new segment gets a new id, above every id the algorithm ever used; an id whose segment
vanished is retired and never reused. Noise (0) stays 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .catalogue import NOISE_SEGMENT

#: Overlap (intersection over union of their customers) a new segment needs with an old one
#: to keep its id.
MIN_JACCARD = 0.3


@dataclass(frozen=True)
class IdMatch:
    mapping: dict[int, int]        # fitted id -> final id
    kept: dict[int, int]           # final id -> the same id in the previous version (matched ones)
    new: list[int]                 # final ids of segments that did not match
    retired: list[int]             # previous ids with no successor
    next_id: int                   # the next unused id


def match_ids(previous: np.ndarray, fitted: np.ndarray, next_id: int) -> IdMatch:
    """Map the fitted segment ids of some customers to final ids, given the previous version's
    segment ids of the same customers. `next_id` is the first id never used before."""
    previous = np.asarray(previous)
    fitted = np.asarray(fitted)
    old_ids = [int(i) for i in np.unique(previous) if i != NOISE_SEGMENT]
    new_ids = [int(i) for i in np.unique(fitted) if i != NOISE_SEGMENT]
    mapping: dict[int, int] = {NOISE_SEGMENT: NOISE_SEGMENT}
    kept: dict[int, int] = {}
    if old_ids and new_ids:
        inter = np.array([[np.sum((fitted == n) & (previous == o)) for o in old_ids] for n in new_ids], dtype=float)
        sizes_new = np.array([np.sum(fitted == n) for n in new_ids], dtype=float)
        sizes_old = np.array([np.sum(previous == o) for o in old_ids], dtype=float)
        jaccard = inter / (sizes_new[:, None] + sizes_old[None, :] - inter)
        from scipy.optimize import linear_sum_assignment

        rows, cols = linear_sum_assignment(-inter)
        for r, c in zip(rows, cols):
            if jaccard[r, c] >= MIN_JACCARD:
                mapping[new_ids[r]] = old_ids[c]
                kept[old_ids[c]] = old_ids[c]
    new = []
    for n in sorted(new_ids, key=lambda i: -np.sum(fitted == i)):
        if n not in mapping:
            mapping[n] = next_id
            new.append(next_id)
            next_id += 1
    retired = [o for o in old_ids if o not in kept]
    return IdMatch(mapping, kept, new, retired, next_id)
