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
from kb.model import KINDS, SECTION_KIND, Background, Kind, Topic
from kb.names import compact, normalize

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
        "in_short": (False, "str"),
        "example": (False, "str"),
        "asks": (False, "list"),
    },
    "faq": {
        "id": (True, "str"),
        "question": (True, "str"),
        "answer": (True, "str"),
        "about": (True, "list"),
        "asks": (False, "list"),
    },
    "misconception": {
        "id": (True, "str"),
        "claim": (True, "str"),
        "reality": (True, "str"),
        "about": (True, "list"),
        "asks": (False, "list"),
    },
}
BACKGROUNDS = "backgrounds"  # the section of learner backgrounds (not entries: they are not answers)
_BACKGROUND_SCHEMA = {"id": (True, "str"), "title": (True, "str"), "aliases": (False, "list"), "knows": (True, "list")}
# Learner phrasings ("asks") an entry needs at least; they train the ranker and are searched as their own view.
MIN_ASKS: dict[Kind, int] = {"concept": 6, "faq": 4, "misconception": 4}
MAX_ASK_CHARS = 300
IN_SHORT_MAX_CHARS = 220  # one plain sentence
MIN_RICH_SHARE = 0.9  # at least this share of concepts has both `in_short` and `example`
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

    def __init__(self, entries: Iterable[Topic], path: Path, backgrounds: Iterable[Background] = ()) -> None:
        from kb.graph import build_graph  # local: graph imports this module's types only at runtime

        self.path = path
        self.entries: tuple[Topic, ...] = tuple(entries)
        self.backgrounds: tuple[Background, ...] = tuple(backgrounds)
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
    backgrounds: list[Background] = []
    for f in files:
        found, bgs = _read_file(f, _display(f, root))
        entries.extend(found)
        backgrounds.extend(bgs)
    _check_whole(entries)
    _check_backgrounds(backgrounds, {t.id: t for t in entries})
    return KnowledgeBase(entries, root, backgrounds)


def _display(f: Path, root: Path) -> str:
    try:
        return str(f.relative_to(root.parent))
    except ValueError:
        return str(f)


# libyaml's parser when PyYAML was built with it (the wheels are): the pure-Python one took 1.4 of the 2 s that
# loading the kb took once it held 3,456 learner phrasings, and a start on an unchanged kb must stay under a second.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _StrictLoader(_SafeLoader):  # type: ignore[misc, valid-type]
    """YAML's safe loader, refusing a key given twice in one mapping (YAML keeps the last one silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
            if isinstance(key, (str, int, float, bool)) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key '{key}' (first at line {seen[key] + 1})", key_node.start_mark
                )
            if isinstance(key, (str, int, float, bool)):
                seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


def _read_file(path: Path, name: str) -> tuple[list[Topic], list[Background]]:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_StrictLoader)  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise KbError(name, None, f"not valid YAML{where}: {getattr(e, 'problem', e)}") from None
    except UnicodeDecodeError:
        raise KbError(name, None, "not UTF-8 text") from None
    sections = ", ".join([*SECTION_KIND, BACKGROUNDS])
    if data is None:
        raise KbError(name, None, f"the file is empty (it must hold at least one of the sections {sections})")
    if not isinstance(data, dict):
        raise KbError(name, None, f"top level must be a mapping with keys {sections}")
    out: list[Topic] = []
    backgrounds: list[Background] = []
    for section, items in data.items():
        if section not in SECTION_KIND and section != BACKGROUNDS:
            raise KbError(name, None, f"unknown section '{section}' (expected one of {sections})")
        if not isinstance(items, list) or not items:
            raise KbError(name, None, f"section '{section}' must be a non-empty list of entries")
        for i, raw in enumerate(items, 1):
            if section == BACKGROUNDS:
                backgrounds.append(_parse_background(raw, name, f"{section}[{i}]"))
            else:
                out.append(_parse_entry(raw, SECTION_KIND[section], name, f"{section}[{i}]"))
    return out, backgrounds


def _fields(raw: Any, schema: dict[str, tuple[bool, str]], what: str, file: str, position: str) -> dict[str, Any]:
    """The fields of one raw entry checked against `schema` (required, "str" or "list" of str), stripped."""
    if not isinstance(raw, dict):
        raise KbError(file, position, f"a {what} entry must be a mapping of fields")
    label = raw.get("id") if isinstance(raw.get("id"), str) else position
    for key in raw:
        if key not in schema:
            raise KbError(file, label, f"unknown field '{key}' (a {what} has: {', '.join(schema)})")
    values: dict[str, Any] = {}
    for key, (required, typ) in schema.items():
        value = raw.get(key)
        if value is None:
            if required:
                raise KbError(file, label, f"missing field '{key}'")
            value = [] if typ == "list" else None
        if typ == "str" and value is not None and not isinstance(value, str):
            raise KbError(file, label, f"field '{key}' must be text")
        if typ == "list" and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            raise KbError(file, label, f"field '{key}' must be a list of text")
        values[key] = " ".join(value.split()) if isinstance(value, str) else value
    if not _ID.match(values["id"]):
        raise KbError(file, label, "id must be a lowercase slug (letters, digits, single hyphens)")
    return values


def _parse_background(raw: Any, file: str, position: str) -> Background:
    values = _fields(raw, _BACKGROUND_SCHEMA, "background", file, position)
    if _PLACEHOLDER.search(values["title"]):
        raise KbError(file, values["id"], "field 'title' is empty or a placeholder")
    if not values["knows"]:
        raise KbError(file, values["id"], "field 'knows' must name at least one concept")
    return Background(
        id=values["id"],
        title=values["title"],
        aliases=tuple(a.strip() for a in values["aliases"] if a.strip()),
        knows=tuple(values["knows"]),
        source=file,
    )


def _parse_entry(raw: Any, kind: Kind, file: str, position: str) -> Topic:
    values = _fields(raw, _SCHEMA[kind], kind, file, position)
    label = values["id"]
    title_key, body_key = _TITLE_BODY[kind]
    if _PLACEHOLDER.search(values[title_key]):
        raise KbError(file, label, f"field '{title_key}' is empty or a placeholder")
    if _PLACEHOLDER.search(values[body_key]) or len(values[body_key]) < MIN_BODY_CHARS:
        raise KbError(file, label, f"field '{body_key}' is empty, too short or a placeholder")
    if kind == "concept" and values["category"] not in CATEGORIES:
        raise KbError(file, label, f"unknown category '{values['category']}' (one of: {', '.join(CATEGORIES)})")
    if kind != "concept" and not values["about"]:
        raise KbError(file, label, "field 'about' must name at least one concept")
    _check_asks(values["asks"], kind, file, label)
    if kind == "concept":
        _check_rich(values, file, label)
    return Topic(
        id=values["id"],
        kind=kind,
        title=values[title_key],
        summary=values[body_key],
        category=values.get("category"),
        aliases=tuple(a.strip() for a in values.get("aliases", []) if a.strip()),
        prerequisites=tuple(values.get("prerequisites", [])),
        related=tuple(values.get("related", [])),
        about=tuple(values.get("about", [])),
        asks=tuple(" ".join(a.split()) for a in values["asks"]),
        in_short=values.get("in_short"),
        example=values.get("example"),
        source=file,
    )


def _check_asks(asks: list[str], kind: Kind, file: str, label: str) -> None:
    """Learner phrasings: enough of them, each a real question, none twice."""
    if len(asks) < MIN_ASKS[kind]:
        raise KbError(file, label, f"field 'asks' needs at least {MIN_ASKS[kind]} learner phrasings (has {len(asks)})")
    seen: set[str] = set()
    for ask in asks:
        if len(ask) > MAX_ASK_CHARS or _PLACEHOLDER.search(ask) or len(ask.split()) < 2:
            raise KbError(file, label, f"ask '{ask[:60]}' is empty, a placeholder, one word or over {MAX_ASK_CHARS} chars")
        key = normalize(ask)
        if key in seen:
            raise KbError(file, label, f"ask '{ask[:60]}' is listed twice")
        seen.add(key)


def _check_described(t: Topic) -> None:
    """At most half of a concept's asks may name it: the rest describe a situation, task or symptom, which is how
    learners who do not know the word yet ask."""
    names = [f" {normalize(n)} " for n in (*t.names, t.id.replace("-", " ")) if normalize(n)]
    padded = (f" {normalize(a)} " for a in t.asks)  # each ask normalized once, not once per name
    naming = [a for a in padded if any(n in a for n in names)]
    if len(naming) * 2 > len(t.asks):
        raise KbError(
            t.source,
            t.id,
            f"{len(naming)} of its {len(t.asks)} asks name it; at least half must describe a situation instead",
        )


def _check_rich(values: dict[str, Any], file: str, label: str) -> None:
    """A concept's `in_short` is one plain sentence; its `example` a few sentences."""
    short, example = values.get("in_short"), values.get("example")
    if short is not None and (len(short) > IN_SHORT_MAX_CHARS or len(short) < 20 or _PLACEHOLDER.search(short)):
        raise KbError(file, label, f"field 'in_short' must be one plain sentence of 20-{IN_SHORT_MAX_CHARS} characters")
    if example is not None and (len(example) < MIN_BODY_CHARS or _PLACEHOLDER.search(example)):
        raise KbError(file, label, "field 'example' is empty, too short or a placeholder")


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
    asked: dict[str, Topic] = {}
    for t in entries:
        for ask in t.asks:
            other = asked.setdefault(normalize(ask), t)
            if other.id != t.id:
                raise KbError(t.source, t.id, f"ask '{ask[:60]}' is also an ask of '{other.id}' ({other.source})")
    concepts = [t for t in entries if t.kind == "concept"]
    for t in concepts:
        _check_described(t)
    rich = sum(1 for t in concepts if t.in_short and t.example)
    if concepts and rich < MIN_RICH_SHARE * len(concepts):
        poor = next(t for t in concepts if not (t.in_short and t.example))
        raise KbError(
            poor.source,
            poor.id,
            f"only {rich} of {len(concepts)} concepts have both 'in_short' and 'example' "
            f"(at least {MIN_RICH_SHARE:.0%} must); this one lacks one",
        )
    from kb.graph import find_prerequisite_cycle

    cycle = find_prerequisite_cycle(entries)
    if cycle:
        raise PrerequisiteCycleError(by_id[cycle[0]].source, cycle)


def _check_backgrounds(backgrounds: list[Background], by_id: dict[str, Topic]) -> None:
    """Unique ids and names across backgrounds; `knows` names concepts."""
    owner: dict[str, str] = {}
    for b in backgrounds:
        if b.id in {o for o in owner.values()}:
            raise KbError(b.source, b.id, "duplicate background id")
        for name in {compact(n) for n in (b.id, *b.names)}:
            if owner.setdefault(name, b.id) != b.id:
                raise KbError(b.source, b.id, f"background name '{name}' is also used by '{owner[name]}'")
        for ref in b.knows:
            target = by_id.get(ref)
            if target is None:
                raise KbError(b.source, b.id, f"'knows' names unknown id '{ref}'")
            if target.kind != "concept":
                raise KbError(b.source, b.id, f"'knows' names '{ref}', a {target.kind}, not a concept")
