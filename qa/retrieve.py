"""Ranking passages for a question: the dense views (passage, names, learner phrasings) and BM25 give each kb entry
its signals; the learned ranker (`qa.ranker`) orders the entries and the scope model says whether the kb answers the
question at all. `mode` swaps the retriever and keeps everything else, so each part can be measured.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from kb import KnowledgeBase, Mention
from kb.names import normalize, word_spans
from qa.embed import Embedder
from qa.features import FEATURES, Cues, Layout, Signals, matrix
from qa.index import DenseIndex
from qa.lexical import Lexical, Scores
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
    # The nearest training question is an off-topic one, closer than the kb (`kb_closeness`) by more than the models'
    # `veto_margin`: a question that stands on its own is then refused whatever topic it names ("my ball python
    # hasn't eaten... before shedding?" is not about Python).
    like_off_topic: bool = False
    # The walk model finds it likely that the question asks to walk the roadmap (before, after, a path) rather than
    # for an explanation: its probability at or above its threshold (`qa.understand.settle` reads it).
    walks: bool = True


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
        self.specificity = _SPECIFICITY.get(kb)
        if self.specificity is None:  # once per kb: the training and the serving retrievers share it
            self.specificity = _SPECIFICITY.setdefault(kb, _specificity(kb))
        self.layout = Layout(self._entries, self.specificity)

    @property
    def encoder_backend(self) -> str:
        """What embeds queries: "onnxruntime (int8)", "onnxruntime (fp32)", "sentence-transformers", or "none" for
        BM25 alone."""
        return self._embedder.describe() if self._embedder is not None else "none"

    def encode(self, texts: list[str]) -> np.ndarray | None:
        return self._embedder.encode(texts) if self._embedder is not None else None

    def parts(self, texts: list[str], mentions: Sequence[Sequence[Mention]]) -> tuple[np.ndarray, np.ndarray]:
        """For training: each question's vector and its rest's, as `embed_query` makes them (every text names
        something)."""
        if self._embedder is None:
            raise ValueError("no embedder")
        return self._embedder.encode_parts(texts, [mention_spans(t, m) for t, m in zip(texts, mentions, strict=True)])

    def signals(
        self,
        query: str,
        mentions: Sequence[Mention],
        cues: Cues,
        row: np.ndarray | None = None,
        leave_out: int | Sequence[int] | None = None,
        rest_row: np.ndarray | None = None,
        clf: np.ndarray | None = None,
        word_lp: np.ndarray | None = None,
    ) -> Signals:
        """Every entry's raw scores for `query`. `row` is the query's precomputed `DenseIndex.row_scores` (else the
        query is embedded); `leave_out` hides phrasings of the asks view (for training on one: itself and its
        neighbours).
        The same dense scores are also taken for the question without the names it mentions (`rest_of`), so the
        ranker can tell a subject from a tool named in passing; `rest_row` is that text's precomputed row. `clf` is
        the phrasing classifier's log-probabilities (training passes them, computed without the phrasing itself;
        serving asks the models' classifier); `word_lp` likewise the word classifier's."""
        n = len(self._entries)
        zeros = np.zeros(n, dtype=np.float32)
        passage = names = asks = vote = centroid = zeros
        rest = (zeros, zeros, zeros)
        remainder = rest_of(query, mentions)
        vector = rest_vector = None
        if row is None and self._embedder is not None:
            vector, rest_vector = embed_query(self._embedder, query, mentions if remainder is not None else ())
        if self._dense is not None and self.mode != "bm25":
            if row is None:
                row = self._dense.row_scores(vector)[0]
            per_view, asks, vote, centroid = self._dense.split(row, leave_out)
            phrasings = self.models.phrasings if self.models is not None else None
            if clf is None and phrasings is not None and vector is not None:
                clf = phrasings.log_probs(vector)
            by_view = dict(zip(self._dense.views, per_view, strict=True))
            passage, names = by_view["passage"], by_view.get("names", zeros)
            rest = (passage, asks, vote)
            if remainder is not None:
                if rest_row is None:
                    rest_row = self._dense.row_scores(rest_vector)[0]
                rest_views, rest_asks, rest_vote, _ = self._dense.split(rest_row, leave_out)
                rest = (rest_views[self._dense.views.index("passage")], rest_asks, rest_vote)
        lexical = self._lexical is not None and self.mode != "dense"
        lex = self._lexical.read(query, leave_out, remainder) if lexical else Scores(zeros, zeros, 0.0, zeros, zeros)  # type: ignore[union-attr]
        if self.mode == "hybrid" and word_lp is None and self.models is not None and self.models.words is not None:
            word_lp = self.models.words.log_probs(query)
        words = len(normalize(query).split())
        return Signals(passage, names, asks, vote, lex.bm25, tuple(mentions), cues, words, vector, *rest,
                       known_words=lex.known, bm25_asks=lex.bm25_asks, grams=lex.grams, grams_asks=lex.grams_asks,
                       rest_bm25_asks=lex.rest_bm25_asks, centroid=centroid, clf=clf if self.mode != "bm25" else None,
                       words=word_lp if self.mode == "hybrid" else None)  # fmt: skip

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
        vector = s.vector if s.vector is not None else self._embedder.encode([query])[0]
        row = scope_row(logits, feats, s.known_words, cues.words, self.models.near_off_topic(vector))
        scope = self.models.scope
        in_scope = float(1 / (1 + math.exp(-scope.logit(scope_vector(row, vector, self.mode)))))
        like_off_topic = row["off_topic_margin"] > self.models.veto_margin
        walks = self.models.walks(vector, cues.words) >= self.models.walk_threshold
        return Ranking(passages, round(in_scope, 4), in_scope >= scope.threshold, like_off_topic, walks)


def embed_query(embedder: Embedder, query: str, mentions: Sequence[Mention]) -> tuple[np.ndarray, np.ndarray | None]:
    """The question's vector, and the vector of the rest of it without the names `mentions` (None when there are
    none to leave out, see `rest_of`): both from one transformer pass, the rest pooled over the tokens outside the
    names' characters (a second pass over the rest as its own text cost as much again, 7-8 ms on 2 cores). Training
    reads questions the same way (`qa.training`)."""
    if not mentions:
        return embedder.encode([query])[0], None
    vecs, rests = embedder.encode_parts([query], [mention_spans(query, mentions)])
    return vecs[0], rests[0]


def mention_spans(query: str, mentions: Sequence[Mention]) -> list[tuple[int, int]]:
    """The character spans of `mentions` in `query` (empty where its words cannot be lined up with them)."""
    words = word_spans(query)
    if words is None:
        return []
    return [(words[m.start][0], words[m.end - 1][1]) for m in mentions if 0 <= m.start < m.end <= len(words)]


def rest_of(query: str, mentions: Sequence[Mention]) -> str | None:
    """The question without the concept names it mentions ("my keras model must answer 5,000 requests a second"
    -> "my model must answer 5,000 requests a second"), or None when it names none (or nothing else)."""
    spans = [(m.start, m.end) for m in mentions if m.start >= 0]
    if not spans:
        return None
    tokens = normalize(query).split()
    kept = [w for i, w in enumerate(tokens) if not any(a <= i < b for a, b in spans)]
    return " ".join(kept) if kept else None


_SPECIFICITY: weakref.WeakKeyDictionary[KnowledgeBase, dict[str, float]] = weakref.WeakKeyDictionary()


def _specificity(kb: KnowledgeBase) -> dict[str, float]:
    """How specific each concept's names are, 0..1: an idf over the passages that use any of its names, so naming
    "machine learning" (in most passages) says little about the subject and naming "random forests" a lot.

    Each passage's word n-grams are looked up among the names once (linear in the kb: a 10,000-entry kb took minutes
    when every name was searched in every passage)."""
    names_of = {
        t.id: {" ".join(normalize(x).split()) for x in (*t.names, t.id.replace("-", " "))} - {""}
        for t in kb.of_kind("concept")
    }
    wanted = set().union(*names_of.values())
    longest = max((len(x.split()) for x in wanted), default=0)
    used_by: dict[str, set[int]] = {}
    for i, t in enumerate(kb.entries):
        words = normalize(t.title + " " + t.summary).split()
        for size in range(1, longest + 1):
            for j in range(len(words) - size + 1):
                gram = " ".join(words[j : j + size])
                if gram in wanted:
                    used_by.setdefault(gram, set()).add(i)
    n = len(kb.entries)
    out: dict[str, float] = {}
    for cid, names in names_of.items():
        df = len(set().union(*(used_by.get(x, set()) for x in names)))
        out[cid] = math.sqrt(math.log((n + 1) / (df + 1)) / math.log(n + 1))
    return out
