"""Settings resolve defaults -> environment (`ROADMAP_QA_*`) -> explicit arguments, in one frozen object."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Literal, get_args

from kb import DEFAULT_KB_DIR

RetrieverName = Literal["hybrid", "dense", "bm25"]
RETRIEVERS: tuple[str, ...] = get_args(RetrieverName)

REPO_DIR = Path(__file__).resolve().parent.parent
DEFAULT_INDEX_DIR = REPO_DIR / "index"


def check_retriever(name: str) -> RetrieverName:
    """`name` if it is a retriever, else a ValueError naming the valid ones."""
    if name not in RETRIEVERS:
        raise ValueError(f"retriever must be one of {', '.join(RETRIEVERS)} (got {name!r})")
    return name  # type: ignore[return-value]


@dataclass(frozen=True)
class Settings:
    """Where things live and how the app runs. Each field `x` may be set by the environment as `ROADMAP_QA_X`."""

    kb_dir: Path = DEFAULT_KB_DIR
    index_dir: Path = DEFAULT_INDEX_DIR
    model: str = ""  # a local sentence-transformers model folder; empty = the packaged all-MiniLM-L6-v2
    retriever: str = "hybrid"
    top_k: int = 5
    host: str = "127.0.0.1"
    port: int = 7860
    mcp: bool = False  # also serve the MCP tools at /mcp/
    chat: bool = True  # the Gradio chat at /; false: the API, widget and MCP only, and Gradio is never imported
    embed_origins: str = "*"  # sites allowed to embed the chat and call the API: "*" or space-separated origins
    concurrency: int = 8  # chat requests answered at once per event (Gradio's default is 1)
    # Server processes, each a whole copy of the app (API, chat, widget, MCP) with the index in its own memory, taking
    # connections from one shared socket; 0: one per core. See the README's sizing table (bench/load.py).
    workers: int = 1
    # Threads for one query embedding (ONNX Runtime); 0: the cores shared out among the worker processes.
    encoder_threads: int = 0
    # ONNX Runtime's threads spin between runs: lower latency for one caller at a time (the library, the CLI), cores
    # taken from the other requests in a server, which turns it off unless this variable is set.
    encoder_spin: bool = True
    deadline: float = 10.0  # seconds a request may wait and run before it is refused with 503
    serve_only: bool = False  # never build: a missing or stale index is an error naming `roadmap-qa build-index`

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then `ROADMAP_QA_*` variables, then the non-None `overrides`."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(f"ROADMAP_QA_{f.name.upper()}")
            if raw is not None and raw != "":
                values[f.name] = _coerce(f.name, raw, cls.__dataclass_fields__[f.name].default)
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = replace(cls(), **values)
        check_retriever(settings.retriever)
        return replace(settings, kb_dir=Path(settings.kb_dir), index_dir=Path(settings.index_dir))

    @property
    def origins(self) -> list[str]:
        return self.embed_origins.split()

    @property
    def answer_workers(self) -> int:
        """`workers`, with 0 resolved to the number of cores this process may use."""
        return self.workers if self.workers > 0 else cores()

    @property
    def threads_per_worker(self) -> int:
        """`encoder_threads`, with 0 resolved to this worker's share of the cores (at least 1, at most 4)."""
        if self.encoder_threads > 0:
            return self.encoder_threads
        return max(1, min(4, cores() // self.answer_workers))


def cores() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def _coerce(name: str, raw: str, default: Any) -> Any:
    if isinstance(default, bool):
        if raw.lower() in {"1", "true", "yes", "on"}:
            return True
        if raw.lower() in {"0", "false", "no", "off"}:
            return False
        raise ValueError(f"ROADMAP_QA_{name.upper()} must be true or false (got {raw!r})")
    if isinstance(default, float):
        try:
            return float(raw)
        except ValueError:
            raise ValueError(f"ROADMAP_QA_{name.upper()} must be a number (got {raw!r})") from None
    if isinstance(default, int):
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"ROADMAP_QA_{name.upper()} must be a whole number (got {raw!r})") from None
    if isinstance(default, Path):
        return Path(raw)
    return raw
