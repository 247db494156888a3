"""Loading refuses a broken kb with one message naming the file, the entry and the problem."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from kb import KbError, PrerequisiteCycleError, load_kb
from tests.conftest import MINI_KB

GOOD = "Long enough text for a passage about this topic, written in full sentences."


def asks(id_: str, n: int = 6) -> str:
    return "[" + ", ".join(f'"situation {i} of entry{id_}"' for i in range(n)) + "]"


def concept(id_: str, **extra: object) -> str:
    fields: dict[str, object] = {
        "in_short": "A plain one-line version of this topic.",
        "example": "A worked example with real numbers, long enough to count as one.",
        "asks": asks(id_),
    }
    fields.update(extra)
    lines = [f"  - id: {id_}", f"    title: {id_.title()}", "    category: classical ML", f"    summary: {GOOD}"]
    lines += [f"    {k}: {v}" for k, v in fields.items() if v is not None]
    return "\n".join(lines)


FAQ_ASKS = f"    asks: {asks('the faq', 4)}\n"


BROKEN = {
    "missing field": (
        "concepts:\n  - id: a\n    title: A\n    category: classical ML\n",
        "a",
        "missing field 'summary'",
    ),
    "duplicate id": (f"concepts:\n{concept('a')}\n{concept('a')}\n", "a", "duplicate id"),
    "duplicate alias": (
        f"concepts:\n{concept('a', aliases='[shared name]')}\n{concept('b', aliases='[Shared-Name]')}\n",
        "b",
        "duplicate title or alias 'sharedname' (also used by 'a')",
    ),
    "unknown prerequisite": (f"concepts:\n{concept('a', prerequisites='[ghost]')}\n", "a", "unknown id 'ghost'"),
    "unknown about": (
        f"concepts:\n{concept('a')}\nfaq:\n  - id: q\n    question: Why?\n    answer: {GOOD}\n    about: [nope]\n{FAQ_ASKS}",
        "q",
        "'about' names unknown id 'nope'",
    ),
    "self-loop": (f"concepts:\n{concept('a', prerequisites='[a]')}\n", "a", "lists itself in 'prerequisites'"),
    "empty passage": (
        "concepts:\n  - id: a\n    title: A\n    category: classical ML\n    summary: ''\n",
        "a",
        "empty",
    ),
    "placeholder passage": (
        "concepts:\n  - id: a\n    title: A\n    category: classical ML\n    summary: TODO write this summary later on please\n",
        "a",
        "placeholder",
    ),
    "unknown field": (f"concepts:\n{concept('a', prerequisite='[b]')}\n", "a", "unknown field 'prerequisite'"),
    "unknown category": (
        f"concepts:\n  - id: a\n    title: A\n    category: astrology\n    summary: {GOOD}\n",
        "a",
        "unknown category 'astrology'",
    ),
    "bad id": (f"concepts:\n{concept('Big Id')}\n", "Big Id", "lowercase slug"),
    "prerequisite is a faq": (
        f"concepts:\n{concept('a', prerequisites='[q]')}\nfaq:\n  - id: q\n    question: Why?\n    answer: {GOOD}\n"
        f"    about: [a]\n{FAQ_ASKS}",
        "a",
        "'q', a faq, not a concept",
    ),
    "faq without about": (
        f"concepts:\n{concept('a')}\nfaq:\n  - id: q\n    question: Why?\n    answer: {GOOD}\n    about: []\n",
        "q",
        "at least one concept",
    ),
    "unknown section": (f"topics:\n{concept('a')}\n", None, "unknown section 'topics'"),
    "too few asks": (f"concepts:\n{concept('a', asks=asks('a', 5))}\n", "a", "at least 6 learner phrasings (has 5)"),
    "an ask twice in one entry": (
        f"concepts:\n{concept('a', asks='[' + ', '.join(['one ask', 'one  ask'] + [f'ask {i} here' for i in range(5)]) + ']')}\n",
        "a",
        "listed twice",
    ),
    "an ask shared by two entries": (
        f"concepts:\n{concept('a')}\n{concept('b', asks=asks('a'))}\n",
        "b",
        "is also an ask of 'a'",
    ),
    "asks that mostly name the concept": (
        f"concepts:\n{concept('a', asks='[' + ', '.join(f'what is A take {i}' for i in range(6)) + ']')}\n",
        "a",
        "6 of its 6 asks name it",
    ),
    "a one-word ask": (f"concepts:\n{concept('a', asks='[' + ', '.join(['why'] + [f'ask {i} here' for i in range(5)]) + ']')}\n", "a", "one word"),
    "in_short too long": (f"concepts:\n{concept('a', in_short='x' * 300)}\n", "a", "'in_short' must be one plain sentence"),
    "concepts without in_short or example": (
        f"concepts:\n{concept('a', in_short=None)}\n",
        "a",
        "have both 'in_short' and 'example'",
    ),
    "duplicate key": (
        f"concepts:\n{concept('a')}\n    title: Again\n",
        None,
        "duplicate key 'title'",
    ),
    "empty file": ("# nothing here yet\n", None, "the file is empty"),
    "background knows an unknown topic": (
        f"concepts:\n{concept('a')}\nbackgrounds:\n  - id: web-dev\n    title: Web developer\n    knows: [ghost]\n",
        "web-dev",
        "'knows' names unknown id 'ghost'",
    ),
    "background names clash": (
        f"concepts:\n{concept('a')}\nbackgrounds:\n  - id: web-dev\n    title: Web developer\n    knows: [a]\n"
        "  - id: frontend\n    title: Frontend\n    aliases: [web developer]\n    knows: [a]\n",
        "frontend",
        "also used by 'web-dev'",
    ),
}


@pytest.mark.parametrize("case", BROKEN, ids=list(BROKEN))
def test_broken_kb_names_file_entry_and_problem(tmp_path: Path, case: str) -> None:
    text, entry, problem = BROKEN[case]
    (tmp_path / "broken.yaml").write_text(text)
    with pytest.raises(KbError) as e:
        load_kb(tmp_path)
    msg = str(e.value)
    assert "broken.yaml" in msg
    if entry:
        assert f"entry '{entry}'" in msg
    assert problem in msg
    assert "\n" not in msg


def test_invalid_yaml_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("concepts:\n  - id: a\n    title: [unclosed\n")
    with pytest.raises(KbError, match=r"bad\.yaml: not valid YAML at line \d+"):
        load_kb(tmp_path)


def test_cycle_is_printed_in_order(tmp_path: Path) -> None:
    body = "\n".join(
        [concept("a", prerequisites="[c]"), concept("b", prerequisites="[a]"), concept("c", prerequisites="[b]")]
    )
    (tmp_path / "loop.yaml").write_text(f"concepts:\n{body}\n")
    with pytest.raises(PrerequisiteCycleError) as e:
        load_kb(tmp_path)
    assert e.value.cycle == ["a", "b", "c", "a"]
    assert "prerequisite cycle (each needed before the next): a -> b -> c -> a" in str(e.value)
    assert "loop.yaml" in str(e.value)


def test_duplicate_id_across_files_names_both(tmp_path: Path) -> None:
    (tmp_path / "one.yaml").write_text(f"concepts:\n{concept('a')}\n")
    (tmp_path / "two.yaml").write_text(f"concepts:\n{concept('a')}\n")
    with pytest.raises(KbError, match=r"two\.yaml: entry 'a': duplicate id \(also in .*one\.yaml\)"):
        load_kb(tmp_path)


def test_missing_folder_and_empty_folder_are_clear(tmp_path: Path) -> None:
    with pytest.raises(KbError, match="knowledge base folder not found"):
        load_kb(tmp_path / "nowhere")
    with pytest.raises(KbError, match="no .yaml files"):
        load_kb(tmp_path)


def test_mini_kb_loads_with_its_graph() -> None:
    kb = load_kb(MINI_KB)
    assert kb.stats() == {"concept": 5, "faq": 1, "misconception": 1, "prerequisite_edges": 4}
    assert kb.graph.edges["vectors", "models"]["relation"] == "prerequisite"
    assert kb.graph.edges["where-to-start", "algebra"]["relation"] == "about"


def test_content_hash_changes_with_any_edit(tmp_path: Path) -> None:
    shutil.copytree(MINI_KB, tmp_path / "kb")
    before = load_kb(tmp_path / "kb").content_hash
    f = tmp_path / "kb" / "concepts.yaml"
    f.write_text(f.read_text().replace("cancel out", "average out"))
    assert load_kb(tmp_path / "kb").content_hash != before


def test_a_fixed_file_loads_again(tmp_path: Path) -> None:
    f = tmp_path / "kb.yaml"
    f.write_text(textwrap.dedent(f"concepts:\n{concept('a', prerequisites='[a]')}\n"))
    with pytest.raises(KbError):
        load_kb(tmp_path)
    f.write_text(f"concepts:\n{concept('a')}\n")
    assert len(load_kb(tmp_path)) == 1


@pytest.mark.parametrize("line", ['{"intent": "prerequisites"}', "not json", '{"q": ""}', '["q"]'])
def test_a_broken_walks_file_names_the_file_and_line(kb_copy: Path, line: str) -> None:
    """`training/walks.jsonl` trains the walk model: a line it cannot read is named, not a traceback."""
    from qa.training import walk_questions

    walks = kb_copy / "training" / "walks.jsonl"
    walks.write_text('{"q": "what comes after pandas?", "intent": "next_topics"}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(KbError, match=r"training/walks\.jsonl: entry 'line 2': not a JSON object"):
        walk_questions(load_kb(kb_copy))
