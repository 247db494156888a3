"""The tuned encoder (opt-in, `roadmap-qa tune-encoder`): a real fine-tune on a small kb, and its overlay laid over
the packaged model and used by a build."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from kb import load_kb
from qa.embed import Embedder, model_identity, packaged_model_dir
from qa.tune import META, OVERLAY, staleness, tune, tuned_model
from tests.conftest import MINI_KB

TEXTS = ["my model is perfect on training data and useless on new data", "what is a CNN?"]


def test_tuning_a_small_kb_writes_an_overlay_that_changes_the_model(tmp_path: Path) -> None:
    """A real fine-tune (one epoch over a five-entry kb's phrasings): only the transformer layers are written, in
    float16, with what they were tuned on; laid over the packaged model they make another model whose vectors move."""
    from safetensors.numpy import load_file

    kb_dir = tmp_path / "kb"
    shutil.copytree(MINI_KB, kb_dir)
    kbase = load_kb(kb_dir)
    meta = tune(kbase, kb_dir, log=lambda _: None)
    assert meta["asks"] == sum(len(t.asks) for t in kbase.entries) and meta["pairs"] == meta["asks"]
    layers = load_file(str(kb_dir / OVERLAY))
    assert layers and all(k.startswith("encoder.layer.") and v.dtype == np.float16 for k, v in layers.items())
    assert json.loads((kb_dir / META).read_text())["asks_hash"] == meta["asks_hash"]
    assert staleness(kbase, kb_dir) is None

    cache = tmp_path / "index"
    assert tuned_model(kb_dir, cache, build=False) is None  # a serve-only process never lays it
    folder = tuned_model(kb_dir, cache, build=True)
    assert folder is not None and folder.parent == cache and (folder / "modules.json").is_file()
    assert tuned_model(kb_dir, cache, build=False) == folder  # laid once, then found
    assert model_identity(folder) != model_identity(packaged_model_dir())
    moved = (Embedder(folder).encode(TEXTS) * Embedder().encode(TEXTS)).sum(1)
    assert 0.5 < moved.min() < 0.9999

    # New phrasings in the kb: the overlay still serves, and the build says it was tuned on an earlier kb
    concepts = kb_dir / "concepts.yaml"
    concepts.write_text(concepts.read_text().replace("asks:\n", "asks:\n      - how on earth do I start with this?\n", 1))
    assert "tune-encoder" in (staleness(load_kb(kb_dir), kb_dir) or "")


def test_an_overlay_that_does_not_fit_the_model_is_named(tmp_path: Path) -> None:
    from safetensors.numpy import save_file

    kb_dir = tmp_path / "kb"
    (kb_dir / OVERLAY).parent.mkdir(parents=True)
    save_file({"encoder.layer.0.output.dense.weight": np.zeros((3, 3), np.float16)}, str(kb_dir / OVERLAY))
    with pytest.raises(ValueError, match=r"tuned\.safetensors: 'encoder\.layer\.0\.output\.dense\.weight' does not fit"):
        tuned_model(kb_dir, tmp_path / "index", build=True)
    assert not list((tmp_path / "index").glob("tuned-*"))  # nothing half-laid is left


def test_a_build_uses_the_overlay_when_the_kb_ships_one(tmp_path: Path) -> None:
    """A kb with an overlay is embedded with the tuned model (laid into the index folder, exported to ONNX); the ONNX
    query encoder agrees with sentence-transformers on it."""
    import kb as kbase
    from qa import Assistant

    kb_dir = tmp_path / "kb"
    shutil.copytree(MINI_KB, kb_dir)
    # the ranker's scope model needs off-topic questions beside the phrasings
    shutil.copytree(kbase.DEFAULT_KB_DIR / "training", kb_dir / "training")
    tune(load_kb(kb_dir), kb_dir, log=lambda _: None)
    bot = Assistant.load(kb_dir=kb_dir, index_dir=tmp_path / "index", lazy=True)
    bot.warm()
    embedder = bot.retriever._embedder  # noqa: SLF001 - which model the index was built with
    assert embedder.model_id.startswith("tuned-") and embedder.model_dir.parent == tmp_path / "index"
    assert embedder.backend == "onnxruntime"
    assert np.min((embedder.encode(TEXTS) * embedder._encode_st(TEXTS)).sum(1)) > 0.97  # its 8-bit copy
    # Its ONNX copy has a name of its own: the tuned folder's files have the packaged model's names and sizes
    from qa.embed import _OnnxEncoder

    packaged = Embedder.__new__(Embedder)
    packaged.model_id = model_identity(packaged_model_dir())
    assert _OnnxEncoder._paths(packaged, tmp_path)[0] != _OnnxEncoder._paths(embedder, tmp_path)[0]
    assert json.loads((tmp_path / "index" / "manifest.json").read_text())["model"] == embedder.model_id
    assert bot.ask("how do i solve for x in an equation").passages[0].id == "algebra"
