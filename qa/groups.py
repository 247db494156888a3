"""Rows grouped by the entry that owns them (an entry's phrasings), for per-entry sums and maxima."""

from __future__ import annotations

import numpy as np


class Owners:
    """Which entry owns each row, kept as runs so that a per-entry sum or maximum is one `reduceat`: a maximum takes
    ~7 µs over 8,800 phrasings, against ~35 µs for `np.maximum.at`, and every question takes three."""

    def __init__(self, owner: np.ndarray, n: int) -> None:
        owner = np.asarray(owner, dtype=np.int64)
        self.owner, self.n = owner, n
        self._order = np.argsort(owner, kind="stable")
        self._sorted = bool(np.all(self._order == np.arange(len(owner))))  # phrasings are stored entry by entry
        runs = owner[self._order]
        self._starts = np.flatnonzero(np.r_[True, runs[1:] != runs[:-1]]) if len(runs) else np.zeros(0, np.int64)
        self._who = runs[self._starts]

    def sum(self, rows: np.ndarray) -> np.ndarray:
        """Each entry's sum of its rows (one row per owned row in, one per entry out; zeros for an entry with none).

        >>> Owners(np.array([1, 1]), 3).sum(np.array([[1.0, 2.0], [3.0, 4.0]])).tolist()
        [[0.0, 0.0], [4.0, 6.0], [0.0, 0.0]]
        """
        out = np.zeros((self.n, rows.shape[1]), dtype=rows.dtype)
        if len(self._starts):
            ordered = rows if self._sorted else rows[self._order]
            out[self._who] = np.add.reduceat(ordered, self._starts, axis=0)
        return out

    def max(self, values: np.ndarray, floor: float) -> np.ndarray:
        """Each entry's largest value (float32), or `floor` when all of its values are below it or it owns no row.

        >>> Owners(np.array([0, 0, 2]), 4).max(np.array([0.5, 0.75, -0.25], dtype=np.float32), 0.0).tolist()
        [0.75, 0.0, 0.0, 0.0]
        """
        out = np.full(self.n, floor, dtype=np.float32)
        if len(self._starts):
            ordered = values if self._sorted else values[self._order]
            out[self._who] = np.maximum(out[self._who], np.maximum.reduceat(ordered, self._starts))
        return out
