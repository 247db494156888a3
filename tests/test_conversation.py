"""A conversation that follows the learner: each row of the conversation issue's table, through `Assistant.ask` and
through `POST /api/ask`, which must agree (no server keeps conversations: the history alone rebuilds the state)."""

from __future__ import annotations

import httpx
import pytest

from qa import Assistant


def ids(refs: list[dict[str, str]]) -> list[str]:
    return [r["id"] for r in refs]


def test_and_before_that_steps_one_level_further_back(bot: Assistant) -> None:
    first = bot.ask("what should I learn before deep learning?")
    again = bot.ask("and before that?", history=["what should I learn before deep learning?"])
    assert again.intent == "prerequisites" and again.confident
    assert again.prerequisites and not set(ids(again.prerequisites)) & set(ids(first.prerequisites))
    # Each is a prerequisite of something the first answer listed.
    stood_on = {p.id for t in first.prerequisites for p in bot.prerequisites(t["id"])}
    assert set(ids(again.prerequisites)) <= stood_on


def test_and_after_that_steps_one_level_further_on(bot: Assistant) -> None:
    first = bot.ask("what comes after Docker?")
    again = bot.ask("and after that?", history=["what comes after Docker?"])
    assert again.intent == "next_topics" and again.next_topics
    assert not set(ids(again.next_topics)) & set(ids(first.next_topics))
    unlocked = {n.id for t in first.next_topics for n in bot.next_topics(t["id"])}
    assert set(ids(again.next_topics)) <= unlocked


def test_a_question_that_names_its_own_subject_overrides_the_history(bot: Assistant) -> None:
    ans = bot.ask("how long does it take?", history=["what is deep learning?"])
    assert ans.intent == "faq" and "how long" in ans.passages[0].title.lower()


def test_a_non_something_names_no_topic_so_that_still_means_the_conversations_topic(bot: Assistant) -> None:
    """"as a non-engineer" is who asks, not the ML engineer role ("engineer" came close enough to its name): "that" is
    still the topic of the conversation."""
    ans = bot.ask(
        "ok, what do I need to learn before that, as a non-engineer?",
        history=["how do convolutional networks recognise objects in photos?"],
    )
    assert ans.intent == "prerequisites" and ans.topic is not None and ans.topic["id"] == "cnn"
    assert ids(ans.prerequisites) == [t.id for t in bot.prerequisites("cnn")]
    assert not bot.names.mentions("as a non-engineer") and bot.names.mentions("non linear activations")


def test_an_it_that_stands_for_nothing_does_not_pull_in_the_conversations_topic(bot: Assistant) -> None:
    """"does it take" points at nothing said before: the FAQ leads, not the topic of the path just shown; a real
    pronoun still does ("how do I squash both of them into one number?" after precision and recall)."""
    history = ["I want to work with LLMs. What should I learn first?", "and before that?"]
    ans = bot.ask("how long does it take to learn all this?", history=history)
    assert ans.confident and ans.passages[0].id == "how-long", [p.id for p in ans.passages[:3]]
    both = bot.ask("how do I squash both of them into one number?", history=["what are precision and recall?"])
    assert both.confident and both.passages[0].id == "f1-score", [p.id for p in both.passages[:3]]


def test_a_complete_beginner_gets_a_first_path_not_a_misconception(bot: Assistant) -> None:
    ans = bot.ask("I'm a complete beginner, where do I start?")
    assert ans.confident and ans.intent == "learning_path"
    first = ids(ans.prerequisites)
    assert 3 <= len(first) <= 8 and {"python", "probability"} & set(first[:3])
    assert "Not quite" not in ans.answer


def test_a_stated_background_becomes_the_starting_point(bot: Assistant) -> None:
    ans = bot.ask("I'm a web developer, how do I get into ML engineering?")
    assert ans.intent == "learning_path" and ans.assumed_known
    assumed = set(ids(ans.assumed_known))
    assert assumed & {"git", "sql", "command-line"}
    assert not assumed & set(ids(ans.prerequisites))  # a path that starts after what they know
    assert "Web developer" in ans.answer or "web developer" in ans.answer
    # ...and what was assumed stays known for the rest of the conversation.
    later = bot.ask("what comes after git?", history=["I'm a web developer, how do I get into ML engineering?"])
    assert "git" not in ids(later.next_topics)


def test_a_comparison_sets_both_topics_side_by_side(bot: Assistant) -> None:
    ans = bot.ask("precision vs recall")
    assert ans.intent == "comparison" and ids(ans.compared) == ["precision", "recall"]
    assert "**Precision:**" in ans.answer and "**Recall:**" in ans.answer
    follow = bot.ask("how is it different from recall?", history=["what is precision?"])
    assert follow.intent == "comparison" and set(ids(follow.compared)) == {"precision", "recall"}


@pytest.mark.parametrize(
    "question, answer",
    [
        # Two names of one concept either side of "or": a question about it, not a comparison (nor about Kaggle).
        ("everyone on kaggle uses xgboost or lightgbm, what is the idea behind them?", "gradient-boosting"),
        # "vs" between two ways of one thing (tuning), with another concept named in passing (learning rate).
        ("how do i pick the learning rate and max_depth? grid search vs random search?", "hyperparameter-tuning"),
    ],
)
def test_or_and_vs_compare_only_two_different_concepts_beside_them(bot: Assistant, question: str, answer: str) -> None:
    ans = bot.ask(question)
    assert ans.intent != "comparison" and not ans.compared
    assert ans.passages[0].id == answer


@pytest.mark.parametrize(
    "question, answer",
    [
        # "different" qualifying a noun, not contrasting two concepts (tree depths and learning rates are named).
        (
            "I keep retraining with different tree depths and learning rates by hand, is there a smarter way to "
            "search for the best ones?",
            "hyperparameter-tuning",
        ),
        (
            "our sales data comes in three different currencies and two different date formats, what step fixes that "
            "before training?",
            "data-cleaning",
        ),
        # "compare" far from the concepts a story names in passing ("ML" in "ML engineers").
        (
            "our ML engineers brag that they write down every run's settings and scores so they can compare runs "
            "later, what is that practice called?",
            "experiment-tracking",
        ),
    ],
)
def test_different_and_compare_in_a_story_ask_no_comparison(bot: Assistant, question: str, answer: str) -> None:
    ans = bot.ask(question)
    assert ans.confident and ans.intent != "comparison" and not ans.compared
    assert ans.passages[0].id == answer


def test_different_as_the_predicate_still_compares_and_a_follow_up_leads_with_its_new_concept(bot: Assistant) -> None:
    ans = bot.ask("is recall really that different from precision?")
    assert ans.intent == "comparison" and ids(ans.compared) == ["recall", "precision"]
    follow = bot.ask("how is that different from boosting?", history=["what is a random forest?"])
    assert follow.intent == "comparison" and ids(follow.compared) == ["gradient-boosting", "random-forests"]
    assert follow.passages[0].id == "gradient-boosting"


def test_a_belief_naming_two_concepts_either_side_of_or_is_corrected_not_compared(bot: Assistant) -> None:
    ans = bot.ask(
        "everyone says transformers beat everything now, so why would anyone still learn decision trees or linear "
        "regression?"
    )
    assert ans.confident and ans.intent == "misconception" and not ans.compared
    assert ans.passages[0].id == "deep-learning-always-best"
    plain = bot.ask("decision trees or linear regression?")  # the same pair asked on its own is still compared
    assert plain.intent == "comparison" and ids(plain.compared) == ["decision-trees", "linear-regression"]


def test_a_background_with_a_question_of_its_own_gets_that_answer_not_a_path(bot: Assistant) -> None:
    ans = bot.ask(
        "I'm a QA engineer; with normal code I write assertions. How would I check that a trained model actually "
        "works well?"
    )
    assert ans.confident and ans.intent != "learning_path"
    assert ans.passages[0].id in {"evaluate-model", "model-evaluation"}


def test_where_do_i_start_without_a_goal_leads_with_the_faq_it_asks(bot: Assistant) -> None:
    # The path's end is our default (no goal named), so the passage that answers the question leads, not MLOps.
    ans = bot.ask("i'm 15 and want to build AI for a living one day, where do I even start?")
    assert ans.confident and ans.intent == "learning_path" and ans.prerequisites
    assert ans.passages[0].id == "become-ml-engineer"


def test_where_do_i_go_from_here_continues_from_the_conversations_topic(bot: Assistant) -> None:
    ans = bot.ask("nice, that clicked. where do I go from here?", history=["how do attention and transformers work?"])
    assert ans.intent == "next_topics" and ans.confident
    assert "large-language-models" in ids(ans.next_topics)


@pytest.mark.parametrize(
    "question, field, marker",
    [("explain it more simply", "in_short", "in one line"), ("give me an example", "example", "an example")],
)
def test_simpler_and_example_use_the_concepts_own_fields(
    bot: Assistant, question: str, field: str, marker: str
) -> None:
    ans = bot.ask(question, history=["what is gradient descent?"])
    assert ans.intent == "definition" and ans.topic["id"] == "gradient-descent"  # type: ignore[index]
    text = getattr(bot.topic("gradient-descent"), field)
    assert text and text in ans.answer and marker in ans.answer


def test_ordinals_resolve_against_the_topics_just_listed(bot: Assistant) -> None:
    listed = bot.ask("What should I learn before neural networks?").prerequisites
    ans = bot.ask("tell me about the second one", history=["What should I learn before neural networks?"])
    assert ans.topic["id"] == listed[1]["id"]  # type: ignore[index]


def test_what_the_roadmap_leaves_out_is_declined_honestly(bot: Assistant) -> None:
    ans = bot.ask("how much do ML engineers earn?")
    assert ans.confident is False and ans.intent == "out_of_scope" and "won't guess" in ans.answer


def test_passages_of_earlier_turns_never_source_a_later_one(bot: Assistant) -> None:
    ans = bot.ask("what is docker?", history=["what is a random forest?", "and what about precision?"])
    assert ans.topic["id"] == "docker"  # type: ignore[index]
    assert not {"random-forests", "precision"} & {p.id for p in ans.passages[:1]}


CONVERSATION = [
    "what should I learn before deep learning?",
    "and before that?",
    "tell me about the first one",
    "give me an example",
    "precision vs recall",
    "I'm a data analyst, how do I get into ML engineering?",
    "and after that?",
]


def test_the_http_api_and_python_agree_turn_by_turn(bot: Assistant, server: str) -> None:
    with httpx.Client(timeout=60) as client:
        for i, q in enumerate(CONVERSATION):
            history = CONVERSATION[:i]
            over_http = client.post(f"{server}/api/ask", json={"q": q, "history": history})
            assert over_http.status_code == 200, over_http.text
            assert over_http.json() == bot.ask(q, history=history).to_dict(), q


@pytest.mark.parametrize(
    ("history", "question", "expected"),
    [
        # "before" with a step into the earlier topic ("before getting into that", "before tackling it"), and a verb
        # of revising ("brush up on", "revise") instead of "learn"
        ("how does gradient descent actually work?", "and what maths do I brush up on before getting into that properly?", "calculus"),
        ("how does a convolutional neural network see edges?", "which bits of maths should I revise before tackling it?", "linear-algebra"),
        # ...and "first" after such a verb, as after "learn" ("what do I learn first?")
        ("how does gradient descent actually work?", "what maths should I brush up on first to follow that?", "calculus"),
    ],
)
def test_a_follow_up_stepping_into_the_topic_asks_for_its_prerequisites(
    bot: Assistant, history: str, question: str, expected: str
) -> None:
    ans = bot.ask(question, history=[history])
    assert ans.intent == "prerequisites" and ans.confident
    assert expected in ids(ans.prerequisites)


def test_before_doing_that_to_a_thing_in_a_story_is_not_a_walk(bot: Assistant) -> None:
    """"before adding that column" orders events in the learner's story; it asks for no prerequisites. (Since the
    word classifier, "retrained" puts model monitoring first and data leakage second: a loss on this one question,
    which the ranker's cross-validated gain outweighs; the story's walk is what this test is about.)"""
    ans = bot.ask("the model was retrained before adding that column, why did accuracy jump?")
    assert ans.intent != "prerequisites"
    assert "data-leakage" in [p.id for p in ans.passages[:2]]


def test_x_instead_of_y_or_z_asks_when_to_choose_not_how_y_and_z_differ(bot: Assistant) -> None:
    """"Y or Z" after "instead of" lists the alternatives: a choice the ranking answers, not a Y-vs-Z comparison."""
    ans = bot.ask("when would I pick gradient boosting instead of a neural network or an svm?")
    assert ans.intent != "comparison" and not ans.compared
    assert ans.passages[0].id == "deep-vs-classical"


def test_a_rule_someone_stated_and_the_learner_questions_reads_as_a_belief(bot: Assistant) -> None:
    from qa.intent import parse

    stated = "My mentor says I need a PhD before anyone will hire me as an ML engineer. Is that really true?"
    assert parse(stated, bot.names).states_belief
    assert parse("My mentor says I should read one paper a week. Is that really how people keep up?", bot.names).states_belief
    assert not parse("my mentor says to use F1 here, which metric is better for fraud?", bot.names).states_belief
    ans = bot.ask(stated)
    assert ans.intent == "misconception" and ans.passages[0].id == "need-phd"
