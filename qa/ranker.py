"""The learned ranking and the calibrated confidence, as serving uses them (plain numbers, no scikit-learn); they
are fitted by `qa.fit`, in place of hand-set fusion weights and a fixed threshold.

- The ranker is a logistic regression (scikit-learn) over `qa.features.FEATURES`: for each (question, entry) the
  probability that the entry answers the question. Entries are ordered by it.
- The walk model reads the question's embedding and length: the probability that it asks to walk the roadmap (what
  comes before or after a concept, a path to one) rather than for an explanation. Cue words ("before", "need for",
  "from ... to") raise such a reading; the walk model confirms or overrules it, so that "what do I need for serving a
  model at a thousand requests a second?" is answered about serving, not with prerequisites.
- The scope model is a second logistic regression over the question's best scores (how close the nearest phrasing,
  passage and name are, how sure the ranker is, how much closer the nearest off-topic training question is than the
  nearest phrasing) and its embedding: the probability that the kb answers the question at all. Its threshold
  refuses a set share of off-topic questions out of fold.

Both are trained at build time on the kb's learner phrasings (`asks`, each labelled with its entry) plus the labelled
questions and off-topic questions in the kb's `training/` folder. A phrasing asked as a training question never meets
its own vector in the asks view. Cross-validation groups every entry's phrasings together and keeps each question
set whole, so no entry's phrasings and no question set leak into their own test fold. The fitted numbers are stored
as JSON (`index/ranker.json`) with the hash of what they were trained on, and rebuilt when that changes.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qa.embed import write_atomic
from qa.errors import IndexStoreError
from qa.features import FEATURES
from qa.index import inner_products
from qa.words import WordPhrasings

RANKER_FILE = "ranker.json"
OFF_TOPIC_FILE = "off_topic.npy"  # the off-topic training questions' embeddings, beside the ranker
PHRASINGS_FILE = "phrasings.npy"  # the phrasing classifier's weights and biases, beside the ranker
WORDS_FILE = "words.npy"  # the word classifier (`qa.words`): its idf, then one row of weights per entry
WORDS_VOCAB_FILE = "words.json"  # ...and its words and word pairs, in column order
FORMAT = 12  # 2: the scope model reads the nearest off-topic training question; 3: rest vectors pooled in one pass;
# 4: the walk model; 5: character 4-gram features, the phrasings' centroid; 6: the veto against phrasings or names;
# 7: the ranker a conditional logit; 8: the scope model reads the best centroid and 4-gram closeness; 9: the ranker a
# logistic regression over single rows again; 10: the phrasing classifier's probabilities; 11: BM25 of the best
# phrasing for the question without the names it mentions; 12: the word classifier
EMBED_DIM = 384  # all-MiniLM-L6-v2; the scope model reads the question's embedding too
SCOPE_FEATURES: tuple[str, ...] = (
    "top_prob",
    "top_logit",
    "margin",
    "max_cos_asks",
    "max_cos_passage",
    "max_cos_names",
    "max_cos_centroid",
    "max_bm25",
    "max_grams_asks",
    "named",
    "log_words",
    "known_words",
    "off_topic_margin",
)
_MODE_SCOPE = {
    "hybrid": SCOPE_FEATURES,
    "dense": tuple(f for f in SCOPE_FEATURES if f not in ("max_bm25", "known_words", "max_grams_asks")),
    # No dense view: no cosines, and no margin over the nearest phrasing (the veto is off too)
    "bm25": tuple(f for f in SCOPE_FEATURES if not f.startswith("max_cos") and f != "off_topic_margin"),
}


@dataclass(frozen=True)
class Linear:
    """A fitted logistic regression with its standardisation, as plain numbers: `logit(X) = ((X - mean) / scale) @ coef
    + intercept`."""

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    threshold: float = 0.5

    def logit(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.mean) / self.scale) @ self.coef + self.intercept

    def to_json(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "coef": self.coef.tolist(),
            "intercept": self.intercept,
            "threshold": self.threshold,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Linear:
        return cls(
            tuple(d["features"]),
            np.asarray(d["mean"], dtype=np.float64),
            np.asarray(d["scale"], dtype=np.float64),
            np.asarray(d["coef"], dtype=np.float64),
            float(d["intercept"]),
            float(d.get("threshold", 0.5)),
        )


def columns(names: Sequence[str], wanted: Sequence[str]) -> list[int]:
    return [list(names).index(f) for f in wanted]


@dataclass(frozen=True)
class Phrasings:
    """The phrasing classifier: a multinomial logistic regression from a question's embedding to the kb entry whose
    learner phrasings it resembles (`weights` is one row per entry, the bias last). Where the asks view scores an
    entry by its nearest phrasing or their centroid, this learns what sets each entry's phrasings apart from its
    neighbours': what two neighbouring entries' phrasings share weighs little, what tells them apart weighs much."""

    weights: np.ndarray  # (entries, EMBED_DIM + 1), float32

    def log_probs(self, vector: np.ndarray) -> np.ndarray:
        z = self.weights[:, :-1] @ vector + self.weights[:, -1]
        z = z - z.max()
        return np.maximum(z - math.log(float(np.exp(z).sum())), LOG_FLOOR).astype(np.float32)


LOG_FLOOR = -12.0  # log-probabilities below this read as this (an entry the classifier never saw: this)


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max())
    return e / e.sum()


def scope_row(
    logits: np.ndarray, feats: np.ndarray, known_words: float, words: int, near_off_topic: float
) -> dict[str, float]:
    """The question-level numbers the scope model reads, from the ranker's logits and the feature rows, and the
    cosine of the nearest off-topic training question (`near_off_topic`)."""
    order = np.argsort(-logits)
    top, second = logits[order[0]], logits[order[1]] if len(order) > 1 else logits[order[0]] - 10
    col = {f: feats[:, i] for i, f in enumerate(FEATURES)}
    return {
        "top_prob": float(softmax(logits)[order[0]]),
        "top_logit": float(top),
        "margin": float(top - second),
        "max_cos_asks": float(col["cos_asks"].max()),
        "max_cos_passage": float(col["cos_passage"].max()),
        "max_cos_names": float(col["cos_names"].max()),
        "max_cos_centroid": float(col["cos_centroid"].max()),
        "max_bm25": float(col["bm25"].max()),
        "max_grams_asks": float(col["grams_asks"].max()),
        "named": float(col["named_self"].max() > 0),
        "log_words": math.log1p(words),
        "known_words": known_words,
        # How much closer the nearest off-topic training question is than the kb (`kb_closeness`): most off-topic
        # questions are above 0, almost every in-scope one below (see `ModeModels.veto_margin`).
        "off_topic_margin": near_off_topic - kb_closeness(feats),
    }


def kb_closeness(feats: np.ndarray) -> float:
    """How close a question comes to the kb: its best cosine to a learner phrasing or to an entry's names. The names
    count because phrasings mostly describe a topic without naming it, so a question that only names one ("What
    are the prerequisites for attention and transformers?", 0.51 to the nearest phrasing) would otherwise sit
    nearer a film question ("in what order should I watch the transformers movies", 0.58) than the kb."""
    return float(max(feats[:, _COS_ASKS].max(), feats[:, _COS_NAMES].max()))


_COS_ASKS, _COS_NAMES = FEATURES.index("cos_asks"), FEATURES.index("cos_names")


@dataclass(frozen=True)
class ModeModels:
    ranker: Linear
    scope: Linear
    # Embeddings of the off-topic training questions (one row each, shared by every mode): a question much closer to
    # one of them than to the kb (`kb_closeness`) is a near miss of a kind seen before ("solve this for me: 2x + 3y =
    # 7", "how does an H-1B transfer work?"), which a linear reading of the embedding alone does not separate from the
    # roadmap topics they name.
    off_topic: np.ndarray
    # A question closer to an off-topic training question than to the kb by more than this is refused
    # even when it names a topic: the margin that only 1 in 1,000 in-scope training questions passes (VETO_KEEP).
    veto_margin: float = math.inf
    # Over the question's embedding, shared by every mode; None when the training data has no walk questions.
    walk: Linear | None = None
    # Over the question's embedding, shared by every mode (the bm25 ranker does not read it).
    phrasings: Phrasings | None = None
    # Over the question's words, shared by every mode (the dense ranker does not read it).
    words: WordPhrasings | None = None

    def walks(self, vector: np.ndarray, words: int) -> float:
        """The walk model's probability that a question of `words` words with this embedding asks to walk the
        roadmap (1.0 without a walk model: cue words alone decide)."""
        if self.walk is None:
            return 1.0
        return float(1 / (1 + math.exp(-float(self.walk.logit(walk_vector(vector, words))))))

    @property
    def walk_threshold(self) -> float:
        return self.walk.threshold if self.walk is not None else 0.0

    def near_off_topic(self, vector: np.ndarray) -> float:
        """Cosine of `vector` (unit length) to the closest off-topic training question; -1 when there are none."""
        return float(inner_products(self.off_topic, vector).max()) if len(self.off_topic) else -1.0


@dataclass(frozen=True)
class Models:
    """The fitted ranker and scope model of each retriever mode, and what they were trained on."""

    modes: dict[str, ModeModels]
    manifest: dict[str, Any]

    @property
    def walk(self) -> Linear | None:
        """The walk model (every mode shares it), as `save` writes it."""
        return next(iter(self.modes.values())).walk if self.modes else None

    @property
    def off_topic(self) -> np.ndarray:
        return next(iter(self.modes.values())).off_topic if self.modes else np.zeros((0, EMBED_DIM), np.float32)

    @property
    def phrasings(self) -> Phrasings | None:
        return next(iter(self.modes.values())).phrasings if self.modes else None

    @property
    def words(self) -> WordPhrasings | None:
        return next(iter(self.modes.values())).words if self.modes else None


    def save(self, folder: Path) -> None:
        """The vectors first, then the JSON that names their checksum: a save cut short between the two leaves a
        pair that does not match, which `load` takes as stale."""
        folder.mkdir(parents=True, exist_ok=True)
        off = np.ascontiguousarray(self.off_topic, dtype=np.float32)
        clf = self.phrasings.weights if self.phrasings is not None else np.zeros((0, EMBED_DIM + 1), np.float32)
        clf = np.ascontiguousarray(clf, dtype=np.float32)
        words = self.words
        word_arrays = np.zeros((0, 0), np.float32) if words is None else np.vstack([words.idf, words.weights])
        word_arrays = np.ascontiguousarray(word_arrays, dtype=np.float32)
        vocab = json.dumps(sorted(words.vocab, key=words.vocab.__getitem__) if words is not None else []).encode()
        doc = {
            **self.manifest,
            "off_topic_vectors": _checksum(off),
            "phrasings": _checksum(clf),
            "words": {**_checksum(word_arrays), "vocab_sha256": hashlib.sha256(vocab).hexdigest()},
            "modes": {
                m: {
                    "ranker": mm.ranker.to_json(),
                    "scope": mm.scope.to_json(),
                    "veto_margin": mm.veto_margin if math.isfinite(mm.veto_margin) else None,
                }
                for m, mm in self.modes.items()
            },
            "walk": self.walk.to_json() if self.walk is not None else None,
        }
        for name, array in ((OFF_TOPIC_FILE, off), (PHRASINGS_FILE, clf), (WORDS_FILE, word_arrays)):
            data = io.BytesIO()
            np.save(data, array, allow_pickle=False)
            write_atomic(folder, folder / name, data.getvalue())
        write_atomic(folder, folder / WORDS_VOCAB_FILE, vocab)
        write_atomic(folder, folder / RANKER_FILE, json.dumps(doc, indent=1).encode())

    @classmethod
    def load(cls, folder: Path) -> Models:
        path = folder / RANKER_FILE
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            if doc.get("format") != FORMAT or list(doc.get("features", [])) != list(FEATURES):
                raise IndexStoreError(f"{RANKER_FILE}: another format or feature list")
            off = _load_checked(folder, OFF_TOPIC_FILE, doc["off_topic_vectors"])
            clf = _load_checked(folder, PHRASINGS_FILE, doc["phrasings"])
            phrasings = Phrasings(clf) if len(clf) else None
            words = _load_words(folder, doc["words"])
            walk = Linear.from_json(doc["walk"]) if doc["walk"] is not None else None
            if walk is not None and walk.features != walk_inputs():
                raise IndexStoreError(f"{RANKER_FILE}: another walk model")
            modes = {
                m: ModeModels(
                    Linear.from_json(d["ranker"]),
                    Linear.from_json(d["scope"]),
                    off,
                    math.inf if d["veto_margin"] is None else float(d["veto_margin"]),
                    walk,
                    phrasings,
                    words,
                )
                for m, d in doc["modes"].items()
            }
        except IndexStoreError:
            raise
        except FileNotFoundError as e:
            raise IndexStoreError(f"{Path(e.filename or RANKER_FILE).name}: not built yet") from None
        except Exception as e:  # noqa: BLE001 - any parse failure means the same thing: retrain
            raise IndexStoreError(f"{RANKER_FILE}: unreadable ({type(e).__name__})") from None
        manifest = {k: v for k, v in doc.items() if k not in ("modes", "walk")}
        return cls(modes, manifest)


def _load_words(folder: Path, want: dict[str, Any]) -> WordPhrasings | None:
    """The word classifier saved beside the ranker, both files checked against what its JSON names."""
    arrays = _load_checked(folder, WORDS_FILE, {k: want[k] for k in ("rows", "sha256")})
    raw = (folder / WORDS_VOCAB_FILE).read_bytes()
    if hashlib.sha256(raw).hexdigest() != want["vocab_sha256"]:
        raise IndexStoreError(f"{WORDS_VOCAB_FILE}: does not match {RANKER_FILE}")
    if not len(arrays):
        return None
    terms = json.loads(raw)
    return WordPhrasings({t: j for j, t in enumerate(terms)}, arrays[0].copy(), arrays[1:])


def _checksum(array: np.ndarray) -> dict[str, Any]:
    return {"rows": int(array.shape[0]), "sha256": hashlib.sha256(array.tobytes()).hexdigest()}


def _load_checked(folder: Path, name: str, want: dict[str, Any]) -> np.ndarray:
    """An array saved beside the ranker, checked against the rows and checksum its JSON names."""
    array = np.load(folder / name, allow_pickle=False)
    if array.dtype != np.float32 or array.ndim != 2 or _checksum(np.ascontiguousarray(array)) != want:
        raise IndexStoreError(f"{name}: does not match {RANKER_FILE}")
    return array


def walk_inputs() -> tuple[str, ...]:
    """The walk model's inputs: the question's length (a story is seldom a walk) and its embedding."""
    return ("log_words", *(f"emb{i}" for i in range(EMBED_DIM)))


def walk_vector(vector: np.ndarray, words: int) -> np.ndarray:
    return np.concatenate([[math.log1p(words)], vector.astype(np.float64)])


def scope_inputs(mode: str) -> tuple[str, ...]:
    """The scope model's inputs in `mode`: the retriever's question-level scores, then the question's embedding.
    The embedding is part of the answering pipeline, not of the retriever, so every mode reads it."""
    return _MODE_SCOPE[mode] + tuple(f"emb{i}" for i in range(EMBED_DIM))


def scope_vector(row: dict[str, float], vector: np.ndarray, mode: str) -> np.ndarray:
    scalars = np.array([row[f] for f in _MODE_SCOPE[mode]], dtype=np.float64)
    return np.concatenate([scalars, vector.astype(np.float64)])
