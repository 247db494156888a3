"""Finding entries by what a learner types: ids, titles, aliases in any case, small typos forgiven."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import Stemmer
from rapidfuzz import fuzz, process

from kb.errors import UnknownTopicError
from kb.model import Topic
from kb.names import compact, normalize

# Fuzzy thresholds (rapidfuzz ratio, 0-100), chosen on typo'd names such as "logistc regresion" (94),
# "nueral netwrks" (89) against near-misses between real names ("regression" vs "regularisation": 67).
RESOLVE_MIN = 85  # a typed reference resolves to its best fuzzy match at or above this
MENTION_MIN = 88  # a word run in a question counts as naming a concept at or above this
STEMMED_SCORE = 95.0  # a run of 2+ words that names a concept once both are stemmed ("unit tests" ~ "unit testing")
MENTION_FUZZY_MIN_CHARS = 6  # shorter runs match exactly or not at all ("svm" must not fuzz into "sql")
MAX_NAME_WORDS = 7
SUGGESTIONS = 5
SUGGEST_MIN = 50  # WRatio of a suggestion worth showing; when none reaches it, the nearest few are shown anyway
SUGGEST_FALLBACK = 3
# Words too common to stand for a topic when a question happens to contain them on their own.
_STOP = frozenset(
    """a an and are as at be by do for from how i in is it me my of on or the to what when why with you""".split()
)


@dataclass(frozen=True)
class Mention:
    """A concept named in a text: the words that named it (token span) and how well they matched (100 = exact)."""

    id: str
    text: str
    start: int
    end: int
    score: float


class NameIndex:
    """Every entry's names, for resolving references and spotting concepts named in a question."""

    def __init__(self, entries: Sequence[Topic]) -> None:
        self._titles = {t.id: t.title for t in entries}
        self._kinds = {t.id: t.kind for t in entries}
        self._concept_names: dict[str, str] = {}  # compact name -> concept id
        self._all_names: dict[str, str] = {}  # compact name -> id, any kind
        choices: list[tuple[str, str]] = []  # (normalised name, id)
        for t in entries:
            names = (*t.names, t.id) if t.kind == "concept" else (t.title, t.id)
            for name in names:
                key = compact(name)
                if not key:
                    continue
                self._all_names.setdefault(key, t.id)
                if t.kind == "concept":
                    self._concept_names.setdefault(key, t.id)
                    choices.append((normalize(name), t.id))
        # The same names stemmed, so "unit tests" meets "unit testing" and "regularizing" meets "regularization".
        self._stemmed_names: dict[str, str] = {}
        for name, topic_id in choices:
            self._stemmed_names.setdefault(_stem_key(name.split()), topic_id)
        self._choices = [c for c, _ in choices]
        self._owners = [i for _, i in choices]
        self._compact_keys = list(self._concept_names)
        # A text over twice a name's length cannot reach any fuzzy cutoff (ratio <= 2*short/(short+long) < 0.67), so
        # longer texts skip the fuzzy step: its cost grows with the text's length, and learners' names are short.
        self._fuzzy_max = 2 * max([len(c) for c in [*self._choices, *self._compact_keys]] or [0])

    def title(self, topic_id: str) -> str:
        return self._titles[topic_id]

    def resolve(self, ref: str) -> str:
        """The id `ref` names: an id, title or alias in any case, or a small typo of one.

        Raises
        ------
        UnknownTopicError
            Nothing matches closely enough, or two topics match equally well; carries suggestions.
        """
        if ref in self._titles:
            return ref
        key = compact(ref)
        if key in self._all_names:
            return self._all_names[key]
        if 4 <= len(key) <= self._fuzzy_max:
            hits = process.extract(normalize(ref), self._choices, scorer=fuzz.ratio, limit=8)
            best: dict[str, float] = {}
            for _, score, i in hits:
                best.setdefault(self._owners[i], score)
            ranked = sorted(best.items(), key=lambda kv: -kv[1])
            if ranked and ranked[0][1] >= RESOLVE_MIN and (len(ranked) == 1 or ranked[1][1] < ranked[0][1] - 2):
                return ranked[0][0]
        raise UnknownTopicError(ref, self.suggest(ref))

    def suggest(self, ref: str, limit: int = SUGGESTIONS) -> list[str]:
        """Titles of the concepts whose names are closest to `ref`, best first."""
        text = normalize(ref[: 2 * self._fuzzy_max])  # the closest names to a long text are those to its start
        if not text:
            return []
        ranked: list[tuple[str, float]] = []
        for _, score, i in process.extract(text, self._choices, scorer=fuzz.WRatio, limit=limit * 6):
            title = self._titles[self._owners[i]]
            if title not in (t for t, _ in ranked):
                ranked.append((title, score))
        close = [t for t, s in ranked if s >= SUGGEST_MIN]
        return (close or [t for t, _ in ranked[:SUGGEST_FALLBACK]])[:limit]

    def mentions(self, text: str) -> list[Mention]:
        """Concepts named in `text`, longest names first, no two sharing a word; typos forgiven on longer words.

        >>> t = Topic("cross-validation", "concept", "Cross-validation", "x" * 40, aliases=("k-fold",))
        >>> [m.id for m in NameIndex([t]).mentions("wht is crossvalidation")]
        ['cross-validation']
        """
        tokens = normalize(text).split()
        stems = _STEMMER.stemWords(tokens)  # each word once, not once per run it is in
        taken = [False] * len(tokens)
        found: list[Mention] = []
        # Every run of words a name could be, longest first, joined once for all three passes (~0.2 ms a question)
        runs = [
            (n, i, "".join(tokens[i : i + n]))
            for n in range(min(MAX_NAME_WORDS, len(tokens)), 0, -1)
            for i in range(len(tokens) - n + 1)
            if not (n == 1 and tokens[i] in _STOP) and not (i and tokens[i - 1] == "non")  # a non-engineer is none
        ]
        # One stemmed word is too loose ("explain" ~ "explainability"); fuzzy reads up to three words (`_fuzzy_key`)
        passes = {"exact": runs, "stemmed": [r for r in runs if r[0] >= 2], "fuzzy": [r for r in runs if r[0] <= 3]}
        for how, todo in passes.items():
            fuzzy: dict[str, tuple[str, float] | None] = {}  # the fuzzy pass's runs, compared at once
            if how == "fuzzy":
                fuzzy = self._fuzzy_matches(
                    [k for n, i, k in todo if True not in taken[i : i + n] and self._fuzzy_key(k, n)]
                )
            for n, i, key in todo:
                if True in taken[i : i + n]:
                    continue
                if how == "exact":
                    hit, score = self._concept_names.get(key), 100.0
                elif how == "stemmed":
                    hit, score = self._stemmed_names.get("".join(stems[i : i + n])), STEMMED_SCORE
                elif self._fuzzy_key(key, n) and (match := fuzzy.get(key)):
                    hit, score = self._concept_names[match[0]], match[1]
                else:
                    hit = None
                if hit is not None:
                    found.append(Mention(hit, " ".join(tokens[i : i + n]), i, i + n, score))
                    taken[i : i + n] = [True] * n
        found.sort(key=lambda m: m.start)
        return found

    def _fuzzy_key(self, key: str, n: int) -> bool:
        return n <= 3 and MENTION_FUZZY_MIN_CHARS <= len(key) <= self._fuzzy_max

    def _fuzzy_matches(self, keys: Sequence[str]) -> dict[str, tuple[str, float] | None]:
        """The closest name (and its score) at or above MENTION_MIN of every word run the fuzzy pass may read, all
        compared in one call (one per run took ~0.8 ms a long question); ties go to the earlier name, as one
        `extractOne` per run did. Names too short or too long to reach the cutoff score 0 whatever their letters."""
        keys = list(dict.fromkeys(keys))
        if not keys or not self._compact_keys:
            return {}
        scores = process.cdist(keys, self._compact_keys, scorer=fuzz.ratio, score_cutoff=MENTION_MIN, dtype=np.float64)
        best = scores.argmax(axis=1)
        return {
            k: (self._compact_keys[j], float(scores[r, j])) if scores[r, j] >= MENTION_MIN else None
            for r, (k, j) in enumerate(zip(keys, best, strict=True))
        }


_STEMMER = Stemmer.Stemmer("english")


def _stem_key(words: Sequence[str]) -> str:
    return "".join(_STEMMER.stemWords(list(words)))
