"""Lexical retrieval: BM25 (the `bm25s` library) over stemmed words of each passage, its title and its aliases."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from kb import Topic

_WORD = re.compile(r"[a-z0-9]+(?:[+#]+)?")
# Anchored at a word start, so a long run without a hyphen is scanned once, not once per starting letter (that was
# quadratic: a 60 KB history message took 36 s).
_HYPHENATED = re.compile(r"(?<![a-z0-9-])[a-z0-9]+(?:-[a-z0-9]+)+")
# Question words and fillers that say nothing about the topic; BM25's idf would otherwise reward rare ones.
STOPWORDS = frozenset(
    """a about above after again all also am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have
    having he her here hers how i if in into is it its itself just me more most my no nor not now of off
    on once only or other our out over own same she should so some such than that the their them then
    there these they this those through to too under until up very was we were what when where which
    while who whom why will with would you your yours explain tell please know learn learning""".split()
)


class Lexical:
    """BM25 over the kb's passages; `scores(q)` gives every passage's score in kb order."""

    def __init__(self, entries: list[Topic]) -> None:
        import bm25s
        import Stemmer

        self._stem = Stemmer.Stemmer("english").stemWords
        self.ids = [t.id for t in entries]
        corpus = [self.tokenize(" ".join([t.title, *t.aliases, t.summary])) for t in entries]
        self._bm25 = bm25s.BM25()
        self._bm25.index(corpus, show_progress=False)
        # The learner phrasings, one document each, in the dense index's order (entry by entry): an entry scores
        # by its best phrasing, as in the dense asks view
        phrasings = [self.tokenize(a) for t in entries for a in t.asks]
        self._ask_owner = np.array([i for i, t in enumerate(entries) for _ in t.asks], dtype=np.int64)
        self._asks_bm25: Any = None
        if phrasings:
            self._asks_bm25 = bm25s.BM25()
            self._asks_bm25.index(phrasings, show_progress=False)
        self._vocab = {w for doc in corpus for w in doc} | {w for doc in phrasings for w in doc}
        self._passage_vocab = {w for doc in corpus for w in doc}

    def tokenize(self, text: str) -> list[str]:
        """Stemmed words without stopwords; a hyphenated word also counts joined ("one-hot" -> "onehot"), so both
        spellings meet."""
        low = text.lower()
        words = _WORD.findall(low.replace("-", " "))
        joined = [w.replace("-", "") for w in _HYPHENATED.findall(low)]
        return self._stem([w for w in words + joined if w not in STOPWORDS])

    def read(self, query: str, leave_out: int | None = None) -> tuple[np.ndarray, np.ndarray, float]:
        """Every passage's BM25 score for `query`, every entry's best phrasing's BM25 score (`leave_out` hides one
        phrasing, for training on it), and the share of the query's content words that occur in some passage
        (0.0 when it has none); the query is tokenized once for all three."""
        tokens = self.tokenize(query)
        known = [w for w in tokens if w in self._passage_vocab]
        share = len(known) / len(tokens) if tokens else 0.0
        passages = np.zeros(len(self.ids), dtype=np.float32)
        if known:
            passages = np.asarray(self._bm25.get_scores(known), dtype=np.float32)
        best = np.zeros(len(self.ids), dtype=np.float32)
        in_asks = [w for w in tokens if w in self._vocab]
        if in_asks and self._asks_bm25 is not None:
            per_ask = np.asarray(self._asks_bm25.get_scores(in_asks), dtype=np.float32)
            if leave_out is not None:
                per_ask[leave_out] = 0.0
            np.maximum.at(best, self._ask_owner, per_ask)
        return passages, best, share

    def scores(self, query: str) -> np.ndarray:
        return self.read(query)[0]

    def known_share(self, query: str) -> float:
        return self.read(query)[2]
