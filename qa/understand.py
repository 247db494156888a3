"""Understanding one turn: what the question asks (its intent), which topics it is about, and what it leaves to the
conversation's state ("and before that?", "the second one", "explain it more simply").

A question that names its own subject or intent overrides the history; the state fills in only what it leaves out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import kb as kbase
from kb import Background, KnowledgeBase, Mention, NameIndex, UnknownTopicError
from kb.names import normalize
from qa.features import Cues
from qa.intent import GRAPH_INTENTS, asked_part, parse, pick_target, small_talk
from qa.state import State

# Where a first learning path leads when the learner names no goal: the whole job, from foundations to production.
START_GOAL = "mlops"
START_STEPS = 6  # a first path shows this many steps; "and after that?" continues it
SHORT_FOLLOW_UP = 8  # a graph question this short with a pronoun and no history asks which topic; longer ones search

_SIMPLER = re.compile(
    r"\b(simpler|simply|more simple|eli5|like i'?m (five|5|a kid)|in one (line|sentence)|plain (english|words)|"
    r"dumb(ed)? (it )?down|layman'?s?|in short|tl;?dr|short version|easier way)\b",
    re.IGNORECASE,
)
_EXAMPLE = re.compile(
    r"\b(examples?|for instance|show me|concrete(ly)?|real[- ]world case|in practice|worked case)\b", re.IGNORECASE
)
_ORDINAL = re.compile(
    r"\b(?:the )?(first|second|third|fourth|fifth|sixth|last|1st|2nd|3rd|4th|5th|6th)(?: one| topic| item| thing|$)|"
    r"\b(?:number|no\.?|#) ?([1-8])\b",
    re.IGNORECASE,
)
_ORDINALS = {"first": 0, "1st": 0, "second": 1, "2nd": 1, "third": 2, "3rd": 2, "fourth": 3, "4th": 3}
_ORDINALS |= {"fifth": 4, "5th": 4, "sixth": 5, "6th": 5, "last": -1}
_WHOLE_PATH = re.compile(r"\b(whole|full|entire|complete) (path|thing|list|roadmap|way)\b", re.IGNORECASE)
# "different" contrasts when it is the predicate ("how is X different from Y", "are they different?", "what's
# different between"), not when it qualifies a noun ("with different learning rates", "dates in three different
# formats"), which is how most stories use it.
_DIFFERENT = (
    r"different(ly)?(?=\s+(from|than|to|between|about|in what way)\b|\s*([?.!,;:)]|$))|"
    r"(are|is|were) (they|these|those|both|the two|it|this|that) ((really|actually|even|just|so) )?different"
)
_COMPARE = re.compile(
    rf"\b(vs\.?|versus|difference|differences|differ|{_DIFFERENT}|compared?( to| with)?|comparison|better than|or)\b",
    re.IGNORECASE,
)
# "X or Y?" with a verb of choosing asks which to pick, as does "when should I use X instead of Y or Z?" (Y or Z
# are the alternatives, not a pair to compare); "difference", "vs" ask how they differ.
_CHOICE = re.compile(r"\bor\b.*\bfirst\b|\b(instead of|rather than)\b", re.IGNORECASE)
_VERSUS = re.compile(r"\b(vs\.?|versus)\b", re.IGNORECASE)
_CONTRAST = re.compile(rf"\b(vs\.?|versus|difference|differences|differ|{_DIFFERENT}|compared?|comparison)\b", re.I)
_START = re.compile(
    r"\b(where (do|should|can|would) i (even )?(start|begin)|(complete|total|absolute) (beginner|newbie|noob)|"
    r"first steps?|how (do|should|can) i (get )?start(ed)?|starting from (zero|nothing)|know nothing)\b",
    re.IGNORECASE,
)
# "My csv has duplicates and three date formats, where do I start?" asks where to start on a task of their own, not
# where to start learning: the ranking answers it, unless the question also speaks of learning or a career.
_OWN_TASK = re.compile(
    r"\b(my|our)\s+(\w+\s+){0,2}(data|dataset|datasets|csv|table|tables|model|models|pipeline|code|app|database|"
    r"spreadsheet|files?|columns?|features|labels|results|server|api|service|predictions|project|images|logs)\b",
    re.IGNORECASE,
)
# "...flag readings that look unusual before a bearing goes. What's this approach called and where do I start?" asks
# for the name of what it describes: the ranking answers it, like a task of one's own.
_NAME_ASK = re.compile(
    r"\b(what('?s| is| are)( this| that| it)( \w+)? called|is there a (name|term|word) for|what('?s| is) the (name|term) "
    r"for|what (technique|method|approach|kind of (model|problem|method|technique)) (is|should|would|do|does|can))\b",
    re.IGNORECASE,
)
_LEARNING = re.compile(
    r"\b(learn|learning|study|studying|career|job|beginner|become|roadmap|course|degree|engineer|machine learning|ml|ai)\b",
    re.IGNORECASE,
)


def _own_problem(question: str) -> bool:
    return bool(_OWN_TASK.search(question) or _NAME_ASK.search(question)) and not _LEARNING.search(question)


# A stated background asks for a path only with a question about getting somewhere ("I'm a web developer, how do I
# get into ML engineering?"); "I'm a QA engineer ... how do you check whether a trained model is any good?" asks its
# own question, which the ranking answers (the background still says what they know).
_GOAL_ASK = re.compile(
    r"\b(get(ting)? into|break(ing)? into|become|becoming|switch(ing)?|mov(e|ing) (in)?to|transition(ing)?|"
    r"career|learn|learning|study|studying|start|begin|roadmap|path|route|prepare|next|need to know)\b",
    re.IGNORECASE,
)


_BACKGROUND_CUE = re.compile(
    r"\b(i'?m an?|i am an?|i work as an?|i'?ve been an?|as an?|coming from|my background is( in)?|i'?m a former|"
    r"background in|i was an?|currently an?|working as an?|i have an?|i'?ve got an?|i hold an?|i studied|"
    r"i build|i make|i write|i develop|my degree is in|i graduated in|i did an?)\s+(?P<said>.{2,60})",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Turn:
    """One question, understood: what it asks, about which topics, and how the answer should read."""

    question: str
    intent: str | None  # a graph intent, "comparison", or None (the ranking decides: definition, faq, misconception)
    target: str | None = None  # the concept it is about
    compared: tuple[str, ...] = ()  # for a comparison: the concepts set side by side
    expand: tuple[str, ...] = ()  # a follow-up walking the graph: the topics to step on from
    skip: tuple[str, ...] = ()  # ...and those already shown on the way, which it leaves out
    known: tuple[str, ...] = ()  # known topics, stated in this question or before
    assumed: tuple[str, ...] = ()  # topics taken as known from a background stated in this question
    background: Background | None = None
    style: str | None = None  # "short" (in_short), "example", "about" (picked from a list), "steps" (a first path)
    chat: str | None = None  # small talk: "hello", "thanks" or "bye"
    needs_topic: bool = False  # a follow-up with nothing to follow
    # "where do I start?" naming no goal, topic or background: the target is the roadmap's default goal, so only the
    # scope model can say the question is about the roadmap at all ("how do I get started making 2d games?")
    default_goal: bool = False
    query: str = ""  # the text to search
    mentions: tuple[Mention, ...] = field(default_factory=tuple)
    cues: Cues | None = None
    # The walk (before, after, a path) rests on cue words in this question alone, not on the conversation or a stated
    # background, nor on a "where do I start" that says nothing of learning: the walk model may overrule it (`settle`). Comparisons are not overruled: the
    # walk model kept too few of them out of fold, and "the difference between bagging and boosting" lost its
    # comparison.
    cue_only: bool = False


def understand(question: str, state: State, kb: KnowledgeBase, names: NameIndex, specificity: dict[str, float]) -> Turn:
    """The `Turn` for `question` in a conversation whose state is `state`."""
    chat = small_talk(question)
    if chat is not None:
        return Turn(question, None, chat=chat)
    parsed = parse(question, names)
    cues = Cues.of(question, parsed.states_belief)
    background = _background(question, kb)
    assumed = tuple(c for c in (background.knows if background else ()) if c not in state.known)
    known = tuple(dict.fromkeys([*state.known, *assumed, *parsed.known]))
    mentions = tuple(m for m in parsed.mentions if m.id not in parsed.known)
    named = pick_target(mentions, specificity)
    base = Turn(question, parsed.graph_intent, named, known=known, assumed=assumed, background=background,
                query=question, mentions=mentions, cues=cues)  # fmt: skip
    distinct = list(dict.fromkeys(m.id for m in mentions))
    pair = _pair(question, distinct, state, names, parsed.mentions)
    if pair is not None:
        return _with(base, intent="comparison", compared=pair, target=pair[0])
    if len(distinct) >= 2 and _CHOICE.search(question):
        return _with(base, intent=None)  # "should I learn R or Python first?": a choice, which the ranking answers
    follow_up = _follow_up(base, parsed.refers_back and not mentions, state)
    if follow_up is not None:
        return follow_up
    if (background is not None and _GOAL_ASK.search(asked_part(question))) or (
        _START.search(question) and named is None and not _own_problem(question)
    ):
        # A goal they name, if it is a real destination ("ML engineering" names the role, whose path is empty).
        # "where do I start?" with no word of learning in a story of one's own ("two years of daily sales with weekly
        # patterns, where do I start?") may be about the task: the walk model decides (tuning sets S +1, X +2 Hit@1,
        # nothing lost; it kept every start question of the conversation sets).
        far = named is not None and len(kbase.learning_path(kb.graph, named)) > START_STEPS // 2
        default = background is None and named is None and state.topic is None
        return _with(
            base, intent="learning_path", target=named if far else START_GOAL, style="steps", default_goal=default,
            cue_only=background is None and not _LEARNING.search(question),
        )
    if parsed.graph_intent == "next_topics" and named is None and parsed.known:
        # "I know NumPy, what next?": what follows the last thing known
        return _with(base, target=parsed.known[-1], cue_only=True)
    if parsed.graph_intent in GRAPH_INTENTS and named is None:
        if state.topic is not None:
            return _with(base, target=state.topic)  # "what should I learn next?": next after the conversation's topic
        if parsed.refers_back and len(question.split()) <= SHORT_FOLLOW_UP:
            return _with(base, needs_topic=True)
        return _with(base, intent=None)  # "tidy this up before modelling": no topic to walk from, so search
    return _with(base, cue_only=base.intent is not None)


def settle(turn: Turn, walks: bool) -> Turn:
    """The turn once the walk model has read the question: a walk that rests on cue words alone stands only when the
    model finds a walk likely (`walks`, see `Ranking.walks`); otherwise the question asks for an explanation and the
    ranking answers it ("what do I need for serving a model at a thousand requests a second?" asks about serving,
    not for prerequisites)."""
    if turn.cue_only and not walks:
        return _with(turn, intent=None, cue_only=False)
    return turn


def _follow_up(turn: Turn, refers_back: bool, state: State) -> Turn | None:
    """What a question that leans on the conversation asks, or None when it stands on its own."""
    q = turn.question
    if state.topic is None:
        return None
    if turn.target is None and _SIMPLER.search(q):
        return _with(turn, intent=None, target=state.topic, style="short")
    if (turn.target is None or turn.target == state.topic) and _EXAMPLE.search(q) and len(q.split()) <= 12:
        return _with(turn, intent=None, target=state.topic, style="example")
    ordinal = _ORDINAL.search(q) if turn.target is None and state.listed else None
    if ordinal is not None:
        word = (ordinal.group(1) or "").lower()
        i = _ORDINALS[word] if word else int(ordinal.group(2)) - 1
        if -len(state.listed) <= i < len(state.listed):
            return _with(turn, intent=None, target=state.listed[i], query=q, style="about")
    if not refers_back:
        return None
    if _WHOLE_PATH.search(q):
        return _with(turn, intent="learning_path", target=state.topic)
    if turn.intent == "prerequisites" and state.direction == "back" and state.listed:
        return _with(turn, target=state.topic, expand=state.listed, skip=state.shown)
    if turn.intent == "next_topics" and state.intent == "learning_path" and state.listed:
        # "and after that?" after the first steps of a path: the steps that come next on it.
        return _with(
            turn, intent="learning_path", target=state.topic, expand=state.listed, skip=state.shown, style="steps"
        )
    if turn.intent == "next_topics" and state.direction == "forward" and state.listed:
        return _with(turn, target=state.topic, expand=state.listed, skip=state.shown)
    if turn.intent in GRAPH_INTENTS:
        return _with(turn, target=state.topic)
    return None


def _pair(
    question: str, named: list[str], state: State, names: NameIndex, mentions: Sequence[Mention]
) -> tuple[str, str] | None:
    """The two concepts a comparison sets side by side: two it names ("precision vs recall"; "supervised and
    unsupervised learning", where the first borrows the second's last word), or one it names and the conversation's
    topic ("how is it different from recall?")."""
    if not _COMPARE.search(question) or _CHOICE.search(question) and not _CONTRAST.search(question):
        return None
    if len(named) >= 2:
        # "X vs Y", "X or Y": the two concepts either side of the word, when they are two ("xgboost or lightgbm" are
        # both gradient boosting: no comparison); "the difference between X and Y": the first two it names near the
        # contrast word (`_near`).
        beside = _either_side(question, mentions, ("vs", "versus", "or", "and"))
        contrast = _CONTRAST.search(question)
        if contrast and not _VERSUS.search(question):
            return beside or _near(question, contrast, mentions)
        if beside is not None:
            return beside
    shared = re.search(r"\b([\w-]+) (?:and|vs\.?|versus|or) ([\w-]+) ([\w-]+)\b", question, re.IGNORECASE)
    if shared and len(named) == 1:
        try:
            first = names.resolve(f"{shared.group(1)} {shared.group(3)}")
        except UnknownTopicError:
            first = None
        if first is not None and first != named[0]:
            return first, named[0]
    if len(named) == 1 and state.topic is not None and state.topic != named[0] and _CONTRAST.search(question):
        return named[0], state.topic  # the concept this question brings leads ("how is that different from boosting?")
    return None


CONTRAST_REACH = 8  # words either side of "difference", "compare"... within which the two compared concepts sit


def _near(question: str, contrast: re.Match[str], mentions: Sequence[Mention]) -> tuple[str, str] | None:
    """The first two concepts named within CONTRAST_REACH words of the contrast word ("the difference between
    bagging and boosting"), not anywhere in a story that later says "compare" ("I'm hiring ML engineers who keep
    bragging that they log every run so they can compare runs later")."""
    at = len(normalize(question[: contrast.start()]).split())
    near = {m.id for m in mentions if m.start >= 0 and at - CONTRAST_REACH <= m.start <= at + CONTRAST_REACH}
    pair = [i for i in dict.fromkeys(m.id for m in mentions) if i in near][:2]  # in the order the question names them
    return (pair[0], pair[1]) if len(pair) == 2 else None


def _either_side(question: str, mentions: Sequence[Mention], words: Sequence[str]) -> tuple[str, str] | None:
    """Two different concepts named either side of one of `words` ("PyTorch or TensorFlow?"), not merely in one
    sentence with an "or" somewhere ("are AWS certs worth the money or nah")."""
    spans = sorted((m.start, m.end, m.id) for m in mentions if m.start >= 0)
    tokens = normalize(question).split()
    for (_, a_end, a), (b_start, _, b) in zip(spans, spans[1:], strict=False):
        if a != b and len(tokens[a_end:b_start]) == 1 and tokens[a_end] in words:
            return a, b
    return None


def _background(question: str, kb: KnowledgeBase) -> Background | None:
    """The learner background a question states ("I'm a web developer, ..."), if any."""
    cue = _BACKGROUND_CUE.search(question)
    if cue is None:
        return None
    said = f" {normalize(cue.group('said'))} "
    best: tuple[int, Background] | None = None
    for b in kb.backgrounds:
        for name in b.names:
            n = f" {normalize(name)} "
            if n in said and (best is None or len(n) > best[0]):
                best = (len(n), b)
    return best[1] if best else None


def _with(turn: Turn, **changes: object) -> Turn:
    from dataclasses import replace

    return replace(turn, **changes)  # type: ignore[arg-type]
