"""Name normalisation shared by validation (duplicate names) and lookup (matching what a learner typed)."""

from __future__ import annotations

import re
from functools import lru_cache

_SEP = re.compile(r"[-_/]+")
_DROP = re.compile(r"[^\w\s+#]")  # keep + and # so "C++" and "C#" survive
_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"(?:[^\W_]|[+#])+")  # what `normalize` keeps as one word


@lru_cache(maxsize=1 << 15)  # a kb's load normalizes each phrasing three times; a question's names are looked up again
def normalize(text: str) -> str:
    """Lower-case, hyphens and slashes to spaces, punctuation dropped, spaces collapsed.

    >>> normalize("  Cross-Validation (k-fold)! ")
    'cross validation k fold'
    """
    text = _SEP.sub(" ", text.lower())
    text = _DROP.sub(" ", text)
    return _SPACE.sub(" ", text).strip()


def word_spans(text: str) -> list[tuple[int, int]] | None:
    """The character spans in `text` of the words of `normalize(text)`, or None where they do not line up (a letter
    whose lower case is longer).

    >>> word_spans("Cross-Validation, k-fold?")
    [(0, 5), (6, 16), (18, 19), (20, 24)]
    """
    if len(text.lower()) != len(text):
        return None
    spans = [m.span() for m in _WORD.finditer(text.lower())]
    return spans if len(spans) == len(normalize(text).split()) else None


def compact(text: str) -> str:
    """The normalised form without spaces, so "crossvalidation" meets "cross-validation".

    >>> compact("One-hot encoding")
    'onehotencoding'
    """
    return normalize(text).replace(" ", "")
