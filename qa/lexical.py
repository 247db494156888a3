"""Lexical retrieval: BM25 (the `bm25s` library) over stemmed words of each passage, its title and its aliases, and
over each learner phrasing; and a cosine over the character 4-grams of the same texts (`CharGrams`), which still
meets a misspelt word ("overfiting", "hyperparamter") that BM25's whole words miss."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from kb import Topic
from qa.groups import Owners

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


GRAM = 4  # characters per gram of a word padded with a space each side (" data " -> " dat", "data", "ata "); shorter words count whole
GRAMS_FILE = "chargrams.npz"
GRAMS_VERSION = "1"  # bump when the grams or their weights change: the cached file is then rebuilt
BM25_VERSION = "1"  # bump when `Lexical.tokenize` changes: the cached BM25 indexes (index/bm25-*) are then rebuilt


def _grams(text: str) -> Counter[str]:
    out: Counter[str] = Counter()
    for w in _WORD.findall(text.lower()):
        w = f" {w} "
        if len(w) <= GRAM:
            out[w] += 1
        else:
            out.update(w[i : i + GRAM] for i in range(len(w) - GRAM + 1))
    return out


class CharGrams:
    """TF-IDF (log term frequency, smoothed idf) cosine over the character 4-grams of words, one document a text.

    Stored by gram (for each gram the documents holding it and their weights), so that a query reads only its own
    grams' lists: ~0.2 ms for a question against 5,900 texts. Grams the texts never use are ignored."""

    def __init__(self, grams: list[str], idf: np.ndarray, indptr: np.ndarray, docs: np.ndarray, weights: np.ndarray,
                 n_docs: int) -> None:  # fmt: skip
        self.vocab = {g: j for j, g in enumerate(grams)}
        self.idf, self.indptr, self.docs, self.weights, self.n_docs = idf, indptr, docs, weights, n_docs

    @classmethod
    def build(cls, texts: list[str]) -> CharGrams:
        vocab: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        counts: list[int] = []
        for r, text in enumerate(texts):
            for g, c in _grams(text).items():
                cols.append(vocab.setdefault(g, len(vocab)))
                rows.append(r)
                counts.append(c)
        row, col = np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64)
        df = np.bincount(col, minlength=len(vocab))
        idf = (np.log((1 + len(texts)) / (1 + df)) + 1).astype(np.float32)
        w = np.log1p(np.array(counts, dtype=np.float32)) * idf[col]
        norm = np.sqrt(np.bincount(row, weights=w * w, minlength=len(texts)))
        w = (w / np.maximum(norm[row], 1e-12)).astype(np.float32)
        order = np.argsort(col, kind="stable")
        indptr = np.concatenate([[0], np.cumsum(df)]).astype(np.int64)
        return cls(list(vocab), idf, indptr, row[order].astype(np.int32), w[order], len(texts))

    def scores(self, text: str) -> np.ndarray:
        """The cosine of `text` to every document, in order."""
        counts = _grams(text)
        known = [(self.vocab[g], c) for g, c in counts.items() if g in self.vocab]
        if not known:
            return np.zeros(self.n_docs, dtype=np.float32)
        idx = np.array([j for j, _ in known], dtype=np.int64)
        q = np.log1p(np.array([c for _, c in known], dtype=np.float32)) * self.idf[idx]
        q /= np.sqrt(float(q @ q))
        starts, lengths = self.indptr[idx], self.indptr[idx + 1] - self.indptr[idx]
        # every (document, weight) of the query's grams in one gather: positions start..start+length for each gram
        pos = np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths) + np.arange(lengths.sum())
        return np.bincount(self.docs[pos], weights=self.weights[pos] * np.repeat(q, lengths),
                           minlength=self.n_docs).astype(np.float32)  # fmt: skip

    @staticmethod
    def key(texts: list[str]) -> str:
        h = hashlib.sha256(f"grams {GRAMS_VERSION} {GRAM}\n".encode())
        for t in texts:
            h.update(t.encode() + b"\0")
        return h.hexdigest()

    def save(self, path: Path, key: str) -> None:
        """Written whole or not at all (a temporary file renamed over the old one)."""
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as f:
            np.savez(f, key=np.array(key), grams=np.array(list(self.vocab)), idf=self.idf, indptr=self.indptr,
                     docs=self.docs, weights=self.weights, n_docs=np.array(self.n_docs))  # fmt: skip
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path, key: str) -> CharGrams | None:
        """The grams saved at `path` when they were built from the same texts (`key`), else None."""
        try:
            with np.load(path, allow_pickle=False) as z:
                if str(z["key"]) != key:
                    return None
                return cls(z["grams"].tolist(), z["idf"], z["indptr"], z["docs"], z["weights"], int(z["n_docs"]))
        except (OSError, KeyError, ValueError):
            return None

    @classmethod
    def cached(cls, texts: list[str], folder: Path | None, write: bool = True) -> CharGrams:
        """Built from `texts`, or read from `folder` when built there from the same texts before (a build takes
        ~0.3 s for the kb's 5,900 texts, the read ~10 ms); saved there when `write` and it can be (a read-only
        folder only costs the build at each start)."""
        key = cls.key(texts)
        path = folder / GRAMS_FILE if folder is not None else None
        if path is not None and path.is_file() and (found := cls.load(path, key)) is not None:
            return found
        grams = cls.build(texts)
        if path is not None and write:
            try:
                folder.mkdir(parents=True, exist_ok=True)  # type: ignore[union-attr]
                grams.save(path, key)
            except OSError:
                pass
        return grams


class Scores(NamedTuple):
    """What the lexical side knows of one question, per kb entry (kb order)."""

    bm25: np.ndarray  # BM25 of the passage
    bm25_asks: np.ndarray  # BM25 of the best phrasing
    known: float  # the share of the question's content words that occur in some passage (0.0 when it has none)
    grams: np.ndarray  # 4-gram cosine of the passage
    grams_asks: np.ndarray  # 4-gram cosine of the best phrasing
    rest_bm25_asks: np.ndarray | None = None  # BM25 of the best phrasing for the question without the names it mentions


class Lexical:
    """BM25 and 4-gram cosines over the kb's passages and phrasings; `scores(q)` gives every passage's BM25 in kb
    order. `folder` (the index folder) keeps the 4-gram table between starts; `write` False only reads it there."""

    def __init__(self, entries: list[Topic], folder: Path | None = None, write: bool = True) -> None:
        import Stemmer

        self._stem = Stemmer.Stemmer("english").stemWords
        self.ids = [t.id for t in entries]
        passages = [" ".join([t.title, *t.aliases, t.summary]) for t in entries]
        asks = [a for t in entries for a in t.asks]
        self._bm25, self._passage_vocab = self._cached_bm25(passages, folder, "passages", write)
        # The learner phrasings, one document each, in the dense index's order (entry by entry): an entry scores
        # by its best phrasing, as in the dense asks view
        self._ask_owner = np.array([i for i, t in enumerate(entries) for _ in t.asks], dtype=np.int64)
        self._asks_bm25: Any = None
        asks_vocab: set[str] = set()
        if asks:
            self._asks_bm25, asks_vocab = self._cached_bm25(asks, folder, "asks", write)
        self._vocab = self._passage_vocab | asks_vocab
        self._grams = CharGrams.cached(asks + passages, folder, write)
        self._n_asks = len(self._ask_owner)
        self._owners = Owners(self._ask_owner, len(entries))

    def _cached_bm25(self, texts: list[str], folder: Path | None, name: str, write: bool) -> tuple[Any, set[str]]:
        """A BM25 index of `texts` and its vocabulary: read from `folder` when it was built there from the same texts
        and tokenizer before (tokenizing and indexing the kb's ~8,000 texts takes ~0.35 s of an unchanged kb's
        start, the read ~20 ms), else built and, when `write`, saved there (as `CharGrams.cached`)."""
        import bm25s

        key = hashlib.sha256("\x00".join([BM25_VERSION, *sorted(STOPWORDS), *texts]).encode("utf-8")).hexdigest()
        path = folder / f"bm25-{name}" if folder is not None else None
        if path is not None and (path / "key.txt").is_file():
            try:
                if (path / "key.txt").read_text(encoding="utf-8") == key:
                    found = bm25s.BM25.load(str(path), show_progress=False, verbosity=0)
                    return found, {w for w in found.vocab_dict if w}
            except (OSError, ValueError, KeyError):
                pass  # unreadable: build it again below
        docs = [self.tokenize(t) for t in texts]
        bm25 = bm25s.BM25()
        bm25.index(docs, show_progress=False)
        if path is not None and write:
            tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
            try:
                bm25.save(str(tmp), show_progress=False)
                (tmp / "key.txt").write_text(key, encoding="utf-8")  # last: a folder without it is never read
                shutil.rmtree(path, ignore_errors=True)
                os.replace(tmp, path)
            except OSError:
                shutil.rmtree(tmp, ignore_errors=True)
        return bm25, {w for doc in docs for w in doc}

    def tokenize(self, text: str) -> list[str]:
        """Stemmed words without stopwords; a hyphenated word also counts joined ("one-hot" -> "onehot"), so both
        spellings meet."""
        low = text.lower()
        words = _WORD.findall(low.replace("-", " "))
        joined = [w.replace("-", "") for w in _HYPHENATED.findall(low)]
        return self._stem([w for w in words + joined if w not in STOPWORDS])

    def read(self, query: str, leave_out: int | Sequence[int] | None = None, rest: str | None = None) -> Scores:
        """Every entry's lexical scores for `query` (`Scores`); `leave_out` hides phrasings, for training on one;
        `rest` is the question without the names it mentions, whose best phrasing is scored too (a tool named in
        passing matches every phrasing that names it: "my churn model in scikit-learn, how do I know when it goes
        stale?" met "I built a churn model in scikit-learn, is it any good?"). The query is tokenized once."""
        tokens = self.tokenize(query)
        hidden = np.atleast_1d(np.asarray(leave_out if leave_out is not None else (), dtype=np.int64))
        known = [w for w in tokens if w in self._passage_vocab]
        share = len(known) / len(tokens) if tokens else 0.0
        passages = np.zeros(len(self.ids), dtype=np.float32)
        if known:
            passages = np.asarray(self._bm25.get_scores(known), dtype=np.float32)
        best = self._best_ask(tokens, hidden)
        rest_best = self._best_ask(self.tokenize(rest), hidden) if rest is not None else best
        grams = self._grams.scores(query)
        per_ask = grams[: self._n_asks]
        per_ask[hidden] = 0.0
        grams_best = self._owners.max(per_ask, 0.0)
        return Scores(passages, best, share, grams[self._n_asks :], grams_best, rest_best)

    def _best_ask(self, tokens: list[str], hidden: np.ndarray) -> np.ndarray:
        """Each entry's best phrasing's BM25 for the tokens, the `hidden` phrasing rows left out."""
        in_asks = [w for w in tokens if w in self._vocab]
        if not in_asks or self._asks_bm25 is None:
            return np.zeros(len(self.ids), dtype=np.float32)
        per_ask = np.asarray(self._asks_bm25.get_scores(in_asks), dtype=np.float32)
        per_ask[hidden] = 0.0
        return self._owners.max(per_ask, 0.0)

    def scores(self, query: str) -> np.ndarray:
        return self.read(query).bm25

    def known_share(self, query: str) -> float:
        return self.read(query).known
