"""What the ranker knows about a (question, entry) pair: each view's cosine, BM25, whether and how the question names
the entry's concept, and the entry's kind against cues in the question. One code path for training and serving.

`signals()` gathers the raw per-entry scores for one question; `matrix()` turns them into the feature rows the
ranker reads (one row per kb entry, columns in `FEATURES` order).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from kb import Mention, Topic

BM25_HALF = 6.0  # squashes BM25 to 0..1 as s / (s + BM25_HALF): the score that counts as half a full match

# Cues in the question that say which kind of entry answers it.
_CAREER = re.compile(
    r"\b(jobs?|careers?|hired?|hiring|interviews?|degree|phd|masters?|portfolio|resume|cv|junior|senior|roles?|"
    r"switch(ing)?|transition|bootcamp|employers?|recruiters?|get into|break into|self[- ]taught|years?|months?)\b",
    re.IGNORECASE,
)
_DEFINITION = re.compile(r"^\W*(what('?s| is| are| does)|whats|define|definition|explain|meaning of|eli5)\b", re.I)
_LEARNING = re.compile(
    r"\b(learn|study|course|courses|books?|resources?|how long|start|begin|beginner|roadmap|curriculum|practice)\b",
    re.IGNORECASE,
)

# Columns of the feature matrix, in order. Cosines per view ("passage", "names", "asks") come raw and as the gap to
# the best entry for the same question (a question-relative scale the ranker needs); likewise BM25.
DENSE_FEATURES: tuple[str, ...] = (
    "cos_passage",
    "cos_names",
    "cos_asks",
    "gap_passage",
    "gap_names",
    "gap_asks",
    "vote_asks",
    "rest_gap_passage",
    "rest_gap_asks",
    "rest_vote",
    # The centroid of an entry's phrasings, as the gap to the best entry: steadier than the best single phrasing
    # (grouped CV on 5,752 asks: Hit@1 0.895 -> 0.896; tuning sets +2 questions clean, +5 with a quarter of their
    # words misspelt).
    "gap_centroid",
    "cos_centroid",
    # The phrasing classifier's probability (`qa.ranker.Phrasings`) and its log as the gap to the best entry
    # (grouped CV, 6,595 asks: Hit@1 0.908 -> 0.915; 517 labelled questions 0.984 -> 0.990).
    "clf_p",
    "clf_gap",
)
# The 4-gram cosines come as the gap to the best entry only: a misspelt word keeps most of its 4-grams, so they rank
# where BM25's whole words miss (grouped CV, 5,752 asks: asks Hit@1 0.891 -> 0.895; tuning sets with a quarter of
# their words misspelt: +4 of 473 questions, clean: +1).
# The word classifier's probability and its log as the gap to the best entry (`qa.words`; grouped CV, 8,347 asks:
# Hit@1 0.928 -> 0.933). Only hybrid reads it: the bm25 retriever stays the plain sparse one (BM25 and 4-grams) that
# earlier sessions measured, so its figures still say what the words alone give without a model learned on them.
WORD_FEATURES: tuple[str, ...] = ("words_p", "words_gap")
LEXICAL_FEATURES: tuple[str, ...] = (
    "bm25", "gap_bm25", "bm25_asks", "gap_bm25_asks", "gap_grams", "gap_grams_asks", "grams_asks",
    "rest_gap_bm25_asks", *WORD_FEATURES,
)
# How the question names the entry's concept, and the entry's kind against cues in the question's wording.
_SHARED: tuple[str, ...] = (
    "named_self",
    "named_coverage",
    "named_about",
    "named_other",
    "is_faq",
    "is_misconception",
    "belief_x_misconception",
    "belief_x_concept",
    "career_x_faq",
    "career_x_concept",
    "definition_x_concept",
    "learning_x_faq",
    "words_x_faq",
    "words_x_misconception",
    "named_self_x_definition",
)
FEATURES: tuple[str, ...] = DENSE_FEATURES + LEXICAL_FEATURES + _SHARED
# What each retriever may read: hybrid all; dense and bm25 only their own scores and the question's shape.
MODE_FEATURES: dict[str, tuple[str, ...]] = {
    "hybrid": FEATURES,
    "dense": tuple(f for f in FEATURES if f not in LEXICAL_FEATURES),
    "bm25": tuple(f for f in LEXICAL_FEATURES if f not in WORD_FEATURES) + _SHARED,
}


@dataclass(frozen=True)
class Cues:
    """What the question's wording says about the kind of answer it wants."""

    belief: bool
    career: bool
    definition: bool
    learning: bool
    words: int

    @classmethod
    def of(cls, question: str, belief: bool) -> Cues:
        return cls(
            belief=belief,
            career=bool(_CAREER.search(question)),
            definition=bool(_DEFINITION.search(question)),
            learning=bool(_LEARNING.search(question)),
            words=len(question.split()),
        )


@dataclass(frozen=True)
class Signals:
    """Raw scores of every kb entry (kb order) for one question."""

    passage: np.ndarray
    names: np.ndarray
    asks: np.ndarray
    vote: np.ndarray  # the nearest phrasings' vote, sums to 1
    bm25: np.ndarray  # raw BM25
    mentions: tuple[Mention, ...]
    cues: Cues
    question_words: int
    vector: np.ndarray | None = None  # the question's embedding, when it was computed here
    # The passage cosine, best phrasing and vote for the question without the names it mentions (the same as above
    # when it names none).
    rest_passage: np.ndarray | None = None
    rest_asks: np.ndarray | None = None
    rest_vote: np.ndarray | None = None
    known_words: float = 0.0  # the share of the question's content words found in the kb (BM25's vocabulary)
    bm25_asks: np.ndarray | None = None  # raw BM25 of each entry's best phrasing
    rest_bm25_asks: np.ndarray | None = None  # ...for the question without the names it mentions
    grams: np.ndarray | None = None  # character 4-gram cosine of the passage (`qa.lexical.CharGrams`)
    grams_asks: np.ndarray | None = None  # ...and of each entry's best phrasing
    centroid: np.ndarray | None = None  # cosine to the mean direction of each entry's phrasings
    clf: np.ndarray | None = None  # the phrasing classifier's log-probability of each entry
    words: np.ndarray | None = None  # the word classifier's log-probability of each entry (`qa.words`)


class Layout:
    """The kb facts the features need, computed once per kb: kinds, and which concepts each entry is about."""

    def __init__(self, entries: Sequence[Topic], specificity: dict[str, float]) -> None:
        self.ids = [t.id for t in entries]
        self.pos = {t.id: i for i, t in enumerate(entries)}
        self.is_faq = np.array([t.kind == "faq" for t in entries], dtype=np.float32)
        self.is_misc = np.array([t.kind == "misconception" for t in entries], dtype=np.float32)
        self.is_concept = 1.0 - self.is_faq - self.is_misc
        self.about: dict[str, list[int]] = {}
        for i, t in enumerate(entries):
            for c in t.about:
                self.about.setdefault(c, []).append(i)
        self.specificity = specificity


def matrix(s: Signals, layout: Layout) -> np.ndarray:
    """The feature rows for every entry: shape (entries, len(FEATURES))."""
    n = len(layout.ids)
    named_self = np.zeros(n, dtype=np.float32)
    coverage = np.zeros(n, dtype=np.float32)
    named_about = np.zeros(n, dtype=np.float32)
    for m in s.mentions:
        i = layout.pos.get(m.id)
        if i is None:
            continue
        w = layout.specificity.get(m.id, 0.0) * m.score / 100.0
        named_self[i] = max(named_self[i], w)
        coverage[i] = max(coverage[i], (m.end - m.start) / max(1, s.question_words))
        for j in layout.about.get(m.id, ()):
            named_about[j] = max(named_about[j], w)
    any_named = float(bool(s.mentions))
    named_other = any_named * (named_self == 0) * (named_about == 0)
    bm25 = s.bm25 / (s.bm25 + BM25_HALF)
    raw_asks = s.bm25_asks if s.bm25_asks is not None else np.zeros_like(s.bm25)
    bm25_asks = raw_asks / (raw_asks + BM25_HALF)
    raw_rest = s.rest_bm25_asks if s.rest_bm25_asks is not None else raw_asks
    rest_bm25_asks = raw_rest / (raw_rest + BM25_HALF)
    c = s.cues
    words = math.log1p(c.words)
    cols = {
        "cos_passage": s.passage,
        "cos_names": s.names,
        "cos_asks": s.asks,
        "gap_passage": s.passage - s.passage.max(),
        "gap_names": s.names - s.names.max(),
        "gap_asks": s.asks - s.asks.max(),
        "vote_asks": s.vote,
        "gap_centroid": _gap(s.centroid, n),
        "cos_centroid": s.centroid if s.centroid is not None else np.zeros(n, dtype=np.float32),
        "clf_p": np.exp(s.clf) if s.clf is not None else np.zeros(n, dtype=np.float32),
        "clf_gap": _gap(s.clf, n),
        "rest_gap_passage": _gap(s.rest_passage, n),
        "rest_gap_asks": _gap(s.rest_asks, n),
        "rest_vote": s.rest_vote if s.rest_vote is not None else s.vote,
        "bm25": bm25,
        "gap_bm25": bm25 - bm25.max(),
        "bm25_asks": bm25_asks,
        "gap_bm25_asks": bm25_asks - bm25_asks.max(),
        "rest_gap_bm25_asks": rest_bm25_asks - rest_bm25_asks.max(),
        "words_p": np.exp(s.words) if s.words is not None else np.zeros(n, dtype=np.float32),
        "words_gap": _gap(s.words, n),
        "gap_grams": _gap(s.grams, n),
        "gap_grams_asks": _gap(s.grams_asks, n),
        "grams_asks": s.grams_asks if s.grams_asks is not None else np.zeros(n, dtype=np.float32),
        "named_self": named_self,
        "named_coverage": coverage,
        "named_about": named_about,
        "named_other": named_other,
        "is_faq": layout.is_faq,
        "is_misconception": layout.is_misc,
        "belief_x_misconception": c.belief * layout.is_misc,
        "belief_x_concept": c.belief * layout.is_concept,
        "career_x_faq": c.career * layout.is_faq,
        "career_x_concept": c.career * layout.is_concept,
        "definition_x_concept": c.definition * layout.is_concept,
        "learning_x_faq": c.learning * layout.is_faq,
        "words_x_faq": words * layout.is_faq,
        "words_x_misconception": words * layout.is_misc,
        "named_self_x_definition": c.definition * named_self,
    }
    return np.stack([np.asarray(cols[f], dtype=np.float32) for f in FEATURES], axis=1)


def _gap(x: np.ndarray | None, n: int) -> np.ndarray:
    return x - x.max() if x is not None else np.zeros(n, dtype=np.float32)
