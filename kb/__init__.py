"""The ML-engineer roadmap as data: entries, validation, the prerequisite graph and name lookup.

`kb` imports nothing from `qa`; `qa` reads the kb only through the names exported here.
"""

from __future__ import annotations

from kb.errors import KbError, PrerequisiteCycleError, RoadmapError, UnknownTopicError
from kb.graph import learning_order, learning_path, next_topics, prerequisite_graph, prerequisites
from kb.loader import CATEGORIES, DEFAULT_KB_DIR, KnowledgeBase, load_kb
from kb.lookup import Mention, NameIndex
from kb.model import KINDS, Background, Kind, Topic

__all__ = [
    "CATEGORIES",
    "Background",
    "DEFAULT_KB_DIR",
    "KINDS",
    "KbError",
    "Kind",
    "KnowledgeBase",
    "Mention",
    "NameIndex",
    "PrerequisiteCycleError",
    "RoadmapError",
    "Topic",
    "UnknownTopicError",
    "learning_order",
    "learning_path",
    "load_kb",
    "next_topics",
    "prerequisite_graph",
    "prerequisites",
]
