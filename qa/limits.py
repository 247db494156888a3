"""Every input limit in one place, checked before any text processing, so no input makes work grow without bound.

The HTTP layer, the Gradio endpoints, the CLI and `Assistant` all call these; the README's limits table lists them.
"""

from __future__ import annotations

from collections.abc import Iterable

from kb import UnknownTopicError
from qa.errors import BadQuestionError

MAX_QUESTION_CHARS = 2000  # a long paragraph; learners' questions in the question sets stay under 400
MAX_HISTORY = 20  # earlier messages read back; a longer history keeps its newest ones
MAX_HISTORY_ITEM_CHARS = 2000  # each earlier message, as long as a question may be
MAX_KNOWN = 100  # topics the learner knows (the kb has under 200 concepts)
MAX_REF_CHARS = 200  # a topic id, title or alias (the longest kb title is under 80)
MAX_KNOWN_CHARS = 1000  # `known` as one comma-separated query parameter (GET); POST takes up to MAX_KNOWN refs
# The path and query; enforced by the HTTP layer. Anything the OpenAPI document allows fits, percent-encoded: a
# question of MAX_QUESTION_CHARS and MAX_KNOWN_CHARS of known topics, every character 4 UTF-8 bytes (12 URL chars).
MAX_URL_CHARS = 48 * 1024
MAX_BODY_BYTES = 128 * 1024  # a POST body (20 history items of 2,000 chars fit well within); 413 above


def check_question(question: object) -> str:
    """The question with its white space folded, or `BadQuestionError` when it is empty, not text, or too long."""
    if not isinstance(question, str):
        raise BadQuestionError("the question must be text")
    if len(question) > MAX_QUESTION_CHARS:
        raise BadQuestionError(f"the question is too long ({len(question)} characters; at most {MAX_QUESTION_CHARS})")
    question = " ".join(question.split())
    if not question:
        raise BadQuestionError("the question is empty: ask something about the ML-engineer roadmap")
    return question


def check_history(history: object) -> list[str]:
    """The non-empty earlier messages, newest `MAX_HISTORY` kept; `BadQuestionError` for a wrong type or a message
    over `MAX_HISTORY_ITEM_CHARS`."""
    if history is None:
        return []
    if isinstance(history, str) or not isinstance(history, (list, tuple)):
        raise BadQuestionError("history must be a list of earlier questions (strings), oldest first")
    recent = list(history)[-MAX_HISTORY:]
    for item in recent:
        if not isinstance(item, str):
            raise BadQuestionError("history must be a list of earlier questions (strings), oldest first")
        if len(item) > MAX_HISTORY_ITEM_CHARS:
            raise BadQuestionError(
                f"a history message is too long ({len(item)} characters; at most {MAX_HISTORY_ITEM_CHARS})"
            )
    return [h for h in recent if h.strip()]


def check_known(known: object) -> list[str]:
    """The known-topic refs as a list; `BadQuestionError` for a wrong type, too many, or one over `MAX_REF_CHARS`."""
    if known is None:
        return []
    if isinstance(known, str) or not isinstance(known, Iterable):
        raise BadQuestionError("known must be a list of topics (ids or titles)")
    out = list(known)
    if len(out) > MAX_KNOWN:
        raise BadQuestionError(f"too many known topics ({len(out)}; at most {MAX_KNOWN})")
    for ref in out:
        if not isinstance(ref, str):
            raise BadQuestionError("known must be a list of topics (ids or titles)")
        if len(ref) > MAX_REF_CHARS:
            raise BadQuestionError(f"a known topic is too long ({len(ref)} characters; at most {MAX_REF_CHARS})")
    return [r for r in out if r.strip()]


def check_ref(ref: object) -> str:
    """A topic reference, stripped; `UnknownTopicError` when empty, `BadQuestionError` when not text or too long."""
    if not isinstance(ref, str):
        raise BadQuestionError("a topic must be given as text")
    if len(ref) > MAX_REF_CHARS:
        raise BadQuestionError(f"the topic name is too long ({len(ref)} characters; at most {MAX_REF_CHARS})")
    if not ref.strip():
        raise UnknownTopicError(ref, reason="no topic given")
    return ref.strip()
