"""Shared fixtures. The real kb, the real model and a real FAISS index; built once per session in a temp folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import kb as kbase
from qa import Assistant

FIXTURES = Path(__file__).parent / "fixtures"
MINI_KB = FIXTURES / "mini_kb"


@pytest.fixture(scope="session")
def real_kb() -> kbase.KnowledgeBase:
    return kbase.load_kb()


@pytest.fixture(scope="session")
def graph_bot() -> Assistant:
    """The real kb without the retriever: graph queries only."""
    return Assistant.load(lazy=True)


@pytest.fixture(scope="session")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("index")


@pytest.fixture(scope="session")
def bot(index_dir: Path) -> Assistant:
    """The real kb, the real model and a real index built in a session temp folder."""
    return Assistant.load(index_dir=index_dir)


@pytest.fixture
def kb_copy(tmp_path: Path) -> Path:
    """A writable copy of the real kb's data folder."""
    dst = tmp_path / "kb"
    shutil.copytree(kbase.DEFAULT_KB_DIR, dst)
    return dst
