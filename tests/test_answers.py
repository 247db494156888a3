"""Answer quality with the real model, the real index and the real graph."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa import Assistant, BadQuestionError
from qa.evaluate import evaluate, load_cases

SHARED_DEV = Path(__file__).resolve().parents[2] / "shared" / "eval" / "dev.jsonl"
OWN = Path(__file__).resolve().parent / "questions.jsonl"
HELDOUT = Path(__file__).resolve().parent / "heldout.jsonl"
OUT_OF_SCOPE = [
    q.strip()
    for q in (Path(__file__).resolve().parent / "out_of_scope.txt").read_text().splitlines()
    if q.strip() and not q.startswith("#")
]


@pytest.mark.skipif(not SHARED_DEV.exists(), reason="../shared/eval/dev.jsonl is not beside this checkout")
def test_dev_set_meets_its_targets(bot: Assistant) -> None:
    report = evaluate(bot, load_cases(SHARED_DEV))
    m = report["metrics"]
    assert m["Hit@1"]["value"] >= 0.92, report["failures"]
    assert m["all"]["value"] >= 0.95, report["failures"]


def test_own_learner_questions_are_answered(bot: Assistant) -> None:
    report = evaluate(bot, load_cases(OWN))
    assert report["metrics"]["all"]["value"] >= 0.9, report["failures"]


@pytest.mark.parametrize(
    "name, floor",
    [
        ("heldout.jsonl", 0.93),  # 90 questions written without sight of the engine; 0.967 now
        ("heldout2.jsonl", 0.8),  # 80 more, learners describing problems rather than naming topics; 0.838 now
    ],
)
def test_held_out_learner_questions_are_answered(bot: Assistant, name: str, floor: float) -> None:
    report = evaluate(bot, load_cases(Path(__file__).resolve().parent / name))
    assert report["metrics"]["all"]["value"] >= floor, report["failures"]


def test_hybrid_beats_each_retriever_alone_on_mrr(bot: Assistant, index_dir: Path) -> None:
    files = [OWN, HELDOUT] + ([SHARED_DEV] if SHARED_DEV.exists() else [])
    cases = [c for f in files for c in load_cases(f) if c.check == "top"]
    mrr = {
        mode: evaluate(Assistant.load(index_dir=index_dir, retriever=mode), cases)["metrics"]["MRR"]["value"]
        for mode in ("dense", "bm25")
    }
    hybrid = evaluate(bot, cases)["metrics"]["MRR"]["value"]
    assert hybrid > mrr["dense"] and hybrid > mrr["bm25"], (hybrid, mrr)


@pytest.mark.parametrize("question", OUT_OF_SCOPE)
def test_out_of_scope_is_not_passed_off_as_an_answer(bot: Assistant, question: str) -> None:
    ans = bot.ask(question)
    assert ans.confident is False
    assert ans.intent == "out_of_scope"
    assert ans.topic is None and ans.prerequisites == [] and ans.next_topics == []
    assert "won't guess" in ans.answer and "**" in ans.answer  # an honest reply that suggests topics


@pytest.mark.parametrize(
    "question, intent, topic",
    [
        ("What is a CNN?", "definition", "cnn"),
        ("Explain random forests", "definition", "random-forests"),
        ("How can I become a machine learning engineer?", "faq", None),
        ("What should I learn before deep learning?", "prerequisites", "deep-learning"),
        ("What should I learn after decision trees?", "next_topics", "decision-trees"),
        ("I know Python and NumPy, how do I get to deep learning?", "learning_path", "deep-learning"),
        ("ML engineers only need to code, right?", "misconception", None),
    ],
)
def test_intent_and_topic(bot: Assistant, question: str, intent: str, topic: str | None) -> None:
    ans = bot.ask(question)
    assert ans.confident
    assert ans.intent == intent
    if topic:
        assert ans.topic == {"id": topic, "title": bot.kb[topic].title}


def test_a_learning_path_question_skips_what_the_learner_knows(bot: Assistant) -> None:
    ans = bot.ask("I already know Python and NumPy. How do I get to deep learning?")
    ids = [t["id"] for t in ans.prerequisites]
    assert "python" not in ids and "numpy" not in ids
    assert "neural-networks" in ids
    assert "Your path to Deep learning" in ans.answer and "skipping what you know" in ans.answer


@pytest.mark.parametrize(
    "question, claim",
    [
        ("AutoML will do it all, right?", "ML engineering is fully automated"),  # names AutoML, a concept too
        ("Is accuracy all that matters?", "High accuracy means a good model"),
        (
            "Deep learning always wins, doesn't it? Is deep learning always best?",
            "Deep learning is always the best choice",
        ),
    ],
)
def test_a_stated_belief_leads_with_the_correction(bot: Assistant, question: str, claim: str) -> None:
    ans = bot.ask(question)
    assert ans.intent == "misconception"
    assert ans.answer.startswith(f'**Not quite: "{claim}"')
    assert ans.passages[0].title == claim  # the passage the answer rests on comes first


@pytest.mark.parametrize("question, topic", [("What is AutoML?", "automl"), ("What is accuracy?", "accuracy")])
def test_a_plain_question_about_the_same_topic_gets_the_topic(bot: Assistant, question: str, topic: str) -> None:
    ans = bot.ask(question)
    assert ans.intent == "definition" and ans.topic["id"] == topic  # type: ignore[index]
    assert ans.passages[0].id == topic


@pytest.mark.parametrize(
    "history, question, intent, topic",
    [
        (["What is Docker?"], "what comes after that?", "next_topics", "docker"),
        (["Tell me about random forests"], "and before it?", "prerequisites", "random-forests"),
        (["What is a CNN?", "What is PyTorch?"], "what should I learn next?", "next_topics", "pytorch"),
        (["What is linear regression?"], "how is it different from logistic regression?", "definition", None),
    ],
)
def test_follow_ups_resolve_the_topic_from_history(
    bot: Assistant, history: list[str], question: str, intent: str, topic: str | None
) -> None:
    ans = bot.ask(question, history=history)
    assert ans.confident and ans.intent == intent
    if topic:
        assert ans.topic["id"] == topic


def test_a_named_topic_wins_over_the_history(bot: Assistant) -> None:
    ans = bot.ask("What comes after Kubernetes?", history=["What is a CNN?"])
    assert ans.topic["id"] == "kubernetes"


def test_answer_cites_sources_best_first(bot: Assistant) -> None:
    ans = bot.ask("What is gradient boosting?")
    scores = [p.score for p in ans.passages]
    assert scores == sorted(scores, reverse=True)
    assert "*Sources:* Gradient boosting (concept)" in ans.answer
    assert ans.next_topics or ans.topic is not None


def test_typos_in_a_question_still_find_the_topic(bot: Assistant) -> None:
    assert bot.ask("wht is crossvalidation").topic["id"] == "cross-validation"
    assert bot.ask("explain logistc regresion").topic["id"] == "logistic-regression"


def test_known_topics_are_left_out_of_suggestions(bot: Assistant) -> None:
    nxt = [t["id"] for t in bot.ask("What comes after NumPy?").next_topics]
    assert nxt
    skipped = bot.ask("What comes after NumPy?", known=[nxt[0]]).next_topics
    assert nxt[0] not in [t["id"] for t in skipped]


@pytest.mark.parametrize("retriever", ["dense", "bm25"])
def test_each_retriever_runs_the_same_pipeline(index_dir: Path, retriever: str) -> None:
    alt = Assistant.load(index_dir=index_dir, retriever=retriever)
    ans = alt.ask("What is Kubernetes?")
    assert ans.confident and ans.topic["id"] == "kubernetes"
    assert alt.ask("How tall is Mount Everest?").confident is False


@pytest.mark.parametrize("question, history", [("", []), ("   ", []), ("x" * 2001, []), ("ok?", "not a list")])
def test_bad_questions_raise_one_clear_error(bot: Assistant, question: str, history: object) -> None:
    with pytest.raises(BadQuestionError):
        bot.ask(question, history=history)  # type: ignore[arg-type]


def test_unknown_retriever_names_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="retriever must be one of hybrid, dense, bm25"):
        Assistant.load(retriever="magic", lazy=True)


@pytest.mark.parametrize(
    "question, opening", [("hi", "Hi!"), ("Thanks a lot!", "Glad it helped"), ("bye", "Good luck")]
)
def test_small_talk_gets_a_friendly_reply_not_a_search(bot: Assistant, question: str, opening: str) -> None:
    ans = bot.ask(question)
    assert ans.answer.startswith(opening) and "**Python**" in ans.answer
    assert ans.confident is False and ans.passages == [] and ans.topic is None


@pytest.mark.parametrize(
    "question, intent, example",
    [
        ("what next?", "next_topics", "What comes after Python?"),
        ("what do I need to learn before it?", "prerequisites", "What should I learn before CNNs?"),
    ],
)
def test_a_graph_question_without_a_topic_asks_for_one(
    bot: Assistant, question: str, intent: str, example: str
) -> None:
    ans = bot.ask(question)  # no history: "it" and "next" point at nothing
    assert ans.intent == intent and ans.confident is False and ans.topic is None
    assert example in ans.answer
    assert bot.ask(question, history=["What is Docker?"]).topic["id"] == "docker"  # type: ignore[index]
