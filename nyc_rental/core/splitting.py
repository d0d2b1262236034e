"""Splitting a week into train / val / test.

By default a listing's split is a pure function of its id and the seed, so a listing keeps its split every
week and no model is ever scored on listings it was trained on in an earlier week. Because ids are
independent of borough, each split's borough shares match a stratified split to within sampling noise.
The course's per-week random stratified split stays available.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

SPLITS = ("train", "val", "test")
METHODS = ("hash", "random")


@dataclass(frozen=True)
class SplitParams:
    test_size: float = 0.2
    val_size: float = 0.2
    random_seed: int = 42
    stratify_by: str = "neighbourhood_group"
    method: str = field(
        default="hash", metadata={"description": "'hash' (stable per listing id) or 'random' (the course's)"}
    )

    def __post_init__(self):
        if not (0 < self.test_size < 1 and 0 < self.val_size < 1):
            raise ValueError(f"test_size and val_size must be within (0, 1), got {self.test_size}, {self.val_size}")
        if self.method not in METHODS:
            raise ValueError(f"unknown split method {self.method!r}: choose one of {', '.join(METHODS)}")


def id_fraction(ids: pd.Series, seed: int) -> np.ndarray:
    """A uniform number in [0, 1) for each id, fixed by the id and the seed alone."""
    salt = f"{seed}:".encode()
    digests = (hashlib.blake2b(salt + str(int(i)).encode(), digest_size=8).digest() for i in ids)
    return np.fromiter((int.from_bytes(d, "big") for d in digests), dtype=np.float64, count=len(ids)) / 2.0**64


def assign_splits(frame: pd.DataFrame, params: SplitParams = SplitParams()) -> pd.Series:
    """'train', 'val' or 'test' for each row: test_size of the rows to test, val_size of the rest to val."""
    if params.method == "hash":
        u = id_fraction(frame["id"], params.random_seed)
        val_edge = params.test_size + (1 - params.test_size) * params.val_size
        labels = np.where(u < params.test_size, "test", np.where(u < val_edge, "val", "train"))
        return pd.Series(labels, index=frame.index, name="split")
    from sklearn.model_selection import train_test_split  # only the course's random split needs scikit-learn

    strata = frame[params.stratify_by] if params.stratify_by else None
    rest, test = train_test_split(
        frame.index, test_size=params.test_size, stratify=strata, random_state=params.random_seed
    )
    rest_strata = frame.loc[rest, params.stratify_by] if params.stratify_by else None
    train, val = train_test_split(
        rest, test_size=params.val_size, stratify=rest_strata, random_state=params.random_seed
    )
    labels = pd.Series("train", index=frame.index, name="split")
    labels[val] = "val"
    labels[test] = "test"
    return labels


def shares_by_split(frame: pd.DataFrame, splits: pd.Series, column: str) -> pd.DataFrame:
    """Share of each value of `column` within each split (rows: values, columns: splits)."""
    table = pd.crosstab(frame[column], splits, normalize="columns")
    return table.reindex(columns=[s for s in SPLITS if s in table.columns])
