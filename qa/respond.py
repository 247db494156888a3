"""The last step of a turn: from what the question asks (`Turn`) and how the kb ranks for it (`Ranking`) to the
`Answer`: which entry leads, which topics come before and after it, and whether the kb backs it at all."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import kb as kbase
from kb import Topic
from qa.answer import (
    Answer,
    compare_text,
    compose,
    greeting,
    needs_topic,
    out_of_scope,
    path_text,
)
from qa.intent import GRAPH_INTENTS
from qa.retrieve import Passage, Ranking
from qa.understand import START_STEPS, Turn

if TYPE_CHECKING:
    from qa.assistant import Assistant

SOURCE_SHARE = 0.5  # passages the ranker finds at least half as likely as the best one are cited as sources
MAX_SOURCES = 3
# A graph question that names its topic is answered from the graph though the scope model is unsure ("prerequisites
# for attention and transformers?"), but not when it is nearly sure the question is elsewhere: "how do i become a
# docker at felixstowe port, do i need a forklift licence first?" names Docker and scores 0.031. The lowest in-scope
# question of this kind in the training data scores 0.073 ("I'm switching careers from retail management. Before I
# start a portfolio project, which skills..."); on the tuning sets every one scores 0.85 or more.
NAMED_GRAPH_FLOOR = 0.05
_KIND_INTENT = {"concept": "definition", "faq": "faq", "misconception": "misconception"}


def respond(bot: Assistant, turn: Turn, ranking: Ranking | None) -> Answer:
    """The answer to `turn`. A turn about a topic the question or the conversation names is backed by the graph;
    any other is backed only when the scope model is confident the kb answers it."""
    if turn.chat is not None:
        return _unanswered(turn, "out_of_scope", greeting(turn.chat, bot.starting_points()))
    if turn.needs_topic or ranking is None:
        return _unanswered(turn, turn.intent or "out_of_scope", needs_topic(turn.intent, bot.starting_points()))
    kb = bot.kb
    if turn.intent == "comparison" and not _corrected(ranking):
        return _comparison(bot, turn, ranking)
    # Near an off-topic kind and not leaning on the conversation (no target, or one it names or its background
    # gives, not the conversation's topic): refused.
    from_conversation = turn.target is not None and turn.background is None and not turn.default_goal and (
        turn.target not in {m.id for m in turn.mentions}
    )
    vetoed = ranking.like_off_topic and not from_conversation
    named = not turn.default_goal and (from_conversation or ranking.in_scope >= NAMED_GRAPH_FLOOR)
    backed = (ranking.confident or named) and not vetoed
    if turn.intent in GRAPH_INTENTS and turn.target is not None and backed and not _belief(turn, ranking):
        return _graph(bot, turn, ranking)
    if turn.style in ("short", "example", "about") and turn.target is not None:
        lead = kb[turn.target]
        return _about(bot, turn, "definition", lead, lead, ranking.passages, style=turn.style)
    if not ranking.confident or vetoed:
        return _unanswered(turn, "out_of_scope", out_of_scope(bot.starting_points()), ranking.passages)
    passages = ranking.passages
    lead = kb[passages[0].id]
    topic = lead if lead.kind == "concept" else kb[turn.target if turn.target in lead.about else lead.about[0]]
    return _about(bot, turn, _KIND_INTENT[lead.kind], lead, topic, passages)


def _corrected(ranking: Ranking) -> bool:
    """The ranker is confident, and surer than not, that a misconception answers the question: it does, even where
    two concepts are named either side of "or" ("neural nets beat everything now, so why would I bother learning
    random forests or logistic regression at all?" leans on a belief, it asks for no comparison)."""
    top = ranking.passages[0] if ranking.passages else None
    return bool(ranking.confident and top and top.kind == "misconception" and top.score >= 0.5)


def _belief(turn: Turn, ranking: Ranking) -> bool:
    """A question that states a belief the kb corrects ("finish a maths course before I touch sklearn, right?") is
    answered with the correction, whatever graph words it uses."""
    top = ranking.passages[0] if ranking.passages else None
    return bool(turn.cues and turn.cues.belief and ranking.confident and top and top.kind == "misconception")


def _about(
    bot: Assistant,
    turn: Turn,
    intent: str,
    lead: Topic,
    topic: Topic,
    passages: Sequence[Passage],
    style: str | None = None,
) -> Answer:
    """An explanation led by one entry, with what its concept needs first and what it unlocks."""
    g = bot.kb.graph
    known = set(turn.known)
    before = [t for t in _topics(bot, kbase.prerequisites(g, topic.id)) if t.id not in known]
    after = _topics(bot, kbase.next_topics(g, topic.id, known=turn.known))
    if lead.kind == "concept" and lead.id not in {p.id for p in passages}:
        passages = [Passage(lead.id, lead.kind, lead.title, lead.summary, 1.0), *passages][: len(passages) or 1]
    text = compose(intent, lead, topic, before, after, _sources(passages, lead), style=style)
    return _answer(bot, turn, intent, text, topic, passages, before, after)


def _graph(bot: Assistant, turn: Turn, ranking: Ranking) -> Answer:
    """Before, after, or a learning path: the graph answers; a follow-up steps on from what was listed."""
    g = bot.kb.graph
    topic = bot.kb[turn.target]  # type: ignore[index]
    known = list(turn.known)
    skip = set(turn.skip) | set(known)
    passages = _lead_first(bot, topic, ranking, turn.default_goal)
    intent = turn.intent or "prerequisites"
    before: list[Topic] = []
    after: list[Topic] = []
    note = ""
    if intent == "learning_path":
        path = _topics(bot, kbase.learning_path(g, topic.id, known=known))
        if turn.style == "steps":
            # A first path shows a few steps; "and after that?" the next few.
            rest = [t for t in path if t.id not in skip]
            before, later = rest[:START_STEPS], rest[START_STEPS:]
            note = f"{len(later)} more steps after these: ask \"and after that?\"" if later else ""
        else:
            before = path[:-1] if path and path[-1].id == topic.id else path
        said = [bot.kb[k] for k in known if k not in turn.assumed]
        text = path_text(topic, before, [bot.kb[k] for k in turn.assumed], turn.background, known, note, said)
        after = _topics(bot, kbase.next_topics(g, topic.id, known=known))
        return _answer(bot, turn, intent, text, topic, passages, before, after)
    if turn.expand:
        # "and before that?": what the topics just listed stand on; "and after that?": what they unlock.
        step = kbase.prerequisites if intent == "prerequisites" else kbase.next_topics
        ids = [i for t in turn.expand for i in step(g, t) if i not in skip]
        found = list(dict.fromkeys(ids))
        listed = _topics(bot, kbase.learning_order(g, found) if intent == "prerequisites" else found)
        before, after = (listed, []) if intent == "prerequisites" else ([], listed)
        text = compose(intent, None, topic, before, after, [], further=True)
        return _answer(bot, turn, intent, text, topic, passages, before, after)
    # A topic the learner knows stands on nothing left to learn ("I know NumPy, what next?" lists no Python first)
    before = [t for t in _topics(bot, kbase.prerequisites(g, topic.id)) if t.id not in known and topic.id not in known]
    after = _topics(bot, kbase.next_topics(g, topic.id, known=known))
    transitive = len(kbase.learning_path(g, topic.id, known=known)) - 1 if intent == "prerequisites" else 0
    text = compose(intent, None, topic, before, after, _sources(passages, topic), transitive_count=transitive)
    return _answer(bot, turn, intent, text, topic, passages, before, after)


def _comparison(bot: Assistant, turn: Turn, ranking: Ranking) -> Answer:
    """Two concepts side by side: each in short, what they share in the graph, and how they differ."""
    g = bot.kb.graph
    a, b = (bot.kb[i] for i in turn.compared)
    shared = [t for t in _topics(bot, kbase.prerequisites(g, a.id)) if t.id in set(kbase.prerequisites(g, b.id))]
    top = ranking.passages[0] if ranking.passages else None
    entry = bot.kb[top.id] if top and ranking.confident and top.kind != "concept" else None
    if entry is not None and set(entry.about) & set(turn.compared):
        # The kb has an entry on this very comparison ("AWS, Azure or GCP?"): it leads, the two follow.
        passages = list(ranking.passages)
    else:
        entry = None
        passages = sorted(_topic_first(a, _topic_first(b, ranking.passages)), key=lambda p: p.id not in turn.compared)
    text = compare_text(a, b, shared, _sources(passages, entry or a), lead=entry)
    after = _topics(bot, kbase.next_topics(g, a.id, known=turn.known))
    before = [t for t in _topics(bot, kbase.prerequisites(g, a.id)) if t.id not in set(turn.known)]
    return _answer(bot, turn, "comparison", text, a, passages, before, after, compared=[a, b])


def _answer(
    bot: Assistant,
    turn: Turn,
    intent: str,
    text: str,
    topic: Topic,
    passages: Sequence[Passage],
    before: Sequence[Topic],
    after: Sequence[Topic],
    compared: Sequence[Topic] = (),
) -> Answer:
    return Answer(
        question=turn.question,
        intent=intent,
        confident=True,
        answer=text,
        topic=topic.ref(),
        passages=list(passages),
        prerequisites=[t.ref() for t in before],
        next_topics=[t.ref() for t in after],
        compared=[t.ref() for t in compared],
        assumed_known=[bot.kb[k].ref() for k in turn.assumed],
    )


def _unanswered(turn: Turn, intent: str, text: str, passages: Sequence[Passage] = ()) -> Answer:
    """An answer the kb does not back (confident is False): off topic, small talk, or a topic to name."""
    return Answer(question=turn.question, intent=intent, confident=False, answer=text, topic=None,
                  passages=list(passages))  # fmt: skip


def _topics(bot: Assistant, ids: Sequence[str]) -> list[Topic]:
    return [bot.kb[i] for i in ids]


def _lead_first(bot: Assistant, topic: Topic, ranking: Ranking, default_goal: bool = False) -> list[Passage]:
    """The passages of a graph answer: the topic's own first, unless the ranker is sure the question is an FAQ entry
    about that topic ("what's the path to an ML engineer job?" is "How do I become a machine learning engineer?"), or
    about anything when the learner named no goal and the path's end is our default ("where do I even start?")."""
    top = ranking.passages[0] if ranking.passages else None
    if top is not None and ranking.confident and top.kind == "faq" and (default_goal or topic.id in bot.kb[top.id].about):
        return list(ranking.passages)
    return _topic_first(topic, ranking.passages)


def _topic_first(topic: Topic, passages: Sequence[Passage]) -> list[Passage]:
    """The passages with the topic's own first (added when the search did not find it)."""
    own = [p for p in passages if p.id == topic.id] or [Passage(topic.id, topic.kind, topic.title, topic.summary, 1.0)]
    return [*own, *(p for p in passages if p.id != topic.id)][: max(len(passages), 1)]


def _sources(passages: Sequence[Passage], lead: Topic) -> list[Passage]:
    """The passages an answer cites: the lead's own, then those the ranker found nearly as likely."""
    if not passages:
        return []
    top = passages[0].score
    cited = [p for p in passages if p.score >= SOURCE_SHARE * top][:MAX_SOURCES]
    if lead.id not in {p.id for p in cited}:
        cited = [p for p in passages if p.id == lead.id][:1] + cited[: MAX_SOURCES - 1]
    return cited
