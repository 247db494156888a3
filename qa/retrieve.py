"""Ranking passages for a question: dense (FAISS) and lexical (BM25) scores fused, plus a lift from the graph for
the concepts the question names. `mode` swaps the retriever and keeps everything else, so each part can be measured.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from kb import KnowledgeBase, Mention
from kb.names import normalize
from qa.embed import Embedder
from qa.index import DenseIndex
from qa.lexical import Lexical
from qa.settings import RetrieverName

# Fusion constants, chosen on the dev set and the questions in tests/ (see bench/run.py for the figures):
W_DENSE = 1.0  # cosine of question and entry, 0..1 in practice: a blend of its two views
W_NAMES = 0.25  # the names view's share of that cosine (the passage view has the rest)
W_LEXICAL = 0.35  # BM25 squashed to 0..1 by s / (s + BM25_HALF)
BM25_HALF = 6.0  # the BM25 score that counts as half a full lexical match
LIFT_SELF = 0.35  # a concept the question names lifts its own passage by this much times its specificity
LIFT_ABOUT = 0.2  # ...and the FAQ entries and misconceptions about it by this much


@dataclass(frozen=True)
class Passage:
    """A kb passage ranked for a question."""

    id: str
    kind: str
    title: str
    text: str
    score: float

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class Ranking:
    """The passages best first, and the raw signals the confidence check reads."""

    passages: list[Passage]
    top_dense: float
    top_lexical: float
    lifted: bool
    # The best passages by text alone (before named concepts lift theirs): id -> (passage, score), best first.
    unlifted: dict[str, tuple[Passage, float]] = field(default_factory=dict)


class Retriever:
    def __init__(
        self,
        kb: KnowledgeBase,
        mode: RetrieverName,
        embedder: Embedder | None = None,
        dense: DenseIndex | None = None,
        lexical: Lexical | None = None,
    ) -> None:
        if mode in ("hybrid", "dense") and (embedder is None or dense is None):
            raise ValueError(f"the {mode} retriever needs an embedder and a dense index")
        if mode in ("hybrid", "bm25") and lexical is None:
            raise ValueError(f"the {mode} retriever needs a lexical index")
        self.kb = kb
        self.mode = mode
        self._embedder = embedder
        self._dense = dense
        self._lexical = lexical
        self._entries = list(kb.entries)
        self._pos = {t.id: i for i, t in enumerate(self._entries)}
        if dense is not None and dense.ids != [t.id for t in self._entries]:
            raise ValueError("the dense index does not hold the kb's passages in order")
        self._about: dict[str, list[int]] = {}
        for i, t in enumerate(self._entries):
            for c in t.about:
                self._about.setdefault(c, []).append(i)
        self.specificity = _specificity(kb)

    @property
    def encoder_backend(self) -> str:
        """What embeds queries: "onnxruntime", "sentence-transformers", or "none" for BM25 alone."""
        return self._embedder.backend if self._embedder is not None else "none"

    def search(self, query: str, mentions: Sequence[Mention] = (), k: int = 5, lift: bool = True) -> Ranking:
        """The `k` best passages for `query`; `mentions` are the concepts it names (see `kb.NameIndex.mentions`)."""
        n = len(self._entries)
        scores = np.zeros(n, dtype=np.float32)
        top_dense = top_lex = 0.0
        if self.mode in ("hybrid", "dense"):
            assert self._embedder is not None and self._dense is not None  # checked in __init__
            by_view = dict(
                zip(self._dense.views, self._dense.view_scores(self._embedder.encode([query])[0]), strict=True)
            )
            cos = by_view["passage"]
            if "names" in by_view:
                cos = (1 - W_NAMES) * cos + W_NAMES * by_view["names"]
            top_dense = float(cos.max())
            scores += W_DENSE * cos if self.mode == "hybrid" else cos
        if self.mode in ("hybrid", "bm25"):
            assert self._lexical is not None
            raw = self._lexical.scores(query)
            top_lex = float(raw.max())
            squashed = raw / (raw + BM25_HALF)
            scores += W_LEXICAL * squashed if self.mode == "hybrid" else squashed
        base = scores.copy()
        lifted = False
        if lift:
            for m in mentions:
                w = self.specificity.get(m.id, 0.0) * (m.score / 100.0)
                if m.id in self._pos and w > 0:
                    scores[self._pos[m.id]] += LIFT_SELF * w
                    for i in self._about.get(m.id, ()):
                        scores[i] += LIFT_ABOUT * w
                    lifted = True
        order = np.argsort(-scores, kind="stable")[:k]
        passages = [
            Passage(t.id, t.kind, t.title, t.summary, round(float(scores[i]), 4))
            for i in order
            for t in (self._entries[i],)
        ]
        unlifted = {
            t.id: (Passage(t.id, t.kind, t.title, t.summary, round(float(scores[i]), 4)), float(base[i]))
            for i in np.argsort(-base, kind="stable")[:k]
            for t in (self._entries[i],)
        }
        return Ranking(passages, top_dense, top_lex, lifted, unlifted)


def _specificity(kb: KnowledgeBase) -> dict[str, float]:
    """How specific each concept's names are, 0..1: an idf over the passages that use any of its names, so naming
    "machine learning" (in most passages) lifts little and naming "random forests" lifts a lot."""
    texts = [f" {normalize(t.title + ' ' + t.summary)} " for t in kb.entries]
    n = len(texts)
    out: dict[str, float] = {}
    for t in kb.of_kind("concept"):
        names = {f" {normalize(x)} " for x in (*t.names, t.id.replace("-", " "))}
        df = sum(1 for text in texts if any(name in text for name in names if name.strip()))
        out[t.id] = math.sqrt(math.log((n + 1) / (df + 1)) / math.log(n + 1))
    return out
