"""Read the kb's YAML files, validate them and build the `KnowledgeBase`.

Every problem is reported as one `KbError` naming the file, the entry and what is wrong, so the first bad edit
stops the load instead of surfacing later as a wrong answer.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from kb.errors import KbError, PrerequisiteCycleError
from kb.model import KINDS, SECTION_KIND, Kind, Topic
from kb.names import compact

DEFAULT_KB_DIR = Path(__file__).resolve().parent / "data"

CATEGORIES: tuple[str, ...] = (
    "maths & statistics",
    "programming",
    "data preparation",
    "classical ML",
    "evaluation",
    "deep learning",
    "deployment & operations",
    "career & practice",
    "ethics",
)

# field -> (required, type) per kind; "list" means a list of strings.
_SCHEMA: dict[Kind, dict[str, tuple[bool, str]]] = {
    "concept": {
        "id": (True, "str"),
        "title": (True, "str"),
        "category": (True, "str"),
        "summary": (True, "str"),
        "aliases": (False, "list"),
        "prerequisites": (False, "list"),
        "related": (False, "list"),
    },
    "faq": {"id": (True, "str"), "question": (True, "str"), "answer": (True, "str"), "about": (True, "list")},
    "misconception": {"id": (True, "str"), "claim": (True, "str"), "reality": (True, "str"), "about": (True, "list")},
}
# Which raw fields become Topic.title and Topic.summary.
_TITLE_BODY: dict[Kind, tuple[str, str]] = {
    "concept": ("title", "summary"),
    "faq": ("question", "answer"),
    "misconception": ("claim", "reality"),
}

_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_PLACEHOLDER = re.compile(r"\b(todo|tbd|fixme|lorem ipsum|placeholder|xxx)\b|^\W*$", re.IGNORECASE)
MIN_BODY_CHARS = 40  # shorter than a sentence cannot be a passage a learner acts on


class KnowledgeBase:
    """The validated entries, their prerequisite graph and a content hash (for index staleness)."""

    def __init__(self, entries: Iterable[Topic], path: Path) -> None:
        from kb.graph import build_graph  # local: graph imports this module's types only at runtime

        self.path = path
        self.entries: tuple[Topic, ...] = tuple(entries)
        self.by_id: dict[str, Topic] = {t.id: t for t in self.entries}
        self.graph = build_graph(self.entries)
        self.content_hash = content_hash(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, topic_id: object) -> bool:
        return topic_id in self.by_id

    def __getitem__(self, topic_id: str) -> Topic:
        return self.by_id[topic_id]

    def of_kind(self, kind: Kind | None = None) -> list[Topic]:
        """Entries of one kind (all when `kind` is None), in file order."""
        if kind is not None and kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)} (got {kind!r})")
        return [t for t in self.entries if kind is None or t.kind == kind]

    def stats(self) -> dict[str, int]:
        """Counts of each kind of entry and of prerequisite edges."""
        counts = {k: len(self.of_kind(k)) for k in KINDS}
        counts["prerequisite_edges"] = sum(len(t.prerequisites) for t in self.entries)
        return counts


def content_hash(entries: Iterable[Topic]) -> str:
    """A stable hash of everything a kb says, so an index built from other content is detected as stale."""
    blob = json.dumps([t.to_dict() for t in sorted(entries, key=lambda t: t.id)], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def load_kb(path: str | Path | None = None) -> KnowledgeBase:
    """Load and validate every `*.yaml`/`*.yml` file under `path` (default: the packaged `kb/data`).

    Raises
    ------
    KbError
        The first problem found, naming the file, the entry and the problem.
    PrerequisiteCycleError
        The prerequisites form a cycle; the message prints it.
    """
    root = Path(path) if path is not None else DEFAULT_KB_DIR
    if not root.is_dir():
        raise KbError(str(root), None, "knowledge base folder not found")
    files = sorted(p for p in root.rglob("*") if p.suffix in {".yaml", ".yml"} and p.is_file())
    if not files:
        raise KbError(str(root), None, "no .yaml files in the knowledge base folder")
    entries: list[Topic] = []
    for f in files:
        entries.extend(_read_file(f, _display(f, root)))
    _check_whole(entries)
    return KnowledgeBase(entries, root)


def _display(f: Path, root: Path) -> str:
    try:
        return str(f.relative_to(root.parent))
    except ValueError:
        return str(f)


def _read_file(path: Path, name: str) -> list[Topic]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise KbError(name, None, f"not valid YAML{where}: {getattr(e, 'problem', e)}") from None
    except UnicodeDecodeError:
        raise KbError(name, None, "not UTF-8 text") from None
    if data is None:
        return []
    if not isinstance(data, dict):
        raise KbError(name, None, f"top level must be a mapping with keys {', '.join(SECTION_KIND)}")
    out: list[Topic] = []
    for section, items in data.items():
        if section not in SECTION_KIND:
            raise KbError(name, None, f"unknown section '{section}' (expected one of {', '.join(SECTION_KIND)})")
        if not isinstance(items, list):
            raise KbError(name, None, f"section '{section}' must be a list of entries")
        for i, raw in enumerate(items, 1):
            out.append(_parse_entry(raw, SECTION_KIND[section], name, f"{section}[{i}]"))
    return out


def _parse_entry(raw: Any, kind: Kind, file: str, position: str) -> Topic:
    if not isinstance(raw, dict):
        raise KbError(file, position, f"a {kind} entry must be a mapping of fields")
    label = raw.get("id") if isinstance(raw.get("id"), str) else position
    schema = _SCHEMA[kind]
    for key in raw:
        if key not in schema:
            raise KbError(file, label, f"unknown field '{key}' (a {kind} has: {', '.join(schema)})")
    values: dict[str, Any] = {}
    for key, (required, typ) in schema.items():
        value = raw.get(key)
        if value is None:
            if required:
                raise KbError(file, label, f"missing field '{key}'")
            value = [] if typ == "list" else None
        if typ == "str" and not isinstance(value, str):
            raise KbError(file, label, f"field '{key}' must be text")
        if typ == "list" and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            raise KbError(file, label, f"field '{key}' must be a list of text")
        values[key] = value.strip() if isinstance(value, str) else value
    if not _ID.match(values["id"]):
        raise KbError(file, label, "id must be a lowercase slug (letters, digits, single hyphens)")
    title_key, body_key = _TITLE_BODY[kind]
    if _PLACEHOLDER.search(values[title_key]):
        raise KbError(file, label, f"field '{title_key}' is empty or a placeholder")
    if _PLACEHOLDER.search(values[body_key]) or len(values[body_key]) < MIN_BODY_CHARS:
        raise KbError(file, label, f"field '{body_key}' is empty, too short or a placeholder")
    if kind == "concept" and values["category"] not in CATEGORIES:
        raise KbError(file, label, f"unknown category '{values['category']}' (one of: {', '.join(CATEGORIES)})")
    if kind != "concept" and not values["about"]:
        raise KbError(file, label, "field 'about' must name at least one concept")
    return Topic(
        id=values["id"],
        kind=kind,
        title=values[title_key],
        summary=" ".join(values[body_key].split()) if kind == "concept" else values[body_key],
        category=values.get("category"),
        aliases=tuple(a.strip() for a in values.get("aliases", []) if a.strip()),
        prerequisites=tuple(values.get("prerequisites", [])),
        related=tuple(values.get("related", [])),
        about=tuple(values.get("about", [])),
        source=file,
    )


def _check_whole(entries: list[Topic]) -> None:
    """Checks across entries: unique ids and names, references that resolve, no self-loops, no cycles."""
    by_id: dict[str, Topic] = {}
    for t in entries:
        if t.id in by_id:
            raise KbError(t.source, t.id, f"duplicate id (also in {by_id[t.id].source})")
        by_id[t.id] = t
    owner: dict[str, Topic] = {}
    for t in entries:
        if t.kind != "concept":
            continue
        for name in dict.fromkeys(compact(n) for n in (t.id, *t.names)):
            other = owner.get(name)
            if other is not None and other.id != t.id:
                raise KbError(t.source, t.id, f"duplicate title or alias '{name}' (also used by '{other.id}')")
            owner[name] = t
    for t in entries:
        for field_name in ("prerequisites", "related", "about"):
            for ref in getattr(t, field_name):
                if ref == t.id:
                    raise KbError(t.source, t.id, f"lists itself in '{field_name}'")
                target = by_id.get(ref)
                if target is None:
                    raise KbError(t.source, t.id, f"'{field_name}' names unknown id '{ref}'")
                if target.kind != "concept":
                    raise KbError(t.source, t.id, f"'{field_name}' names '{ref}', a {target.kind}, not a concept")
        both = set(t.prerequisites) & set(t.related)
        if both:
            raise KbError(t.source, t.id, f"'{sorted(both)[0]}' is both a prerequisite and related")
    from kb.graph import find_prerequisite_cycle

    cycle = find_prerequisite_cycle(entries)
    if cycle:
        raise PrerequisiteCycleError(by_id[cycle[0]].source, cycle)
