"""Errors of the question-answering side; all share `kb.RoadmapError` as their base."""

from __future__ import annotations

from kb import RoadmapError


class IndexStoreError(RoadmapError):
    """The stored index cannot be read or written."""


class BadQuestionError(RoadmapError, ValueError):
    """The question cannot be asked as given (empty, too long)."""
