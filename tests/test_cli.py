"""The command line: shapes of --json output, readable text, and one clear line for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from qa.cli import cli
from tests.conftest import FIXTURES


@pytest.fixture
def run(index_dir: Path, bot):  # type: ignore[no-untyped-def]
    """Invoke the CLI in-process, pointed at the session's index (built by the `bot` fixture)."""
    runner = CliRunner()

    def invoke(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(cli, list(args), env={"ROADMAP_QA_INDEX_DIR": str(index_dir)}, catch_exceptions=False)

    return invoke


def test_prereqs_all_prints_a_valid_learning_order(run, graph_bot) -> None:  # type: ignore[no-untyped-def]
    result = run("prereqs", "cnn", "--all", "--json")
    assert result.exit_code == 0
    ids = [t["id"] for t in json.loads(result.stdout)]
    assert {"linear-algebra", "neural-networks", "deep-learning"} <= set(ids)
    for i, topic in enumerate(ids):
        for p in graph_bot.kb[topic].prerequisites:
            assert p in ids[:i], f"{p} must come before {topic}"
    text = run("prereqs", "cnn", "--all").stdout
    assert text.splitlines()[0].startswith(" 1. ")


def test_path_skips_what_is_known_and_ends_at_the_target(run) -> None:  # type: ignore[no-untyped-def]
    result = run("path", "deep learning", "--known", "python", "--json")
    ids = [t["id"] for t in json.loads(result.stdout)]
    assert ids[-1] == "deep-learning"
    assert "python" not in ids
    assert "neural-networks" in ids


def test_next_and_topics(run) -> None:  # type: ignore[no-untyped-def]
    nxt = [t["id"] for t in json.loads(run("next", "decision trees", "--json").stdout)]
    assert {"random-forests", "ensemble-learning"} & set(nxt)
    entries = json.loads(run("topics", "--json").stdout)
    assert {"id", "kind", "title", "summary"} <= set(entries[0])
    kinds = {e["kind"] for e in entries}
    assert kinds == {"concept", "faq", "misconception"}
    assert "concept" in run("topics").stdout


def test_ask_json_is_the_answer_shape(run) -> None:  # type: ignore[no-untyped-def]
    result = run("ask", "What is transfer learning?", "--json")
    body = json.loads(result.stdout)
    assert body["topic"]["id"] == "transfer-learning"
    assert body["intent"] == "definition"
    assert run("ask", "What is transfer learning?").stdout.startswith("**Transfer learning**")


def test_ask_with_history_resolves_the_follow_up(run) -> None:  # type: ignore[no-untyped-def]
    result = run("ask", "what comes after that?", "--history", "What is Docker?", "--json")
    assert json.loads(result.stdout)["topic"]["id"] == "docker"


def test_eval_reports_each_figure_and_lists_failures(run) -> None:  # type: ignore[no-untyped-def]
    result = run("eval", str(FIXTURES / "eval_small.jsonl"), "-v")
    assert result.exit_code == 0
    for figure in ("Hit@1", "Hit@3", "MRR", "prereq", "next", "oos", "confident", "all"):
        assert figure in result.stdout
    assert "all        0.800  (4/5)" in result.stdout
    assert "FAIL [top] 'What is a CNN?'" in result.stdout
    report = json.loads(run("eval", str(FIXTURES / "eval_small.jsonl"), "--json").stdout)
    assert report["metrics"]["oos"] == {"value": 1.0, "n": 1, "hits": 1}


def test_build_index_reports_what_it_did(run) -> None:  # type: ignore[no-untyped-def]
    assert "index loaded" in run("build-index").stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["prereqs", "quantum knitting"], "unknown topic 'quantum knitting'; did you mean:"),
        (["next", "zzzz"], "unknown topic 'zzzz'"),
        (["path", "deep learning", "--known", "astrology"], "unknown topic 'astrology'"),
        (["prereqs", "become-ml-engineer"], "is a faq entry, not a roadmap concept"),
        (["ask", "   "], "the question is empty"),
        (["eval", "no/such/file.jsonl"], "no such question file"),
        (["ask", "What is SQL?", "--retriever", "hybrid"], None),
    ],
)
def test_bad_input_exits_with_one_clear_line(args: list[str], message: str | None, index_dir: Path, bot) -> None:  # type: ignore[no-untyped-def]
    proc = subprocess.run(
        [sys.executable, "-m", "qa", *args],
        capture_output=True,
        text=True,
        env={"ROADMAP_QA_INDEX_DIR": str(index_dir), "PATH": "/usr/bin:/bin", "HOME": str(index_dir)},
        timeout=120,
    )
    if message is None:
        assert proc.returncode == 0, proc.stderr
        return
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and message in lines[0], proc.stderr


def test_a_broken_eval_file_names_the_line(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "bad.jsonl"
    f.write_text('{"q": "What is a CNN?", "check": "top", "expect": "cnn"}\n{"q": "x", "check": "vibes"}\n')
    result = CliRunner().invoke(cli, ["eval", str(f)])
    assert result.exit_code == 1
    assert f"{f}:2: 'check' must be one of top, prereq, next, oos" in result.output
