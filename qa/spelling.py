"""Typos in a question, corrected before it is understood: "randum forrest how it works" is read as "random
forrest how it works", which the embedding model (whose word pieces split "randum" into "ran" + "##dum") and BM25
can then place.

Only a word that nothing knows is corrected: not a word of the kb or of its training questions, not a whole word of
the embedding model's vocabulary, and not an inflection of any of those (its stem is not theirs). It becomes the
most frequent kb word one edit away (a letter dropped, doubled, changed, or two swapped), if there is one and it
is used at least `MIN_COUNT` times. Words under `MIN_CHARS` letters and words with digits are left alone.

Measured on the tuning sets (A, D, E, G, I, K, M, O, Q, S, U, W: 909 questions to answer, 246 to refuse): as
written, 53 questions change and Hit@1 goes 884 -> 885 of 909 ("randum forrest how it works" is no longer refused),
off-topic refused 244 of 246 either way; with 15% of their longer words misspelt by one edit (seeded), Hit@1 0.955
-> 0.969 (0.972 clean before). Some corrections are wrong ("logger" -> "longer", "lathe" -> "late": words the kb
never uses and the model's vocabulary lacks as whole words); on those sets none of them changed a figure.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import Stemmer
from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein

from kb import KnowledgeBase

MIN_CHARS = 5  # 6 corrects too little: the misspelt tuning sets lost a third of the gain
MIN_COUNT = 5  # how often the kb and its training questions must use a word to correct to it
_WORD = re.compile(r"[a-z]+")
_TOKEN = re.compile(r"[A-Za-z0-9]+")


class Speller:
    """Corrects words that neither the kb nor the embedding model knows (`fix`)."""

    def __init__(self, texts: Iterable[str], vocabulary: Iterable[str] = ()) -> None:
        counts = Counter(_WORD.findall("\n".join(texts).lower()))
        self._counts = counts
        self._known = set(counts) | {w for w in vocabulary if w.isalpha() and w.islower()}
        self._sorted = sorted(self._known)
        self._stem = Stemmer.Stemmer("english").stemWord
        self._targets = [w for w, c in counts.items() if c >= MIN_COUNT and len(w) >= MIN_CHARS - 1]
        self._cache: dict[str, str] = {}

    def _inflects_known(self, word: str) -> bool:
        """Whether a known word has `word`'s stem. Only known words starting with the stem but its last letter are
        stemmed ("happiness" and "happy" meet at "happi"): stemming all 25,000 took 0.15 s at every start."""
        stem = self._stem(word)
        head = stem[:-1]
        i = bisect_left(self._sorted, head)
        while i < len(self._sorted) and self._sorted[i].startswith(head):
            if self._stem(self._sorted[i]) == stem:
                return True
            i += 1
        return False

    def word(self, word: str) -> str:
        """`word` corrected (lower case), or unchanged."""
        low = word.lower()
        if len(low) < MIN_CHARS or not low.isalpha() or low in self._known:
            return word
        fixed = self._cache.get(low)
        if fixed is None:
            fixed = low
            if not self._inflects_known(low):
                near = process.extract(low, self._targets, scorer=DamerauLevenshtein.distance, score_cutoff=1,
                                       limit=None)  # fmt: skip
                if near:
                    fixed = min(near, key=lambda hit: (hit[1], -self._counts[hit[0]], hit[0]))[0]
            if len(self._cache) < 10_000:
                self._cache[low] = fixed
        return word if fixed == low else fixed

    def fix(self, text: str) -> str:
        """`text` with its unknown words corrected; everything else (case, punctuation, spacing) as it was."""
        return _TOKEN.sub(lambda m: self.word(m.group(0)), text)


def speller_for(kb: KnowledgeBase, vocabulary: Iterable[str]) -> Speller:
    """A `Speller` over the kb's entries (titles, aliases, passages, phrasings) and its training questions
    (`training/*.jsonl` and `*.txt`), knowing the embedding model's whole words (`vocabulary`) too."""
    texts: list[str] = []
    for t in kb.entries:
        texts += [t.title, *t.aliases, t.text, *t.asks]
    folder = Path(kb.path) / "training"
    for path in sorted([*folder.glob("*.jsonl"), *folder.glob("*.txt")]) if folder.is_dir() else []:
        try:
            texts.append(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            continue  # the training loader names a broken file; a word list does without it
    return Speller(texts, vocabulary)
