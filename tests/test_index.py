"""The dense index with the real model: build, manifest, staleness, rebuild, atomic writes, search correctness."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from kb import load_kb
from qa.embed import Embedder
from qa.index import MANIFEST, VECTORS, DenseIndex, names_text, open_index, passage_text
from tests.conftest import MINI_KB


@pytest.fixture(scope="module")
def encoder_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding the exported, verified encoder, made once for this module."""
    d = tmp_path_factory.mktemp("encoder")
    Embedder(cache_dir=d)
    return d


@pytest.fixture
def index_dir(tmp_path: Path, encoder_cache: Path) -> Path:
    d = tmp_path / "index"
    shutil.copytree(encoder_cache, d)
    return d


@pytest.fixture
def embedder(index_dir: Path) -> Embedder:
    return Embedder(cache_dir=index_dir)


@pytest.fixture
def mini(tmp_path: Path) -> Path:
    d = tmp_path / "kb"
    shutil.copytree(MINI_KB, d)
    return d


def test_build_writes_vectors_and_a_manifest(index_dir: Path, embedder: Embedder, mini: Path) -> None:
    kb = load_kb(mini)
    index, status = open_index(index_dir, kb, embedder)
    assert status.startswith("built")
    manifest = json.loads((index_dir / MANIFEST).read_text())
    assert manifest["kb_hash"] == kb.content_hash
    assert manifest["model"] == embedder.model_id
    assert (manifest["dim"], manifest["count"]) == (384, 7)
    assert manifest["ids"] == [t.id for t in kb.entries]
    assert not list(index_dir.glob("*.tmp")), "no temporary file is left behind"
    again, status = open_index(index_dir, kb, embedder)
    assert status == "loaded"
    assert np.allclose(again.vectors(), index.vectors())


def test_each_entry_is_embedded_as_a_passage_by_its_names_and_by_each_ask(
    index_dir: Path, embedder: Embedder, mini: Path
) -> None:
    kb = load_kb(mini)
    index, _ = open_index(index_dir, kb, embedder)
    asks = [a for t in kb.entries for a in t.asks]
    assert index.views == ["passage", "names"] and len(index.vectors()) == 2 * len(kb.entries) + len(asks)
    q = embedder.encode(["backprop"])[0]
    scores = index.view_scores(q)
    assert scores.shape == (2, len(kb.entries))
    expect = (
        embedder.encode([passage_text(t) for t in kb.entries]) @ q,
        embedder.encode([names_text(t) for t in kb.entries]) @ q,
    )
    assert np.allclose(scores, np.stack(expect), atol=1e-5)
    assert np.allclose(index.all_scores(q), expect[0], atol=1e-5)
    # The asks view: each entry scores by its best phrasing; leaving one phrasing out never uses its vector.
    ask_cos = embedder.encode(asks) @ q
    owner = [i for i, t in enumerate(kb.entries) for _ in t.asks]
    _, best, vote, centroid = index.split(index.row_scores(q)[0])
    ask_vecs = embedder.encode(asks)

    def centre(i: int, skip: int | None = None) -> float:
        rows = [v for j, (v, o) in enumerate(zip(ask_vecs, owner, strict=True)) if o == i and j != skip]
        mean = np.mean(rows, axis=0)
        return float(mean @ q / np.linalg.norm(mean))

    for i in range(len(kb.entries)):
        assert np.isclose(best[i], max(c for c, o in zip(ask_cos, owner, strict=True) if o == i), atol=1e-5)
        assert np.isclose(centroid[i], centre(i), atol=1e-4)  # the mean direction of its phrasings
    assert np.isclose(vote.sum(), 1.0, atol=1e-5)
    top = int(np.argmax(ask_cos))
    _, without, _, centroid_without = index.split(index.row_scores(q)[0], leave_out=top)
    others = [c for j, (c, o) in enumerate(zip(ask_cos, owner, strict=True)) if o == owner[top] and j != top]
    assert np.isclose(without[owner[top]], max(others), atol=1e-5)
    assert np.isclose(centroid_without[owner[top]], centre(owner[top], skip=top), atol=1e-4)
    assert not np.isclose(centroid_without[owner[top]], centroid[owner[top]], atol=1e-4)
    # Several rows at once (a training phrasing's neighbours): none of them counts, in the best phrasing or the centroid
    mine = [j for j, o in enumerate(owner) if o == owner[top]]
    hide = [j for j in mine if abs(j - top) <= 1]
    _, without_run, _, centroid_run = index.split(index.row_scores(q)[0], leave_out=hide)
    kept = [j for j in mine if j not in hide]
    assert len(hide) >= 2 and kept
    assert np.isclose(without_run[owner[top]], max(ask_cos[j] for j in kept), atol=1e-5)
    mean = np.mean([ask_vecs[j] for j in kept], axis=0)
    assert np.isclose(centroid_run[owner[top]], float(mean @ q / np.linalg.norm(mean)), atol=1e-4)
    others = np.arange(len(kb.entries)) != owner[top]
    assert np.allclose(without_run[others], best[others]) and np.allclose(centroid_run[others], centroid[others])


def test_a_changed_kb_is_rebuilt_reusing_unchanged_vectors(index_dir: Path, embedder: Embedder, mini: Path) -> None:
    open_index(index_dir, load_kb(mini), embedder)
    f = mini / "concepts.yaml"
    f.write_text(f.read_text().replace("cancel out", "average out"))
    kb = load_kb(mini)
    index, status = open_index(index_dir, kb, embedder)
    assert status == "built (the knowledge base changed)"
    # The changed passage is embedded again; the other six passages, all seven names views and every ask are reused.
    asks = sum(len(t.asks) for t in kb.entries)
    assert (index.manifest["embedded"], index.manifest["reused"]) == (1, 13 + asks)
    fresh = DenseIndex.build(kb, embedder)
    assert np.allclose(index.vectors(), fresh.vectors(), atol=1e-5)


def test_another_model_makes_the_index_stale(index_dir: Path, embedder: Embedder, mini: Path) -> None:
    kb = load_kb(mini)
    open_index(index_dir, kb, embedder)
    m = json.loads((index_dir / MANIFEST).read_text())
    m["model"] = "some-other-model@0000"
    (index_dir / MANIFEST).write_text(json.dumps(m))
    index, status = open_index(index_dir, kb, embedder)
    assert status.startswith("built (built with model some-other-model@0000")
    assert index.manifest["reused"] == 0, "vectors of another model are never mixed in"


@pytest.mark.parametrize("damage", ["truncate vectors", "garbage manifest", "delete vectors", "wrong format"])
def test_an_unreadable_index_is_rebuilt(index_dir: Path, embedder: Embedder, mini: Path, damage: str) -> None:
    kb = load_kb(mini)
    open_index(index_dir, kb, embedder)
    if damage == "truncate vectors":
        (index_dir / VECTORS).write_bytes((index_dir / VECTORS).read_bytes()[:100])
    elif damage == "garbage manifest":
        (index_dir / MANIFEST).write_text("{not json")
    elif damage == "delete vectors":
        (index_dir / VECTORS).unlink()
    else:
        m = json.loads((index_dir / MANIFEST).read_text())
        (index_dir / MANIFEST).write_text(json.dumps(m | {"format": 99}))
    index, status = open_index(index_dir, kb, embedder)
    assert status.startswith("built")
    assert len(index) == 7
    assert open_index(index_dir, kb, embedder)[1] == "loaded"


def test_force_rebuilds_a_current_index(index_dir: Path, embedder: Embedder, mini: Path) -> None:
    kb = load_kb(mini)
    open_index(index_dir, kb, embedder)
    assert open_index(index_dir, kb, embedder, force=True)[1] == "built (forced rebuild)"


def test_search_matches_brute_force_on_random_vectors() -> None:
    rng = np.random.default_rng(7)
    vecs = rng.normal(size=(50, 16)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    index = DenseIndex([f"p{i}" for i in range(50)], vecs, {})
    queries = rng.normal(size=(5, 16)).astype(np.float32)
    for q, hits in zip(queries, index.batchsearch(queries, k=5), strict=True):
        expected = np.argsort(-(vecs @ q))[:5]
        assert [h.id for h in hits] == [f"p{i}" for i in expected]
        assert np.allclose([h.score for h in hits], (vecs @ q)[expected], atol=1e-5)
        assert np.allclose(index.all_scores(q), vecs @ q, atol=1e-5)



def test_onnx_encoder_is_the_verified_quantized_copy_of_the_model(embedder: Embedder, index_dir: Path) -> None:
    """The export is checked at full precision against sentence-transformers (0.9999), then served with 8-bit
    weights that still agree to QUANTIZED_MIN_COSINE, from a file a quarter of the size."""
    from qa.embed import QUANTIZED_MIN_COSINE, _OnnxEncoder

    assert embedder.backend == "onnxruntime" and embedder.describe() == "onnxruntime (int8)"
    onnx_path, meta_path = _OnnxEncoder._paths(embedder, index_dir)
    meta = json.loads(meta_path.read_text())
    assert meta["precision"] == "int8" and meta["verified_min_cosine"] >= 0.9999
    assert meta["verified_min_cosine_int8"] >= QUANTIZED_MIN_COSINE
    assert onnx_path.stat().st_size < 40_000_000  # the float32 copy is 90 MB
    texts = ["Random forests average many decorrelated decision trees.", "wht is crossvalidation", "Kubernetes"]
    fast = embedder.encode(texts)
    reference = embedder._encode_st(texts)
    assert fast.shape == (3, 384)
    assert np.allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-5)
    assert np.min((fast * reference).sum(1)) > QUANTIZED_MIN_COSINE
    assert embedder.vectors_id == f"{embedder.model_id}+int8"
    # One text a run: a text's vector does not depend on the texts encoded with it
    alone = np.stack([embedder.encode([t])[0] for t in texts])
    assert np.array_equal(alone, fast)


def test_an_index_whose_vectors_another_encoder_made_is_rebuilt(
    index_dir: Path, embedder: Embedder, mini: Path
) -> None:
    """Vectors from sentence-transformers (or an older full-precision copy) and the 8-bit encoder's agree to ~0.99
    only: an index is reused with the encoder that made it, never mixed with another's queries."""
    kb = load_kb(mini)
    open_index(index_dir, kb, embedder)
    manifest = json.loads((index_dir / MANIFEST).read_text())
    assert manifest["vectors"] == embedder.vectors_id
    manifest["vectors"] = embedder.model_id  # as a full-precision build records it
    (index_dir / MANIFEST).write_text(json.dumps(manifest))
    index, status = open_index(index_dir, kb, embedder)
    assert status == f"built (built with vectors from {embedder.model_id}, now {embedder.vectors_id})"
    assert index.manifest["embedded"] == len(index.manifest["text_hashes"])  # none of the old vectors reused


def test_one_pass_gives_the_question_and_its_rest_without_the_names(embedder: Embedder) -> None:
    """`encode_parts`: the whole text's vector is `encode`'s; the rest leaves out the tokens of the given character
    spans (so it is not the whole), leaves them all in without spans, and ONNX and sentence-transformers agree."""
    from qa.retrieve import mention_spans

    q = "my Keras model must answer 5,000 requests a second"
    spans = [(3, 8)]  # "Keras"
    whole, rest = embedder.encode_parts([q, q], [spans, []])
    assert np.allclose(whole[0], embedder.encode([q])[0], atol=1e-5)
    assert np.allclose(rest[1], whole[1], atol=1e-6)  # nothing dropped
    assert float(rest[0] @ whole[0]) < 0.99  # the name's tokens are gone...
    assert np.isclose(np.linalg.norm(rest[0]), 1.0, atol=1e-5)
    st_whole, st_rest = embedder._encode_parts_st([q], [spans])
    assert float(st_whole[0] @ whole[0]) > 0.97 and float(st_rest[0] @ rest[0]) > 0.97  # ...the same way in both
    # The spans come from the names the lookup found, whatever the case and punctuation around them
    from kb import Mention

    assert mention_spans("Is k-fold CV, like, Cross-Validation?", [Mention("cv", "cross validation", 5, 7, 100.0)]) == [
        (20, 36)
    ]


def test_a_servers_encoder_threads_do_not_spin_between_questions(index_dir: Path) -> None:
    """With two threads, ONNX Runtime's second thread spins between runs by default and takes a core from the rest
    of the answer (a server: 144 -> 199 asks/s without it), so the server turns spinning off. Questions one at a
    time with some Python work between them: the process uses ~1.5 cores of CPU per second of wall time without
    spinning, ~2.0 with it."""
    import time

    from app import serving
    from qa.settings import Settings

    assert Settings().encoder_spin and not serving(Settings(), env={}).encoder_spin
    assert serving(Settings(), env={"ROADMAP_QA_ENCODER_SPIN": "true"}).encoder_spin  # unless set
    two = Embedder(cache_dir=index_dir, threads=2, spin=serving(Settings(), env={}).encoder_spin)
    assert two.backend == "onnxruntime"
    questions = ["what is a cnn?", "how do I deploy a model behind an api with low latency?"] * 100
    two.encode(questions[:4])
    wall, cpu = time.perf_counter(), time.process_time()
    for q in questions:
        two.encode([q])
        sum(range(20_000))  # the rest of an answer, in Python
    ratio = (time.process_time() - cpu) / (time.perf_counter() - wall)
    assert ratio < 1.8, f"{ratio:.2f} cores busy while answering one question at a time: the encoder's threads spin"


def test_a_first_start_serves_at_once_and_switches_to_onnx_when_exported(tmp_path: Path) -> None:
    """With export="later" nothing is exported up front; the export runs in another process, then takes over."""
    first = Embedder(cache_dir=tmp_path, export="later")
    assert first.backend == "sentence-transformers"
    assert not list(tmp_path.glob("encoder-*.onnx"))
    before = first.encode(["What is a CNN?"])
    thread = first.export_in_background()
    assert thread is not None
    thread.join(timeout=300)
    assert first.backend == "onnxruntime"
    assert float((first.encode(["What is a CNN?"]) @ before.T)[0, 0]) > 0.97  # the 8-bit copy
    assert first.export_in_background() is None  # nothing left to do
    assert Embedder(cache_dir=tmp_path, export="later").backend == "onnxruntime"  # the next start uses the copy


def test_a_folder_that_is_not_a_model_is_refused(tmp_path: Path) -> None:
    from qa.errors import IndexStoreError

    with pytest.raises(IndexStoreError, match="not a sentence-transformers model folder"):
        Embedder(tmp_path)


def test_the_lexical_phrasings_view_scores_an_entry_by_its_best_phrasing_and_can_hide_one(real_kb) -> None:  # type: ignore[no-untyped-def]
    """BM25 over the learner phrasings, one document each: a phrasing asked as a question finds its entry, and with
    that phrasing left out (as training asks it) the entry keeps only what its other phrasings earn."""
    import numpy as np

    from qa.lexical import Lexical

    entries = list(real_kb.entries)
    lexical = Lexical(entries)
    row = 0
    for i, t in enumerate(entries):
        if t.asks:
            target, text = i, t.asks[0]
            break
        row += len(t.asks)
    best = lexical.read(text).bm25_asks
    assert int(np.argmax(best)) == target
    hidden = lexical.read(text, leave_out=row).bm25_asks
    assert hidden[target] < best[target]
    others = np.arange(len(entries)) != target
    assert np.array_equal(hidden[others], best[others])
    # Hiding the whole entry's phrasings leaves it nothing in the phrasings view, and the others as they were
    run = list(range(row, row + len(entries[target].asks)))
    none = lexical.read(text, leave_out=run)
    assert none.bm25_asks[target] == 0.0 and none.grams_asks[target] == 0.0
    assert np.array_equal(none.bm25_asks[others], best[others])


def test_character_grams_meet_a_misspelt_word_that_bm25_misses_and_are_kept_beside_the_index(real_kb, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The 4-gram cosine finds "kubernetes" in "kubernates" (BM25's whole words find nothing); the table is saved in
    the index folder, read back the same, rebuilt when the texts change, and a damaged file is rebuilt, not trusted."""
    import numpy as np

    from qa.lexical import GRAMS_FILE, CharGrams, Lexical

    entries = list(real_kb.entries)
    k8s = next(i for i, t in enumerate(entries) if t.id == "kubernetes")
    lexical = Lexical(entries, tmp_path)
    typo = lexical.read("what is kubernates")
    assert int(np.argmax(typo.grams)) == k8s
    assert not typo.bm25.any()  # "kubernates" is no word of any passage
    assert (tmp_path / GRAMS_FILE).is_file()

    texts = ["data cleaning and missing values", "kubernetes runs containers"]
    built = CharGrams.cached(texts, tmp_path)
    again = CharGrams.cached(texts, tmp_path)
    assert np.array_equal(built.scores("kubernates pods"), again.scores("kubernates pods"))
    assert again.scores("kubernates pods").argmax() == 1
    other = CharGrams.cached(["kubernetes runs containers", "data cleaning and missing values"], tmp_path)
    assert other.scores("kubernates pods").argmax() == 0  # new texts, new table
    (tmp_path / GRAMS_FILE).write_bytes(b"not a numpy file")
    assert CharGrams.cached(texts, tmp_path).scores("kubernates pods").argmax() == 1
    assert CharGrams.load(tmp_path / GRAMS_FILE, CharGrams.key(texts)) is not None  # and saved whole again
    # a read-only start (serve_only) reads the table but never writes it
    fresh = tmp_path / "ro"
    CharGrams.cached(texts, fresh, write=False)
    assert not (fresh / GRAMS_FILE).exists()


def test_bm25_indexes_are_kept_beside_the_index_and_rebuilt_when_the_kb_changes(real_kb, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """An unchanged kb's start reads both BM25 indexes (passages, phrasings) from the index folder instead of
    tokenizing ~8,000 texts again, and scores exactly as a fresh build; a changed phrasing, a damaged folder or a
    read-only start builds them in memory."""
    import dataclasses

    import numpy as np

    from qa.lexical import Lexical

    entries = list(real_kb.entries)
    question, rest = "my churn model in scikit-learn, how do I know when it goes stale?", "my churn model, how do I know"
    fresh = Lexical(entries, None).read(question, None, rest)
    built = Lexical(entries, tmp_path)
    assert (tmp_path / "bm25-asks" / "key.txt").is_file() and (tmp_path / "bm25-passages" / "key.txt").is_file()
    again = Lexical(entries, tmp_path)
    for a, b in zip(again.read(question, None, rest), fresh, strict=True):
        assert np.array_equal(np.asarray(a), np.asarray(b))
    assert again._vocab == built._vocab

    # A new phrasing that shares a rare word with the question: the cached index is not reused for it
    i = next(i for i, t in enumerate(entries) if t.id == "model-monitoring")
    changed = [*entries]
    changed[i] = dataclasses.replace(entries[i], asks=(*entries[i].asks, "zyzzyva alerts from our churn model"))
    scores = Lexical(changed, tmp_path).read("zyzzyva")
    assert int(np.argmax(scores.bm25_asks)) == i and scores.bm25_asks[i] > 0
    (tmp_path / "bm25-asks" / "data.csc.index.npy").write_bytes(b"not a numpy file")
    assert int(np.argmax(Lexical(changed, tmp_path).read("zyzzyva").bm25_asks)) == i
    ro = tmp_path / "ro"
    Lexical(entries, ro, write=False)
    assert not (ro / "bm25-asks").exists()
