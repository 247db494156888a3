"""Fuzzing: Hypothesis on the Python API (only documented errors, ever), schemathesis on the live REST API (every
operation, every check, zero failures), and every text-processing step on 1 MB inputs within a time budget."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kb import RoadmapError, UnknownTopicError
from qa.errors import BadQuestionError

# Any value a caller might pass: text of any script (control characters, surrogates' neighbours), numbers, lists.
TEXT = st.text(max_size=300) | st.sampled_from(["", " ", "cnn", "deep learning", "and before that?", "-" * 50])
ANY = TEXT | st.none() | st.integers() | st.lists(TEXT, max_size=5) | st.binary(max_size=20)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(question=ANY, history=ANY | st.lists(TEXT, max_size=25), known=ANY)
def test_ask_answers_or_raises_a_documented_error(bot, question, history, known) -> None:  # type: ignore[no-untyped-def]
    try:
        answer = bot.ask(question, history=history, known=known).to_dict()
    except (BadQuestionError, UnknownTopicError):
        return
    assert answer["intent"] and isinstance(answer["confident"], bool)


@FUZZ
@given(ref=ANY)
def test_topic_finds_an_entry_or_raises_a_documented_error(bot, ref) -> None:  # type: ignore[no-untyped-def]
    try:
        assert bot.topic(ref).id
    except (BadQuestionError, UnknownTopicError) as e:
        assert str(e)


@FUZZ
@given(target=ANY, known=ANY)
def test_learning_path_ends_at_its_target_or_raises_a_documented_error(bot, target, known) -> None:  # type: ignore[no-untyped-def]
    try:
        path = bot.learning_path(target, known=known)
    except (BadQuestionError, UnknownTopicError):
        return
    if path:
        assert path[-1].id == bot.concept(target).id


MB = 1_000_000
# Seconds for any step on 1 MB. Linear steps take 0-20 s on a loaded 2-core machine (the word-window scan of
# names.mentions is the slowest); a quadratic one would take hours. Served inputs are capped far lower (qa/limits.py).
BUDGET = 60.0


def _inputs() -> dict[str, str]:
    return {
        "letters": "a" * MB,
        "hyphens": "-" * MB,
        "words": "deep learning " * (MB // 14),
        "hyphenated": "state-of-the-art " * (MB // 17),
        "unicode": "é漢🙂" * (MB // 3),
        "spaces": " " * MB,
    }


def _steps(bot):  # type: ignore[no-untyped-def]
    """Every function that reads a learner's text, by name."""
    from qa import intent, limits
    from qa.answer import first_sentence
    from qa.lexical import Lexical

    lexical = Lexical(list(bot.kb.entries))
    return {
        "limits.check_question": lambda s: _documented(limits.check_question, s),
        "limits.check_history": lambda s: _documented(limits.check_history, [s] * 30),
        "limits.check_known": lambda s: _documented(limits.check_known, [s]),
        "limits.check_ref": lambda s: _documented(limits.check_ref, s),
        "intent.small_talk": intent.small_talk,
        "intent.parse": lambda s: intent.parse(s, bot.names),
        "names.mentions": bot.names.mentions,
        "names.resolve": lambda s: _documented(bot.names.resolve, s),
        "names.suggest": bot.names.suggest,
        "lexical.tokenize": lexical.tokenize,
        "lexical.known_share": lexical.known_share,
        "answer.first_sentence": first_sentence,
    }


def _documented(fn, arg):  # type: ignore[no-untyped-def]
    try:
        return fn(arg)
    except RoadmapError:
        return None


@pytest.mark.parametrize("kind", list(_inputs()))
def test_every_text_step_handles_a_megabyte_within_budget(graph_bot, kind: str) -> None:  # type: ignore[no-untyped-def]
    text = _inputs()[kind]
    for name, step in _steps(graph_bot).items():
        started = time.perf_counter()
        try:
            step(text)
        except (AttributeError, TypeError) as e:
            pytest.fail(f"{name} failed on 1 MB of {kind}: {e}")
        took = time.perf_counter() - started
        assert took < BUDGET, f"{name} took {took:.1f}s on 1 MB of {kind} (budget {BUDGET}s): super-linear?"


def test_schemathesis_finds_nothing_in_the_live_api(server: str, tmp_path: Path) -> None:
    """Every operation, every check, against the real server on loopback; zero failures."""
    st_bin = Path(sys.executable).with_name("st")
    done = subprocess.run(
        [str(st_bin), "run", f"{server}/api/openapi.json", "--url", f"{server}/api", "--checks", "all",
         "--max-examples", "40", "--workers", "1", "--seed", "7", "--no-color"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )  # fmt: skip
    tail = "\n".join(done.stdout.splitlines()[-40:])
    assert done.returncode == 0, tail
    selected = re.search(r"Selected: (\d+)/(\d+)", done.stdout)
    assert selected and selected.group(1) == selected.group(2), tail  # every operation tested
