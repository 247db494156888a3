"""The dense index: normalised embeddings of every kb entry in a FAISS inner-product index, plus a manifest.

Each entry is embedded in three views: its passage (title and body), its names (title and aliases, or the FAQ
question, or the claim), and its `asks` (learner phrasings, one vector each; an entry scores by its best one).
Short questions ("what's backprop") match the names; described problems match the phrasings and the passage.

`index/manifest.json` records what the vectors were made from (kb content hash, model identity, dimension, count,
per-passage text hashes, library versions). An index whose manifest disagrees with the kb or the model is stale and
is rebuilt; each file is written to a temporary name and renamed into place, the manifest last, so a reader sees
either the old index or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kb import KnowledgeBase, Topic
from qa.embed import Embedder
from qa.errors import IndexStoreError
from qa.groups import Owners

FORMAT = 3  # 2: a names view beside the passage view; 3: a row per learner phrasing (the asks view)
MANIFEST = "manifest.json"
VECTORS = "passages.faiss"


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def passage_text(t: Topic) -> str:
    """The passage view of an entry: its title (question, claim) and its body."""
    return t.text


def names_text(t: Topic) -> str:
    """The names view of an entry: its title with its aliases, e.g. "Backpropagation (backprop, chain rule)"."""
    return f"{t.title} ({', '.join(t.aliases)})" if t.aliases else t.title


VIEWS = {"passage": passage_text, "names": names_text}  # one row per entry each
ASKS = "asks"  # then one row per learner phrasing, entry by entry
VOTE_K = 10  # nearest phrasings that vote for their entries
VOTE_TEMPERATURE = 0.05  # cosine differences this size weigh e times less


@dataclass(frozen=True)
class Hit:
    id: str
    score: float


def inner_products(rows: np.ndarray, query: np.ndarray) -> np.ndarray:
    """`rows @ query` for float32 rows (n, d) and one query (d,), in FAISS's single-threaded SIMD kernel: numpy hands a
    product this size to OpenBLAS threads, which spin on the cores other worker processes use (2 workers: 144 -> 71
    asks/s)."""
    import faiss

    rows = np.ascontiguousarray(rows, dtype=np.float32)
    q = np.ascontiguousarray(query, dtype=np.float32)
    out = np.empty(len(rows), dtype=np.float32)
    if len(rows):
        faiss.fvec_inner_products_ny(faiss.swig_ptr(out), faiss.swig_ptr(q), faiss.swig_ptr(rows), q.shape[0], len(rows))
    return out


class DenseIndex:
    """Exact inner-product search (`faiss.IndexFlatIP`) over a few hundred passages: no approximation needed."""

    def __init__(self, ids: Sequence[str], vectors: np.ndarray, manifest: dict[str, Any]) -> None:
        """`vectors` holds one block of `len(ids)` rows per view in `manifest["views"]` (the passage view alone when
        it names none), in `ids` order within each block."""
        import faiss

        self.views: list[str] = [v for v in manifest.get("views", ["passage"]) if v != ASKS]
        # ask_owner[j]: the position (in `ids`) of the entry whose phrasing row j of the asks block is
        self.ask_owner = np.asarray(manifest.get("ask_owner", []), dtype=np.int64)
        if len(ids) * len(self.views) + len(self.ask_owner) != vectors.shape[0]:
            raise IndexStoreError(
                f"index holds {vectors.shape[0]} vectors for {len(ids)} passages in {len(self.views)} view(s) "
                f"and {len(self.ask_owner)} phrasings"
            )
        self.ids = list(ids)
        self.manifest = manifest
        self._index = faiss.IndexFlatIP(int(vectors.shape[1]))
        self._index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        # A read-only view of the stored rows (no copy), for `row_scores`.
        n, d = self._index.ntotal, self._index.d
        self._rows = faiss.rev_swig_ptr(self._index.get_xb(), n * d).reshape(n, d) if n else np.zeros((0, d), np.float32)
        # The sum of each entry's phrasing vectors and its length: an entry's centroid cosine is the sum of its
        # phrasings' cosines over that length (see `split`).
        self._owners = Owners(self.ask_owner, len(self.ids))
        # one sum per entry over its run of rows (np.add.at would take ~0.1 s at 6,600 phrasings)
        sums = self._owners.sum(self._rows[len(self.ids) * len(self.views) :].astype(np.float64))
        self._ask_sums = sums
        self._centre_norm = np.linalg.norm(sums, axis=1)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def dim(self) -> int:
        return int(self._index.d)

    def vectors(self) -> np.ndarray:
        return self._index.reconstruct_n(0, self._index.ntotal)

    def search(self, query: np.ndarray, k: int | None = None) -> list[Hit]:
        """The `k` nearest passages to one query vector (all of them by default), best first, by the passage view."""
        return self.batchsearch(query.reshape(1, -1), k)[0]

    def batchsearch(self, queries: np.ndarray, k: int | None = None) -> list[list[Hit]]:
        n = len(self.ids)
        k = n if k is None else min(k, n)
        scores, idx = self._index.search(np.ascontiguousarray(queries, dtype=np.float32), self._index.ntotal)
        # Rows of other views come in the same ranking; keep the passage view's (the first block) and stop at k.
        return [
            [Hit(self.ids[i], float(s)) for s, i in zip(row_s, row_i, strict=True) if 0 <= i < n][:k]
            for row_s, row_i in zip(scores, idx, strict=True)
        ]

    def row_scores(self, queries: np.ndarray) -> np.ndarray:
        """Cosine similarity of each query (rows) to every stored vector, in storage order: (queries, vectors).

        Every ask needs all of them (the ranker scores every entry), so this is the product over FAISS's own storage
        that a flat search computes, without the search's sort of every row: 0.05 against 0.4 ms at 3,456 rows, 6
        against 22 ms at 24,192 (bench/scale.py). `search` keeps FAISS's ranked search for the nearest few."""
        queries = np.ascontiguousarray(queries.reshape(-1, self.dim), dtype=np.float32)
        out = np.empty((len(queries), len(self._rows)), dtype=np.float32)
        for i, q in enumerate(queries):
            out[i] = inner_products(self._rows, q)
        return out

    def view_scores(self, query: np.ndarray) -> np.ndarray:
        """Cosine similarity of the query to every entry in each per-entry view: shape (views, entries), `ids` order."""
        return self.split(self.row_scores(query)[0])[0]

    def split(
        self, row: np.ndarray, leave_out: int | Sequence[int] | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """One query's row scores as (per-entry views (views, entries), best phrasing per entry, neighbour vote,
        centroid cosine per entry).

        The vote shares 1.0 among the entries owning the query's VOTE_K nearest phrasings, each weighted by how
        close it is (softmax at VOTE_TEMPERATURE). The centroid cosine is the query's cosine to the mean direction
        of an entry's phrasings: steadier than the best one, which a single near-duplicate decides. `leave_out`
        skips phrasing rows (one or several), so a phrasing asked as a training question never meets its own vector
        nor its neighbours' (`qa.fit.ASK_NEIGHBOURS`). An entry with no phrasing scores -1 in the asks view and 0 in
        the centroid."""
        n = len(self.ids)
        per_view = row[: n * len(self.views)].reshape(len(self.views), n)
        asks = row[n * len(self.views) :]
        best = np.full(n, -1.0, dtype=np.float32)
        vote = np.zeros(n, dtype=np.float32)
        centroid = np.zeros(n, dtype=np.float32)
        if len(asks):
            total = np.bincount(self.ask_owner, weights=asks, minlength=n)
            norm = self._centre_norm.copy()
            hidden = np.atleast_1d(np.asarray(leave_out if leave_out is not None else (), dtype=np.int64))
            if len(hidden):
                np.subtract.at(total, self.ask_owner[hidden], asks[hidden])
                first = len(self.ids) * len(self.views)
                for owner in np.unique(self.ask_owner[hidden]):
                    mine = hidden[self.ask_owner[hidden] == owner]
                    norm[owner] = np.linalg.norm(self._ask_sums[owner] - self._rows[first + mine].sum(axis=0))
            centroid = np.divide(total, norm, out=np.zeros(n), where=norm > 1e-9).astype(np.float32)
            if len(hidden):
                asks = asks.copy()
                asks[hidden] = -1.0
            best = self._owners.max(asks, -1.0)
            near = np.argpartition(-asks, min(VOTE_K, len(asks) - 1))[:VOTE_K]
            w = np.exp((asks[near] - asks[near].max()) / VOTE_TEMPERATURE)
            np.add.at(vote, self.ask_owner[near], w / w.sum())
        return per_view, best, vote, centroid

    def all_scores(self, query: np.ndarray, view: str = "passage") -> np.ndarray:
        """Cosine similarity of the query to every entry in one view, in `ids` order."""
        return self.view_scores(query)[self.views.index(view)]

    # --- building, saving, loading ---
    @classmethod
    def build(cls, kb: KnowledgeBase, embedder: Embedder, previous: DenseIndex | None = None) -> DenseIndex:
        """Embed every passage of `kb`, reusing `previous` vectors whose text and model are unchanged."""
        texts = [view(t) for view in VIEWS.values() for t in kb.entries]  # one block per view
        ask_owner = [i for i, t in enumerate(kb.entries) for _ in t.asks]
        texts += [a for t in kb.entries for a in t.asks]
        hashes = [text_hash(x) for x in texts]
        vectors = np.zeros((len(texts), embedder.dim), dtype=np.float32)
        todo = list(range(len(texts)))
        reused = 0
        if (
            previous is not None
            and previous.manifest.get("model") == embedder.model_id
            and vectors_of(previous.manifest) == embedder.vectors_id
            and previous.dim == embedder.dim
        ):
            old = dict(zip(previous.manifest.get("text_hashes", []), previous.vectors(), strict=True))
            todo = []
            for i, h in enumerate(hashes):
                if h in old:
                    vectors[i] = old[h]
                    reused += 1
                else:
                    todo.append(i)
        started = time.perf_counter()
        if todo:
            vectors[todo] = embedder.encode([texts[i] for i in todo])
        manifest = {
            "format": FORMAT,
            "kb_hash": kb.content_hash,
            "model": embedder.model_id,
            "vectors": embedder.vectors_id,
            "encoder": embedder.backend,
            "dim": embedder.dim,
            "count": len(kb.entries),
            "views": [*VIEWS, ASKS],
            "ids": [t.id for t in kb.entries],
            "ask_owner": ask_owner,
            "text_hashes": hashes,
            "embedded": len(todo),
            "reused": reused,
            "embed_seconds": round(time.perf_counter() - started, 3),
            "versions": _versions(),
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        return cls(manifest["ids"], vectors, manifest)

    def save(self, folder: Path) -> None:
        import faiss

        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".faiss.tmp")
        os.close(fd)
        try:
            faiss.write_index(self._index, tmp)
            digest = _file_sha256(Path(tmp))
            os.chmod(tmp, 0o644)
            os.replace(tmp, folder / VECTORS)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        manifest = dict(self.manifest, vectors_sha256=digest)
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".json.tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(manifest, f, indent=2)
        os.chmod(tmp, 0o644)
        os.replace(tmp, folder / MANIFEST)
        object.__setattr__(self, "manifest", manifest)

    @classmethod
    def load(cls, folder: Path) -> DenseIndex:
        """Read a saved index. Raises `IndexStoreError` when it is missing, unreadable or inconsistent."""
        import faiss

        mpath, vpath = folder / MANIFEST, folder / VECTORS
        if not mpath.exists() or not vpath.exists():
            raise IndexStoreError("no index")
        try:
            manifest = json.loads(mpath.read_text(encoding="utf-8"))
            if not isinstance(manifest, dict) or not _complete(manifest):
                raise IndexStoreError(f"{mpath.name}: incomplete manifest")
            if manifest.get("format") != FORMAT:
                raise IndexStoreError(f"{mpath.name}: index format {manifest.get('format')}, expected {FORMAT}")
            if manifest.get("vectors_sha256") != _file_sha256(vpath):
                raise IndexStoreError(f"{vpath.name}: does not match its manifest (interrupted write?)")
            index = faiss.read_index(str(vpath))
            vectors = index.reconstruct_n(0, index.ntotal)
            if vectors.shape[1:] != (manifest["dim"],) or len(manifest["ids"]) != manifest["count"]:
                raise IndexStoreError(f"index shape {vectors.shape} disagrees with its manifest")
            if len(manifest["text_hashes"]) != vectors.shape[0]:
                raise IndexStoreError(f"{mpath.name}: text hashes disagree with the vectors")
            return cls(manifest["ids"], vectors, manifest)  # checks the row count per view
        except IndexStoreError:
            raise
        except Exception as e:  # noqa: BLE001 - any inconsistency means the same thing: rebuild
            raise IndexStoreError(f"unreadable index ({type(e).__name__})") from None

    def stale_reason(self, kb: KnowledgeBase, embedder: Embedder) -> str | None:
        """Why this index no longer fits `kb` and `embedder`, or None when it does."""
        if self.manifest.get("model") != embedder.model_id:
            return f"built with model {self.manifest.get('model')}, now {embedder.model_id}"
        if vectors_of(self.manifest) != embedder.vectors_id:
            return f"built with vectors from {vectors_of(self.manifest)}, now {embedder.vectors_id}"
        if self.manifest.get("kb_hash") != kb.content_hash:
            return "the knowledge base changed"
        if self.ids != [t.id for t in kb.entries]:
            return "the passages changed"
        if self.views != list(VIEWS) or ASKS not in self.manifest.get("views", []):
            return f"built with views {self.manifest.get('views')}, now {[*VIEWS, ASKS]}"
        return None


def vectors_of(manifest: dict[str, Any]) -> str:
    """What made an index's vectors (`Embedder.vectors_id`; an index from before it was recorded: the model)."""
    return str(manifest.get("vectors", manifest.get("model")))


def open_index(
    folder: Path, kb: KnowledgeBase, embedder: Embedder, force: bool = False, build: bool = True
) -> tuple[DenseIndex, str]:
    """The index for `kb` in `folder`: loaded when current, else (re)built and saved (or, when not `build`, an
    `IndexStoreError` naming the command that builds it). Returns it and what happened."""
    previous: DenseIndex | None = None
    try:
        previous = DenseIndex.load(folder)
        reason = "forced rebuild" if force else previous.stale_reason(kb, embedder)
        if reason is None:
            return previous, "loaded"
    except IndexStoreError as e:
        reason = str(e)
    if not build:
        raise IndexStoreError(f"the index is missing or stale ({reason}): run `roadmap-qa build-index` first")
    index = DenseIndex.build(kb, embedder, previous)
    try:
        index.save(folder)
    except OSError as e:
        raise IndexStoreError(f"{folder}: cannot write the index ({e.strerror})") from None
    return index, f"built ({reason})"


# What a manifest must hold, with each value's type; anything less (a half-written or hand-edited file) is rebuilt.
_MANIFEST_FIELDS: dict[str, type | tuple[type, ...]] = {
    "format": int, "model": str, "kb_hash": str, "dim": int, "count": int, "views": list, "ids": list,
    "text_hashes": list, "vectors_sha256": str,
}  # fmt: skip


def _complete(manifest: dict[str, Any]) -> bool:
    return all(isinstance(manifest.get(k), t) for k, t in _MANIFEST_FIELDS.items()) and all(
        isinstance(x, str) for x in [*manifest["ids"], *manifest["views"], *manifest["text_hashes"]]
    )


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str] = {}
    for pkg in ("faiss-cpu", "numpy", "sentence-transformers", "onnxruntime", "torch"):
        with contextlib.suppress(PackageNotFoundError):
            out[pkg] = version(pkg)  # metadata only: importing torch here would cost seconds
    return out
