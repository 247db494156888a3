"""Ranking passages for a question: the dense views (passage, names, learner phrasings) and BM25 give each kb entry
its signals; the learned ranker (`qa.ranker`) orders the entries and the scope model says whether the kb answers the
question at all. `mode` swaps the retriever and keeps everything else, so each part can be measured.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from kb import KnowledgeBase, Mention
from kb.names import normalize
from qa.embed import Embedder
from qa.features import FEATURES, Cues, Layout, Signals, matrix
from qa.index import DenseIndex
from qa.lexical import Lexical
from qa.ranker import ModeModels, columns, scope_row, scope_vector, softmax
from qa.settings import RetrieverName


@dataclass(frozen=True)
class Passage:
    """A kb passage ranked for a question; `score` is the ranker's probability that it answers the question."""

    id: str
    kind: str
    title: str
    text: str
    score: float

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class Ranking:
    """The passages best first, and how likely it is that the kb answers the question at all."""

    passages: list[Passage]
    in_scope: float  # the scope model's probability
    confident: bool  # in_scope at or above the threshold chosen by cross-validation


class Retriever:
    def __init__(
        self,
        kb: KnowledgeBase,
        mode: RetrieverName,
        embedder: Embedder | None = None,
        dense: DenseIndex | None = None,
        lexical: Lexical | None = None,
        models: ModeModels | None = None,
    ) -> None:
        if embedder is None or (mode in ("hybrid", "dense") and dense is None):
            raise ValueError(f"the {mode} retriever needs an embedder (for confidence) and, unless bm25, a dense index")
        if mode in ("hybrid", "bm25") and lexical is None:
            raise ValueError(f"the {mode} retriever needs a lexical index")
        self.kb = kb
        self.mode = mode
        self._embedder = embedder
        self._dense = dense
        self._lexical = lexical
        self.models = models
        self._entries = list(kb.entries)
        if dense is not None and dense.ids != [t.id for t in self._entries]:
            raise ValueError("the dense index does not hold the kb's passages in order")
        self.specificity = _specificity(kb)
        self.layout = Layout(self._entries, self.specificity)

    @property
    def encoder_backend(self) -> str:
        """What embeds queries: "onnxruntime", "sentence-transformers", or "none" for BM25 alone."""
        return self._embedder.backend if self._embedder is not None else "none"

    def encode(self, texts: list[str]) -> np.ndarray | None:
        return self._embedder.encode(texts) if self._embedder is not None else None

    def signals(
        self,
        query: str,
        mentions: Sequence[Mention],
        cues: Cues,
        row: np.ndarray | None = None,
        leave_out: int | None = None,
    ) -> Signals:
        """Every entry's raw scores for `query`. `row` is the query's precomputed `DenseIndex.row_scores` (else the
        query is embedded); `leave_out` hides one phrasing of the asks view (for training on that phrasing)."""
        n = len(self._entries)
        zeros = np.zeros(n, dtype=np.float32)
        passage = names = asks = vote = zeros
        vector = self._embedder.encode([query])[0] if row is None and self._embedder is not None else None
        if self._dense is not None and self.mode != "bm25":
            if row is None:
                row = self._dense.row_scores(vector)[0]
            per_view, asks, vote = self._dense.split(row, leave_out)
            by_view = dict(zip(self._dense.views, per_view, strict=True))
            passage, names = by_view["passage"], by_view.get("names", zeros)
        bm25 = self._lexical.scores(query) if self._lexical is not None and self.mode != "dense" else zeros
        return Signals(passage, names, asks, vote, bm25, tuple(mentions), cues, len(normalize(query).split()), vector)

    def known_words(self, query: str) -> float:
        """The share of the question's content words that occur anywhere in the kb (0 when there are none)."""
        return self._lexical.known_share(query) if self._lexical is not None else 0.0

    def search(self, query: str, mentions: Sequence[Mention], cues: Cues, k: int = 5) -> Ranking:
        """The `k` most likely passages for `query`; `mentions` are the concepts it names (`kb.NameIndex.mentions`)."""
        if self.models is None:
            raise ValueError("the retriever has no trained ranker (build the index)")
        s = self.signals(query, mentions, cues)
        feats = matrix(s, self.layout)
        logits = self.models.ranker.logit(feats[:, columns(FEATURES, self.models.ranker.features)])
        probs = softmax(logits)
        order = np.argsort(-logits, kind="stable")[:k]
        passages = [
            Passage(t.id, t.kind, t.title, t.summary, round(float(probs[i]), 4))
            for i in order
            for t in (self._entries[i],)
        ]
        row = scope_row(logits, feats, self.known_words(query), cues.words)
        scope = self.models.scope
        vector = s.vector if s.vector is not None else self._embedder.encode([query])[0]
        in_scope = float(1 / (1 + math.exp(-scope.logit(scope_vector(row, vector, self.mode)))))
        return Ranking(passages, round(in_scope, 4), in_scope >= scope.threshold)


def _specificity(kb: KnowledgeBase) -> dict[str, float]:
    """How specific each concept's names are, 0..1: an idf over the passages that use any of its names, so naming
    "machine learning" (in most passages) says little about the subject and naming "random forests" a lot."""
    texts = [f" {normalize(t.title + ' ' + t.summary)} " for t in kb.entries]
    n = len(texts)
    out: dict[str, float] = {}
    for t in kb.of_kind("concept"):
        names = {f" {normalize(x)} " for x in (*t.names, t.id.replace("-", " "))}
        df = sum(1 for text in texts if any(name in text for name in names if name.strip()))
        out[t.id] = math.sqrt(math.log((n + 1) / (df + 1)) / math.log(n + 1))
    return out
