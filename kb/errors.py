"""One error hierarchy for the whole project: callers catch `RoadmapError`, edges map children to messages."""

from __future__ import annotations

from collections.abc import Sequence


class RoadmapError(Exception):
    """Base class of every error roadmap-qa raises on purpose."""


class KbError(RoadmapError):
    """The knowledge base on disk is broken: names the file, the entry and the problem."""

    def __init__(self, file: str, entry: str | None, problem: str) -> None:
        self.file = file
        self.entry = entry
        self.problem = problem
        where = f"{file}: entry '{entry}'" if entry else file
        super().__init__(f"{where}: {problem}")


class PrerequisiteCycleError(KbError):
    """The prerequisite edges form a cycle; `cycle` lists its ids, first id repeated at the end."""

    def __init__(self, file: str, cycle: Sequence[str]) -> None:
        self.cycle = list(cycle)
        super().__init__(file, cycle[0], "prerequisite cycle (each needed before the next): " + " -> ".join(self.cycle))


class UnknownTopicError(RoadmapError, LookupError):
    """A topic reference matched nothing; `suggestions` holds the closest topic titles."""

    def __init__(self, ref: str, suggestions: Sequence[str] = (), reason: str | None = None) -> None:
        self.ref = ref
        self.suggestions = list(suggestions)
        msg = reason or f"unknown topic '{ref}'"
        if self.suggestions:
            msg += "; did you mean: " + ", ".join(self.suggestions) + "?"
        super().__init__(msg)
