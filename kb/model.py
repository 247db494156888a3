"""The entry type every kb file loads into."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["concept", "faq", "misconception"]
KINDS: tuple[Kind, ...] = ("concept", "faq", "misconception")

# The top-level key of a kb file that holds each kind of entry.
SECTION_KIND: dict[str, Kind] = {"concepts": "concept", "faq": "faq", "misconceptions": "misconception"}


@dataclass(frozen=True)
class Topic:
    """One kb entry. `title` is a concept's title, a FAQ's question or a misconception's claim;
    `summary` is the concept summary, the FAQ answer or the misconception's correction."""

    id: str
    kind: Kind
    title: str
    summary: str
    category: str | None = None
    aliases: tuple[str, ...] = ()
    prerequisites: tuple[str, ...] = ()
    related: tuple[str, ...] = ()
    about: tuple[str, ...] = ()
    asks: tuple[str, ...] = ()  # learner phrasings whose best answer is this entry
    in_short: str | None = None  # concepts: one plain sentence
    example: str | None = None  # concepts: a concrete worked example
    source: str = field(default="", compare=False)

    @property
    def names(self) -> tuple[str, ...]:
        """Every name a learner may use for this entry: the title, then the aliases."""
        return (self.title, *self.aliases)

    @property
    def text(self) -> str:
        """The passage searched for this entry: its title followed by its body."""
        return f"{self.title}\n{self.summary}"

    def ref(self) -> dict[str, str]:
        """The short form used in answers and graph results."""
        return {"id": self.id, "title": self.title}

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "kind": self.kind, "title": self.title, "summary": self.summary}
        if self.kind == "concept":
            d |= {
                "category": self.category,
                "aliases": list(self.aliases),
                "prerequisites": list(self.prerequisites),
                "related": list(self.related),
                "in_short": self.in_short,
                "example": self.example,
            }
        else:
            d["about"] = list(self.about)
        d["asks"] = list(self.asks)
        return d


@dataclass(frozen=True)
class Background:
    """A learner background ("web developer", "data analyst"): the concepts such a learner usually knows."""

    id: str
    title: str
    aliases: tuple[str, ...]
    knows: tuple[str, ...]
    source: str = field(default="", compare=False)

    @property
    def names(self) -> tuple[str, ...]:
        return (self.title, *self.aliases)

    def ref(self) -> dict[str, str]:
        return {"id": self.id, "title": self.title}

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "aliases": list(self.aliases), "knows": list(self.knows)}
