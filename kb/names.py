"""Name normalisation shared by validation (duplicate names) and lookup (matching what a learner typed)."""

from __future__ import annotations

import re

_SEP = re.compile(r"[-_/]+")
_DROP = re.compile(r"[^\w\s+#]")  # keep + and # so "C++" and "C#" survive
_SPACE = re.compile(r"\s+")


def normalize(text: str) -> str:
    """Lower-case, hyphens and slashes to spaces, punctuation dropped, spaces collapsed.

    >>> normalize("  Cross-Validation (k-fold)! ")
    'cross validation k fold'
    """
    text = _SEP.sub(" ", text.lower())
    text = _DROP.sub(" ", text)
    return _SPACE.sub(" ", text).strip()


def compact(text: str) -> str:
    """The normalised form without spaces, so "crossvalidation" meets "cross-validation".

    >>> compact("One-hot encoding")
    'onehotencoding'
    """
    return normalize(text).replace(" ", "")
