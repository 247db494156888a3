"""The embedding model tuned on the kb's own phrasings, shipped as a small overlay on the packaged model.

`roadmap-qa tune-encoder` fine-tunes all-MiniLM-L6-v2's six transformer layers (the word embeddings stay as they
are) for one epoch on the kb's `asks`: each phrasing against another phrasing of the same entry, or (three times in
ten) against the entry's title and summary, with in-batch negatives (MultipleNegativesRankingLoss, written out in
torch: the library's trainer needs two more packages). It writes only the tuned layers, in float16, to
`kb/data/encoder/tuned.safetensors` (~21 MB) with what they were tuned on beside them (`tuned.json`).

A build finds the overlay, lays it over the packaged model once into a model folder in `index/` (`tuned-<hash>`), and
from there on that folder is the model: the ONNX export, the vectors and the ranker are built from it, and a change
of overlay is a change of model (the index is rebuilt). Tuning takes ~10 minutes on 2 cores, far over the build's
budget, which is why it is a separate step whose result is committed; a kb whose phrasings changed since still uses
the overlay (the build says so), and tuning again picks the new ones up.

Measured on the tuning blind sets (`tests/sets/`, the whole engine, hybrid): see the README's quality section.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import time
from pathlib import Path
from typing import Any

from kb import KnowledgeBase

OVERLAY = Path("encoder") / "tuned.safetensors"  # relative to the kb's data folder
META = Path("encoder") / "tuned.json"
EPOCHS = 1
BATCH = 32
LEARNING_RATE = 2e-5
PASSAGE_SHARE = 0.3  # of the pairs, the share whose positive is the entry's title and summary
SCALE = 20.0  # cosine similarities times this are the logits (sentence-transformers' default)
SEED = 0
_TUNED = "encoder.layer."  # the parameters tuned and shipped: the transformer layers


def overlay_path(kb_dir: Path) -> Path:
    return Path(kb_dir) / OVERLAY


def asks_hash(kb: KnowledgeBase) -> str:
    h = hashlib.sha256()
    for t in kb.entries:
        h.update(f"{t.id}\t{t.title}\t{t.summary}\t{t.asks}\n".encode())
    return h.hexdigest()[:16]


def tuned_model(kb_dir: Path, cache_dir: Path, build: bool) -> Path | None:
    """The model folder the overlay in `kb_dir` makes of the packaged model, laid over it into `cache_dir` on first
    use (`build`; a serve-only process only finds it); None when the kb ships no overlay (or it is not laid yet)."""
    overlay = overlay_path(kb_dir)
    if not overlay.is_file():
        return None
    digest = hashlib.sha256(overlay.read_bytes()).hexdigest()[:16]
    target = Path(cache_dir) / f"tuned-{digest}"
    if (target / "modules.json").is_file():
        return target
    if not build:
        return None
    _lay(overlay, target)
    return target


def _lay(overlay: Path, target: Path) -> None:
    """Copy the packaged model to `target` with the overlay's layers in place of its own (as float32)."""
    from safetensors.numpy import load_file, save_file

    from qa.embed import packaged_model_dir

    base = packaged_model_dir()
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(base, tmp)
    weights = load_file(str(base / "model.safetensors"))
    tuned = load_file(str(overlay))
    for key, value in tuned.items():
        if key not in weights or weights[key].shape != value.shape:
            shutil.rmtree(tmp, ignore_errors=True)
            raise ValueError(f"{overlay}: '{key}' does not fit the packaged model")
        weights[key] = value.astype(weights[key].dtype)
    save_file(weights, str(tmp / "model.safetensors"), metadata={"format": "pt"})
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)


def tune(kb: KnowledgeBase, kb_dir: Path, log: Any = print) -> dict[str, Any]:
    """Fine-tune the packaged model on `kb`'s phrasings and write the overlay and its description into `kb_dir`."""
    import numpy as np
    import torch
    from safetensors.numpy import save_file
    from sentence_transformers import SentenceTransformer

    from qa.embed import model_identity, packaged_model_dir

    random.seed(SEED)
    torch.manual_seed(SEED)
    base = packaged_model_dir()
    model = SentenceTransformer(str(base), device="cpu", local_files_only=True)
    bert = model[0].auto_model
    for name, p in bert.named_parameters():
        p.requires_grad = name.startswith(_TUNED)
    entries = list(kb.entries)
    pairs: list[tuple[str, str, int]] = []
    for i, t in enumerate(entries):
        for a in t.asks:
            others = [b for b in t.asks if b != a]
            passage = random.random() < PASSAGE_SHARE or not others
            pairs.append((a, f"{t.title}. {t.summary}" if passage else random.choice(others), i))
    prepare = getattr(model, "preprocess", None) or model.tokenize
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=LEARNING_RATE)
    model.train()
    started = time.perf_counter()
    for epoch in range(EPOCHS):
        random.shuffle(pairs)
        for s in range(0, len(pairs), BATCH):
            batch, seen = [], set()
            for p in pairs[s : s + BATCH]:
                if p[2] not in seen:  # two phrasings of one entry in a batch would be each other's false negatives
                    seen.add(p[2])
                    batch.append(p)
            a = torch.nn.functional.normalize(model(prepare([p[0] for p in batch]))["sentence_embedding"], dim=-1)
            b = torch.nn.functional.normalize(model(prepare([p[1] for p in batch]))["sentence_embedding"], dim=-1)
            loss = torch.nn.functional.cross_entropy(a @ b.T * SCALE, torch.arange(len(batch)))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            step = s // BATCH + 1
            if step % 20 == 0:
                log(f"epoch {epoch + 1}, step {step} of {-(-len(pairs) // BATCH)}: loss {loss.item():.3f}")
    seconds = round(time.perf_counter() - started, 1)
    layers = {k: v.detach().numpy().astype(np.float16) for k, v in bert.state_dict().items() if k.startswith(_TUNED)}
    out = overlay_path(kb_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_file(layers, str(out), metadata={"format": "pt"})
    out.chmod(0o644)  # safetensors writes 0600; the file is data to commit and ship like the kb's YAML
    meta = {
        "base_model": model_identity(base),
        "asks": sum(len(t.asks) for t in entries),
        "asks_hash": asks_hash(kb),
        "pairs": len(pairs),
        "epochs": EPOCHS,
        "batch": BATCH,
        "learning_rate": LEARNING_RATE,
        "passage_share": PASSAGE_SHARE,
        "seed": SEED,
        "seconds": seconds,
    }
    (Path(kb_dir) / META).write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    return meta


def staleness(kb: KnowledgeBase, kb_dir: Path) -> str | None:
    """A sentence when the overlay was tuned on other phrasings than the kb's (None when current or absent)."""
    meta = Path(kb_dir) / META
    if not overlay_path(kb_dir).is_file() or not meta.is_file():
        return None
    try:
        tuned_on = json.loads(meta.read_text(encoding="utf-8")).get("asks_hash")
    except ValueError:
        return f"{META} is unreadable"
    if tuned_on != asks_hash(kb):
        return "the encoder was tuned on an earlier version of the kb's phrasings (run `roadmap-qa tune-encoder`)"
    return None
