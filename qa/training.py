"""Building the learned models from the kb: gather the training questions, compute their feature rows with the
same retriever that serves, fit (`qa.fit.train`), and keep the result in `index/` until what it was trained on
changes. Kept apart from `qa.ranker` so that serving never imports scikit-learn."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np

from kb import KbError, KnowledgeBase, NameIndex
from qa.errors import IndexStoreError
from qa.features import Cues, matrix
from qa.fit import (
    SCOPE_ASK_WEIGHT,
    Example,
    Table,
    Walks,
    fit_phrasings,
    read_examples,
    train,
    train_walk,
    training_hash,
)
from qa.index import DenseIndex, vectors_of
from qa.intent import parse
from qa.ranker import FORMAT, RANKER_FILE, Models, walk_vector
from qa.retrieve import Retriever, rest_of
from qa.state import State
from qa.understand import understand
from qa.words import fit_words

# Questions that ask to walk the roadmap ({"q", "intent", "about"} a line) and look-alikes that do not ("intent": null)
WALKS_FILE = "walks.jsonl"

MODES = ("hybrid", "dense", "bm25")


def training_dir(kb: KnowledgeBase) -> Path:
    """Labelled and off-topic questions live beside the kb's YAML, in `training/`."""
    return Path(kb.path) / "training"


def examples_for(kb: KnowledgeBase) -> list[Example]:
    asks = [(i, a) for i, t in enumerate(kb.entries) for a in t.asks]
    return read_examples(training_dir(kb), [t.title for t in kb.entries], asks)


def walk_questions(kb: KnowledgeBase) -> list[tuple[str, bool]]:
    """The walk model's own training questions from `training/walks.jsonl`: (text, whether it asks to walk the
    roadmap). Lines with an "intent" ask for one; lines whose "intent" is null only sound like it ("I check the odd
    values before I model anything, what is that step called?")."""
    path = training_dir(kb) / WALKS_FILE
    if not path.is_file():
        return []
    out: list[tuple[str, bool]] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            text = row["q"]
            if not isinstance(text, str) or not text.strip():
                raise ValueError
        except (ValueError, KeyError, TypeError):
            raise KbError(f"training/{WALKS_FILE}", f"line {n}", 'not a JSON object with a question "q"') from None
        out.append((text, row.get("intent") is not None))
    return out


def walk_table(retriever: Retriever, names: NameIndex, table: Table, walks: list[tuple[str, bool]]) -> Walks:
    """The walk model's training questions: those of `walks` against every in-scope training question (phrasings at
    `SCOPE_ASK_WEIGHT`), each with whether cue words alone would read it as a walk."""
    others = [k for k, e in enumerate(table.examples) if e.targets]
    own = [q for q, _ in walks]
    texts = [table.examples[k].text for k in others] + own
    vectors = np.concatenate([table.vectors[others], retriever.encode(own)]) if own else table.vectors[others]
    y = np.array([0] * len(others) + [int(walk) for _, walk in walks], dtype=np.int64)
    w = np.array([SCOPE_ASK_WEIGHT if table.examples[k].ask_row is not None else 1.0 for k in others] + [1.0] * len(own))
    # The walk file's questions group by their first words (near-duplicates share a fold); the others as usual.
    groups = [table.examples[k].group for k in others] + [f"walk:{' '.join(q.lower().split()[:3])}" for q in own]
    turns = [understand(t, State(), retriever.kb, names, retriever.specificity) for t in texts]
    x = np.array([walk_vector(v, t.cues.words if t.cues else len(t.question.split())) for v, t in zip(vectors, turns, strict=True)])
    return Walks(x, y, w, groups, np.array([t.cue_only for t in turns]))


def feature_table(retriever: Retriever, names: NameIndex, examples: list[Example]) -> Table:
    """Feature rows of every example, as serving computes them; a phrasing never meets its own asks-view vector or
    its neighbours' (`qa.fit.ASK_NEIGHBOURS`), nor a phrasing or word classifier fitted on them. Returns them with
    the classifiers fitted on every phrasing."""
    dense: DenseIndex | None = retriever._dense  # noqa: SLF001 - training reads the same index that serves
    if dense is None:
        raise IndexStoreError("training needs the dense index (the hybrid retriever)")
    stored = dense.vectors()
    n_views = len(dense.ids) * len(dense.views)
    vecs = np.zeros((len(examples), dense.dim), dtype=np.float32)
    asked = [k for k, e in enumerate(examples) if e.ask_row is not None]
    for k in asked:
        vecs[k] = stored[n_views + examples[k].ask_row]  # type: ignore[operator]
    # The classifier's six fits (~15 s, numpy) run beside the parsing (Python) and the encoding (ONNX Runtime)
    labels = np.array([examples[k].targets[0] for k in asked])
    with ThreadPoolExecutor(1) as pool:
        batches = [examples[k].batch for k in asked]
        fitting = pool.submit(fit_phrasings, vecs[asked], labels, len(dense.ids), batches)
        word_fitting = pool.submit(fit_words, [examples[k].text for k in asked], labels, len(dense.ids), batches)
        parsed = [parse(e.text, names) for e in examples]
        rests = [rest_of(e.text, p.mentions) for e, p in zip(examples, parsed, strict=True)]
        rest_vecs: dict[int, np.ndarray] = {}
        # A question that names a concept gets its vector and its rest's from one pass; a phrasing only its rest
        todo = [k for k, e in enumerate(examples) if e.ask_row is None]
        parts = [k for k in range(len(examples)) if rests[k] is not None]
        plain = [k for k in todo if rests[k] is None]
        if plain:
            vecs[plain] = retriever.encode([examples[k].text for k in plain])
        if parts:
            whole, rest = retriever.parts([examples[k].text for k in parts], [parsed[k].mentions for k in parts])
            for k, w, r in zip(parts, whole, rest, strict=True):
                if examples[k].ask_row is None:
                    vecs[k] = w
                rest_vecs[k] = r
        phrasings, oof = fitting.result()
        words, words_oof = word_fitting.result()
    rows = dense.row_scores(vecs)
    clf = np.zeros((len(examples), len(dense.ids)), dtype=np.float32)
    clf[asked] = oof
    clf[todo] = [phrasings.log_probs(v) for v in vecs[todo]]
    word_lp = np.zeros((len(examples), len(dense.ids)), dtype=np.float32)
    word_lp[asked] = words_oof
    word_lp[todo] = [words.log_probs(examples[k].text) for k in todo]
    rest_rows: list[np.ndarray | None] = [None] * len(examples)
    if parts:
        for k, r in zip(parts, dense.row_scores(np.stack([rest_vecs[k] for k in parts])), strict=True):
            rest_rows[k] = r
    xs, extra = [], []
    for e, row, p, rest_row, lp, wp in zip(examples, rows, parsed, rest_rows, clf, word_lp, strict=True):
        cues = Cues.of(e.text, p.states_belief)
        hidden = e.hidden or None  # a phrasing: itself and its neighbours (`qa.fit.ASK_NEIGHBOURS`)
        s = retriever.signals(e.text, p.mentions, cues, row=row, leave_out=hidden, rest_row=rest_row, clf=lp, word_lp=wp)
        xs.append(matrix(s, retriever.layout))
        extra.append((s.known_words, cues.words))
    return Table(examples, xs, extra, vecs, phrasings, words)


def open_models(
    folder: Path, retriever: Retriever, names: NameIndex, force: bool = False, build: bool = True
) -> tuple[Models, str]:
    """The models for this kb and index: loaded when current, else trained and saved (or, when not `build`, an
    `IndexStoreError` naming the command that builds them). Returns them and what happened.

    `retriever` must be a hybrid one (the models of every mode are trained from its signals)."""
    kb = retriever.kb
    examples = examples_for(kb)
    walks = walk_questions(kb)
    model_id = vectors_of(retriever._dense.manifest) if retriever._dense is not None else ""  # noqa: SLF001
    want = training_hash(kb.content_hash, model_id, examples, walks)
    reason = "forced"
    if not force:
        try:
            models = Models.load(folder)
            if models.manifest.get("training_hash") == want:
                return models, "loaded"
            reason = "training data changed"
        except IndexStoreError as e:
            reason = str(e)
    if not build:
        raise IndexStoreError(f"the ranker is missing or stale ({reason}): run `roadmap-qa build-index` first")
    if not any(e.targets for e in examples):
        raise IndexStoreError("the kb has no learner phrasings ('asks') to train the ranker on")
    table = feature_table(retriever, names, examples)
    modes, report = train(table, MODES)
    walk, report["walk"] = train_walk(walk_table(retriever, names, table, walks))
    modes = {m: replace(mm, walk=walk) for m, mm in modes.items()}
    manifest = {
        "format": FORMAT,
        "training_hash": want,
        "features": list(modes["hybrid"].ranker.features),
        "examples": {
            "asks": sum(e.group.startswith("ask:") for e in examples),
            "labelled": sum(e.group.startswith("set:") and bool(e.targets) for e in examples),
            "off_topic": sum(not e.targets for e in examples),
            "walks": sum(walk for _, walk in walks),
            "walk_lookalikes": sum(not walk for _, walk in walks),
        },
        "cv": report,
        "versions": _versions(),
    }
    models = Models(modes, manifest)
    try:
        models.save(folder)
    except OSError as e:
        raise IndexStoreError(f"cannot write {RANKER_FILE} ({e.strerror})") from None
    return models, f"trained ({reason})"


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str] = {}
    for pkg in ("scikit-learn", "numpy"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            continue
    return out
