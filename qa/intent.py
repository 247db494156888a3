"""What a question asks for (its intent) and which topics it names: the target, and for a learning path what the
learner says they already know."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from kb import Mention, NameIndex

Intent = Literal["definition", "faq", "misconception", "prerequisites", "next_topics", "learning_path", "out_of_scope"]
GRAPH_INTENTS: frozenset[str] = frozenset({"prerequisites", "next_topics", "learning_path"})

_PATH = re.compile(
    r"\b(learning path|learning plan|study plan|path (to|towards|for)|road ?map (to|for|towards)|"
    r"how (do|can|should|would) i (get|go|move|progress|work my way) (to|towards|from|up)|(get|go) from \w.* to|"
    r"in what order|what order|step[- ]by[- ]step)\b",
    re.IGNORECASE,
)
_PREREQ = re.compile(
    # "before" asks for prerequisites, but not in "each tree fits the mistakes of the ones before it" (a description
    # of what came earlier); "the one before that?" still asks
    r"\b((?<!\bones )(?<!\brows )before|prerequisites?|prereqs?|pre-requisites?|"
    r"(learn|know|study|understand|master|need|cover|brush up|read up|revise|review|refresh|go over)\w*( \w+){0,3} first|"
    r"beforehand|required (for|to)|requirements? (for|of)|what (do|does) (those|they|these|them|it|that) need|"
    r"foundations? (for|of)|need(ed)? for|necessary (for|to)|ready (for|to)|depends? on|"
    r"what (do|should|must) i (need to )?(know|learn|study) (for|to (learn|study|understand|start|tackle)))\b",
    re.IGNORECASE,
)
_NEXT = re.compile(
    # "next" asks what follows, but not in "next time" or "my next job"
    r"\b(after|next(?! (time|week|month|year|day|quarter|sprint|morning|weekend|round|job|role)\b)|then what|"
    r"what follows|follow[- ]?up|comes? after|leads? (on )?to|unlocks?|beyond|"
    r"once i (know|have|understand|learn|learned|learnt|finish)|move on|build(s)? on (it|that|this)|continue with|"
    r"(where|what) (do|should|can|could) i (go|head|turn|do|learn|study) (from here|now)|where (to )?now|what now)\b",
    re.IGNORECASE,
)
# "I know X" states what is known; "what should I know", "do I know" ask a question instead.
_KNOW = re.compile(
    r"(?<!should )(?<!must )(?<!do )(?<!would )(?<!could )(?<!will )(?<!did )(?<!can )(?<!to )(?<!shall )"
    r"\b(i(?: |'ve )((?:already|now|finally|really|mostly|fully|basically|pretty much) )?"
    r"(know|understand|learned|learnt|have learned|have learnt|studied|have studied|am "
    r"(comfortable|familiar|good|confident) with|can (use|code in|program in)|have (done|covered|finished)|"
    r"finished|covered)|i'm (comfortable|familiar|good|confident) with|known:)",
    re.IGNORECASE,
)
_KNOWN_LEAD = re.compile(r"\s*(what|how)\b", re.I)
_CLAUSE_END = re.compile(
    r"[,.;:?!]|\b(but|how|what|so|now|then|and (i|want|would|need)|i want|i'd like|to get)\b", re.I
)
_REFERS = re.compile(r"\b(it|its|that|this|those|these|them|they|there)\b", re.IGNORECASE)
# Words that mark a question stating a belief to be confirmed ("AutoML will do it all, right?"). Plain "any" or
# "all" are not enough: they occur in ordinary questions ("Do all models need scaling?", "...all day at work?").
_BELIEF = re.compile(
    r"\b(only(?! (\d|one|a|an|two|three|few|half|some)\b)|always|never|fully|completely|entirely|no need|don't need|"
    r"do not need|won't need|no longer need|"
    r"isn'?t it|aren'?t they|true that|is it true|myth|surely|basically|all that matters|all you need|yeah\s*\?|"
    r"(do|does|did) (it all|all the work|everything)|any (\w+ )?(works?|will do))\b|"
    # a reason given as a rule: "... because you have to master the maths first"
    r"\b(because|since|cuz|cause) (you|u|one) (have|has|need|must|gotta|got) to\b|"
    # a rule someone else stated, questioned: "my supervisor says ... Is that really how people learn this?" (not
    # "is it actually right?", which asks whether a prediction is correct)
    r"\b(is|are) (that|this|it|he|she|they) (really|actually|truly) (true|necessary|needed|required|how|"
    r"the (only )?way)\b|"
    # "..., right?" asks to confirm a belief; "is it actually right?" asks whether something is correct
    r"(?<!\bis )(?<!\bare )(?<!\bwas )(?<!\bbe )(?<!actually )(?<!\bget )(?<!\bgot )\bright\s*\?",
    re.IGNORECASE,
)


# Small talk that is not a question about the roadmap: answered with what the assistant does, never searched.
_SMALL_TALK = re.compile(
    r"^\W*(hi|hello|hey|hiya|yo|good (morning|afternoon|evening)|thanks?( you)?|thank you( so much)?|thx|ty|cheers|"
    r"ok(ay)?|cool|great|nice|bye|goodbye)( there| a lot| very much)?\W*$",
    re.IGNORECASE,
)


def small_talk(question: str) -> str | None:
    """ "hello", "thanks" or "bye" for small talk ("hi", "Thanks a lot!", "ok"), else None: nothing to look up.

    >>> small_talk("Thanks a lot!"), small_talk("hey"), small_talk("hi, what is a CNN?")
    ('thanks', 'hello', None)
    """
    m = _SMALL_TALK.match(question)
    if not m:
        return None
    word = m.group(1).lower()
    if word.startswith(("thank", "thx", "ty", "cheers")):
        return "thanks"
    return "bye" if "bye" in word else "hello"


@dataclass(frozen=True)
class Parsed:
    """A question's graph intent (None when it asks for an explanation), the concepts it names, and what it
    says is known."""

    graph_intent: str | None
    mentions: list[Mention]
    known: list[str] = field(default_factory=list)
    refers_back: bool = False
    states_belief: bool = False


def parse(question: str, names: NameIndex) -> Parsed:
    mentions = names.mentions(question)
    known: list[str] = []
    know = _KNOW.search(question)
    if know:
        clause = question[know.end() :]
        # "I understand what Docker containers are", "how X works": the question word opens the known thing
        lead = _KNOWN_LEAD.match(clause)
        end = _CLAUSE_END.search(clause, lead.end() if lead else 0)
        known_text = clause[: end.start()] if end else clause
        known = list(dict.fromkeys(m.id for m in names.mentions(known_text)))
    asked = asked_part(question)
    prereq = any(_walks_graph(asked, m, names) for m in _PREREQ.finditer(asked))
    after = any(_walks_graph(asked, m, names) for m in _NEXT.finditer(asked))
    if _PATH.search(asked) or (
        known
        and re.search(r"\b(get to|reach|learn|become|move to|tackle)\b", asked, re.I)
        and not after
    ):
        intent: str | None = "learning_path"
    elif prereq:
        intent = "prerequisites"
    elif after:
        intent = "next_topics"
    else:
        intent = None
    return Parsed(intent, mentions, known, refers_back(question), bool(_BELIEF.search(question)))


# A bare "before" / "after" asks to walk the graph when it governs a topic or points back ("before deep learning",
# "after that", "what comes after?") or follows a verb of learning ("what should I study after I finish pandas?"); in
# a story it orders events ("a column only filled in after the outcome was known", "a year of maths before I write any
# code") and asks nothing of the graph.
_LEARNING_VERB = re.compile(
    r"\b(learn|learning|study|studying|know|master|tackle|take|cover|read|pick up|look at|focus on|understand|do|"
    r"go|move|start|begin|need|comes?|came|next|should|must|brush up|read up|revise|review|refresh)\W+(\w+\W+){0,2}$",
    re.IGNORECASE,
)
_STARTING = re.compile(  # "before I start with Kubernetes", "after we move on to deep learning"
    r"^\W*(i|we|you)\s+(\w+\s+)?(start|begin|learn|study|tackle|move|get|jump|dive|go|pick|switch)\w*\b",
    re.IGNORECASE,
)
_GOVERNED = re.compile(
    # "before that", or a step into it: "before getting into that", "before tackling it properly" (not "before
    # adding that column")
    r"^\W*((it|that|this|those|these|them|then|one|ones)\b|\W*$|"
    r"\w+ing\s+(\w+\s+)?(it|that|this|those|these|them)(\s+(\w+ly|first|fully|seriously))?\W*$)",
    re.IGNORECASE,
)


def _walks_graph(text: str, match: re.Match[str], names: NameIndex) -> bool:
    """Whether the "before"/"after" that `match` found asks to walk the graph (any other cue always does)."""
    if match.group(0).lower() not in {"before", "after"}:
        return True
    head, tail = text[: match.start()], text[match.end() :]
    if _GOVERNED.match(tail) or _LEARNING_VERB.search(head) or _STARTING.match(tail):
        return True
    following = " ".join(tail.split()[:4])  # the topic itself, or one word ("the", "learning") before it
    return any(m.start <= 1 for m in names.mentions(following))


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def asked_part(question: str) -> str:
    """The sentences that ask (end in "?"), or the whole text when none does: a story's "before"/"after" is not a
    request to walk the graph.

    >>> asked_part("I scaled the data before splitting. AUC is 0.99 in validation but 0.5 live. What went wrong?")
    'What went wrong?'
    >>> asked_part("what should I learn before deep learning")
    'what should I learn before deep learning'
    """
    asking = [s for s in _SENTENCE_END.split(question) if s.rstrip().endswith("?")]
    return " ".join(asking) if asking else question


_POINTS_BACK = re.compile(r"\b(it|its|they|them|those|these|both)\b", re.IGNORECASE)
# An "it" that stands for nothing said before: "how long does it take to learn all this?", "is it worth it?"
_DUMMY_IT = re.compile(
    r"\b((does|do|will|would|did|could|can) it (take|cost|matter|help|make sense)|(is|was) it (worth|possible|true|hard|"
    r"difficult|easy|realistic|normal|ok|okay|necessary|enough|better|too late|a good idea|common|bad)|"
    r"it'?s (worth|possible|hard|difficult|easy|realistic|normal|ok|okay|too late|a good idea))\b",
    re.IGNORECASE,
)


def points_back(question: str) -> bool:
    """Whether a question's pronoun must mean something said before ("both of them", "it"), not "this step" or an
    "it" that stands for nothing ("how long does it take to learn all this?").

    >>> points_back("how do I squash both of them into one number?"), points_back("how long does it take to learn all this?")
    (True, False)
    """
    return bool(_POINTS_BACK.search(_DUMMY_IT.sub(" ", question)))


def refers_back(question: str) -> bool:
    """Whether a question leans on what was said before: a pronoun ("it", "those") or too short to stand alone.

    >>> refers_back("and before that?"), refers_back("What is gradient boosting used for in practice?")
    (True, False)
    """
    return bool(_REFERS.search(question)) or len(question.split()) <= 4


def pick_target(mentions: Sequence[Mention], specificity: dict[str, float], exclude: Sequence[str] = ()) -> str | None:
    """The concept a question is about: of those it names (and not in `exclude`), the most specific one; for a
    learning path or "before/after X", the last named wins ties (the target comes after what is known)."""
    candidates = [m for m in mentions if m.id not in exclude]
    if not candidates:
        return None
    best = max(candidates, key=lambda m: (specificity.get(m.id, 0.0) * m.score / 100.0, m.end - m.start, m.start))
    return best.id
