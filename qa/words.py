"""The word classifier: which kb entry's learner phrasings a question's words and word pairs resemble.

The embedding's phrasing classifier (`qa.ranker.Phrasings`) reads meaning; word pairs carry the detail an embedding
blurs ("of everything we flagged, how many were really fraud?" against "how many of the real fraud cases did we
miss?" sit as close as their words are alike). This is a complement naive Bayes over TF-IDF of words and word pairs
(scikit-learn's `TfidfVectorizer` and `ComplementNB`, fitted on the asks), stored as plain arrays and read at serving
time without scikit-learn: `terms` repeats the vectorizer's analysis (a test checks they agree).

Grouped CV of the ranker with its two features (`words_p`, `words_gap`), 8,347 asks / 855 labelled questions: Hit@1
0.928 -> 0.933 / 0.980 -> 0.980 (MRR 0.956 -> 0.960 / 0.989 -> 0.989). Alpha and the pairs' document floor by the same
CV: alpha 0.1 / 0.3 / 1.0 -> asks 0.932 / 0.933 / 0.934, labelled 0.983 / 0.980 / 0.979; a pair seen once (a vocabulary
three times the size) 0.937 / 0.980. A logistic regression in its place did as well (0.935 / 0.983) in ten times the
build time (~35 s against ~3 s for the six fits).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

ALPHA = 0.3  # ComplementNB's smoothing
MIN_DF = 2  # a word or word pair in fewer phrasings than this is not read
NGRAMS = (1, 2)
FOLDS = 5  # out-of-fold log-probabilities for the ranker's own training, as `qa.fit.fit_phrasings`
LOG_FLOOR = -12.0
_TOKEN = re.compile(r"(?u)\b\w\w+\b")  # scikit-learn's default token pattern


def terms(text: str) -> list[str]:
    """The words and word pairs `TfidfVectorizer(ngram_range=NGRAMS, strip_accents="unicode")` reads in `text`."""
    low = text.lower()
    if not low.isascii():
        low = "".join(c for c in unicodedata.normalize("NFKD", low) if not unicodedata.combining(c))
    words = _TOKEN.findall(low)
    out = list(words) if NGRAMS[0] == 1 else []
    for n in range(max(2, NGRAMS[0]), NGRAMS[1] + 1):
        out.extend(" ".join(words[i : i + n]) for i in range(len(words) - n + 1))
    return out


@dataclass(frozen=True)
class WordPhrasings:
    """Complement naive Bayes over TF-IDF (sublinear term frequency, L2-normalised): `weights` one row per kb entry
    (an entry without phrasings: a row that never wins), `idf` and `vocab` the vectorizer's."""

    vocab: dict[str, int]
    idf: np.ndarray  # (terms,), float32
    weights: np.ndarray  # (entries, terms), float32

    def log_probs(self, text: str) -> np.ndarray:
        """Each entry's log-probability for `text` (uniform when it has no known word), floored at LOG_FLOOR."""
        counts = Counter(j for t in terms(text) if (j := self.vocab.get(t)) is not None)
        if not counts:
            return np.full(len(self.weights), -math.log(len(self.weights)), dtype=np.float32)
        idx = np.fromiter(counts, dtype=np.int64, count=len(counts))
        x = (1.0 + np.log(np.fromiter(counts.values(), dtype=np.float32, count=len(counts)))) * self.idf[idx]
        x /= np.sqrt(float(x @ x))
        z = self.weights[:, idx] @ x
        z = z - z.max()
        return np.maximum(z - math.log(float(np.exp(z).sum())), LOG_FLOOR).astype(np.float32)


def fit_words(
    texts: Sequence[str], labels: np.ndarray, entries: int, batches: Sequence[int] | None = None
) -> tuple[WordPhrasings, np.ndarray]:
    """The classifier fitted on every phrasing (`texts`, entry positions `labels`), and each phrasing's
    log-probabilities from a fold that did not see it or its batch (as `qa.fit.fit_phrasings`)."""
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    texts = list(texts)
    oof = np.zeros((len(texts), entries), dtype=np.float32)
    counts = np.bincount(labels)
    if counts[counts > 0].min() >= FOLDS:
        if batches is not None:
            folds = StratifiedGroupKFold(FOLDS, shuffle=True, random_state=0).split(texts, labels, batches)
        else:
            folds = StratifiedKFold(FOLDS, shuffle=True, random_state=0).split(texts, labels)
        for train_idx, test_idx in folds:
            fold_model = _fit([texts[i] for i in train_idx], labels[train_idx], entries)
            oof[test_idx] = [fold_model.log_probs(texts[i]) for i in test_idx]
    full = _fit(texts, labels, entries)
    if not oof.any():  # too few phrasings an entry to hold any out: in-sample (only tiny test kbs)
        oof[:] = [full.log_probs(t) for t in texts]
    return full, oof


def _fit(texts: list[str], labels: np.ndarray, entries: int) -> WordPhrasings:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.naive_bayes import ComplementNB

    vectorizer = TfidfVectorizer(ngram_range=NGRAMS, sublinear_tf=True, min_df=MIN_DF, strip_accents="unicode")
    try:
        x = vectorizer.fit_transform(texts)
    except ValueError:  # no word reaches MIN_DF: a classifier that knows no word
        return WordPhrasings({}, np.zeros(0, np.float32), np.zeros((entries, 0), np.float32))
    model = ComplementNB(alpha=ALPHA).fit(x, labels)
    weights = np.full((entries, x.shape[1]), -1e4, dtype=np.float32)
    weights[model.classes_] = model.feature_log_prob_
    vocab = {t: int(j) for t, j in vectorizer.vocabulary_.items()}
    return WordPhrasings(vocab, vectorizer.idf_.astype(np.float32), weights)
