"""Answer quality with the real model, the real index and the real graph."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qa import Assistant, BadQuestionError
from qa.evaluate import evaluate, load_cases

SHARED_DEV = Path(__file__).resolve().parents[2] / "shared" / "eval" / "dev.jsonl"
SETS = Path(__file__).resolve().parent / "sets"
BLIND_A = SETS / "blind_a.jsonl"  # the tuning set
BLIND_B = SETS / "blind_b.jsonl"  # a report set, never tuned on
BLIND_C = SETS / "blind_c.jsonl"  # the final report set, never tuned on (written after the others, read once)
BLIND_D = SETS / "blind_d.jsonl"  # the second tuning set
BLIND_E = SETS / "blind_e.jsonl"  # the third tuning set (third session)
BLIND_F = SETS / "blind_f.jsonl"  # the third session's final report set, never tuned on
BLIND_G = SETS / "blind_g.jsonl"  # the fourth tuning set (fourth session)
BLIND_H = SETS / "blind_h.jsonl"  # the fourth session's final report set, never tuned on
BLIND_I = SETS / "blind_i.jsonl"  # the fifth tuning set (fifth session)
BLIND_J = SETS / "blind_j.jsonl"  # the fifth session's final report set, never tuned on
BLIND_K = SETS / "blind_k.jsonl"  # the sixth tuning set (sixth session)
BLIND_L = SETS / "blind_l.jsonl"  # the sixth session's final report set, never tuned on
BLIND_M = SETS / "blind_m.jsonl"  # the seventh tuning set (seventh session)
BLIND_N = SETS / "blind_n.jsonl"  # the seventh session's final report set, never tuned on
BLIND_O = SETS / "blind_o.jsonl"  # the eighth tuning set (eighth session)
BLIND_P = SETS / "blind_p.jsonl"  # the eighth session's final report set, never tuned on
BLIND_Q = SETS / "blind_q.jsonl"  # the ninth tuning set (ninth session)
BLIND_R = SETS / "blind_r.jsonl"  # the ninth session's final report set, never tuned on
BLIND_S = SETS / "blind_s.jsonl"  # the tenth tuning set (tenth session)
BLIND_T = SETS / "blind_t.jsonl"  # the tenth session's final report set, never tuned on
BLIND_U = SETS / "blind_u.jsonl"  # the eleventh tuning set (eleventh session)
BLIND_W = SETS / "blind_w.jsonl"  # the eleventh session's second tuning set: the scope line (54 off-topic, 50 not)
BLIND_V = SETS / "blind_v.jsonl"  # the eleventh session's final report set, never tuned on
BLIND_X = SETS / "blind_x.jsonl"  # the twelfth tuning set (twelfth session)
BLIND_Z = SETS / "blind_z.jsonl"  # the twelfth session's second tuning set: the scope line again (53 off-topic, 49 not)
BLIND_Y = SETS / "blind_y.jsonl"  # the twelfth session's final report set, never tuned on
BLIND_AA = SETS / "blind_aa.jsonl"  # the thirteenth tuning set (thirteenth session)
BLIND_AB = SETS / "blind_ab.jsonl"  # the thirteenth session's second tuning set: look-alike pairs, both sides
BLIND_AC = SETS / "blind_ac.jsonl"  # the thirteenth session's final report set, never tuned on
CONVERSATIONS = SETS / "conversations.jsonl"


@pytest.mark.skipif(not SHARED_DEV.exists(), reason="../shared/eval/dev.jsonl is not beside this checkout")
def test_dev_set_meets_its_targets(bot: Assistant) -> None:
    report = evaluate(bot, load_cases(SHARED_DEV))
    m = report["metrics"]
    assert m["Hit@1"]["value"] >= 0.92, report["failures"]
    assert m["all"]["value"] >= 0.95, report["failures"]


@pytest.mark.parametrize(
    "path, hit1, everything, refused",
    [
        # Floors about three points under what each set measures (Hit@1 / all / off-topic); figures of the ninth
        # session's end, of the tenth for M, P, N, L, S and T, of the eleventh for O, R, B, U, W and V, and of the
        # twelfth for X, Z and Y, of the thirteenth for AA, AB and AC (every other set measured at or above its floor at
        # the thirteenth session's end).
        (BLIND_A, 0.96, 0.96, 0.9),  # tuned on: 1.000 / 1.000 / 12 of 12
        (BLIND_D, 0.96, 0.96, 0.9),  # tuned on: 1.000 / 1.000 / 19 of 19
        (BLIND_E, 0.96, 0.96, 0.9),  # tuned on: 1.000 / 1.000 / 22 of 22
        (BLIND_G, 0.96, 0.96, 0.9),  # tuned on from its first look (0.922 / 0.919 / 15 of 16): 1.000 / 1.000 / 16 of 16
        (BLIND_I, 0.96, 0.96, 0.9),  # tuned on from its first look (0.868 / 0.889 / 18 of 18): 1.000 / 1.000 / 18 of 18
        (BLIND_K, 0.96, 0.96, 0.9),  # tuned on from its first look (0.962 / 0.970 / 17 of 17): 1.000 / 1.000 / 17 of 17
        (BLIND_M, 0.92, 0.93, 0.9),  # tuned on from its first look (0.872 / 0.890 / 16 of 17): 0.949 / 0.950 / 16 of 17
        (BLIND_O, 0.89, 0.90, 0.9),  # tuned on from its first look (0.907 / 0.898 / 16 of 17): 0.933 / 0.929 / 16 of 17
        (BLIND_Q, 0.95, 0.96, 0.9),  # tuned on from its first look (0.973 / 0.979 / 18 of 18): 0.986 / 0.990 / 18 of 18
        (BLIND_S, 0.89, 0.89, 0.9),  # tuned on from its first look (0.900 / 0.913 / 17 of 17): 0.925 / 0.922 / 17 of 17
        (BLIND_U, 0.94, 0.95, 0.9),  # tuned on from its first look (0.963 / 0.971 / 19 of 19): 0.975 / 0.981 / 19 of 19
        (BLIND_W, 0.87, 0.92, 0.9),  # tuned on from its first look (0.900 / 0.942 / 53 of 54): 0.900 / 0.952 / 54 of 54
        (BLIND_X, 0.94, 0.95, 0.9),  # tuned on from its first look (0.937 / 0.942 / 18 of 18): 0.975 / 0.981 / 18 of 18
        (BLIND_Z, 0.86, 0.92, 0.9),  # tuned on from its first look (0.878 / 0.941 / 53 of 53): 0.898 / 0.951 / 53 of 53
        (BLIND_AA, 0.91, 0.90, 0.9),  # tuned on from its first look (0.939 / 0.934 / 18 of 18): equal
        (BLIND_AB, 0.96, 0.95, 0.8),  # tuned on from its first look (1.000 / 0.969 / 10 of 12): 1.000 / 0.980 / 10 of 12
        # Never tuned on.
        (BLIND_B, 0.93, 0.94, 0.9),  # 0.965 / 0.969 / 12 of 12
        (BLIND_C, 0.96, 0.95, 0.9),  # 0.989 / 0.984 / 22 of 22
        (BLIND_F, 0.94, 0.92, 0.8),  # 0.975 / 0.953 / 19 of 22
        (BLIND_H, 0.94, 0.94, 0.85),  # first look 0.921 / 0.909 / 16 of 18; now 0.987 / 0.980 / 17 of 18
        (BLIND_J, 0.94, 0.93, 0.85),  # first look 0.933 / 0.918 / 16 of 18; now 0.973 / 0.969 / 17 of 18
        (BLIND_L, 0.90, 0.90, 0.85),  # first look 0.872 / 0.880 / 16 of 17; after the tenth session 0.936 / 0.940 / 17 of 17
        (BLIND_N, 0.92, 0.92, 0.9),  # first look 0.923 / 0.940 / 17 of 17; after the tenth session 0.936 / 0.940 / 16 of 17
        (BLIND_P, 0.91, 0.91, 0.85),  # first look 0.924 / 0.930 / 15 of 16; after the tenth session 0.949 / 0.940 / 14 of 16
        (BLIND_R, 0.90, 0.90, 0.9),  # first look 0.919 / 0.929 / 18 of 18; after the eleventh session 0.932 / 0.929 / 17 of 18
        (BLIND_T, 0.93, 0.93, 0.9),  # first look 0.934 / 0.940 / 18 of 18; after the tenth session 0.961 / 0.960 / 18 of 18
        (BLIND_V, 0.88, 0.88, 0.9),  # first look 0.909 / 0.912 / 18 of 18; after the eleventh session 0.909 / 0.912 / 18 of 18
        (BLIND_Y, 0.91, 0.93, 0.9),  # first look 0.922 / 0.931 / 18 of 18; after the twelfth session 0.948 / 0.960 / 18 of 18
        (BLIND_AC, 0.93, 0.93, 0.9),  # first look 0.963 / 0.962 / 17 of 18; after the thirteenth session equal
    ],
    ids=["blind-a-tuning", "blind-d-tuning", "blind-e-tuning", "blind-g-tuning", "blind-i-tuning", "blind-k-tuning",
         "blind-m-tuning", "blind-o-tuning", "blind-q-tuning", "blind-s-tuning", "blind-u-tuning", "blind-w-tuning",
         "blind-x-tuning", "blind-z-tuning", "blind-aa-tuning", "blind-ab-tuning",
         "blind-b-report", "blind-c-report", "blind-f-report", "blind-h-report", "blind-j-report", "blind-l-report",
         "blind-n-report", "blind-p-report", "blind-r-report", "blind-t-report", "blind-v-report", "blind-y-report",
         "blind-ac-report"],
)
def test_blind_learner_questions_are_answered(
    bot: Assistant, path: Path, hit1: float, everything: float, refused: float
) -> None:
    m = evaluate(bot, load_cases(path))["metrics"]
    assert m["Hit@1"]["value"] >= hit1 and m["all"]["value"] >= everything and m["oos"]["value"] >= refused, m


def test_a_conversation_follows_the_learner_turn_by_turn(bot: Assistant) -> None:
    """60 conversations written without sight of the engine: follow-ups, backgrounds, comparisons, asides."""
    report = evaluate(bot, load_cases(CONVERSATIONS))
    assert report["metrics"]["all"]["value"] >= 0.9, report["failures"]


def test_hybrid_beats_each_retriever_alone_on_mrr(bot: Assistant, index_dir: Path) -> None:
    """On every blind set's top questions together (~2,000): two sets alone are decided by a single question (in the
    ninth session A and B gave dense 0.9896 against hybrid's 0.9881, one answer at rank two, while over all the sets
    hybrid led by 0.006). Each set's own figures are in the README."""
    cases = [c for f in sorted(SETS.glob("blind_*.jsonl")) for c in load_cases(f) if c.check == "top"]
    mrr = {
        mode: evaluate(Assistant.load(index_dir=index_dir, retriever=mode), cases)["metrics"]["MRR"]["value"]
        for mode in ("dense", "bm25")
    }
    hybrid = evaluate(bot, cases)["metrics"]["MRR"]["value"]
    assert hybrid > mrr["dense"] and hybrid > mrr["bm25"], (hybrid, mrr)


# Off-topic near misses of each kind the answer-quality issue names (our own examples; the classifier never saw them).
OUT_OF_SCOPE = [
    "How tall is Mount Everest?",
    "i'm building a travel blog, should i use flask or django?",  # a roadmap word in another sense
    "how much does a senior ML engineer make in Toronto?",  # pay
    "is a MacBook Air good enough or should I get a gaming laptop with an RTX card?",  # gadgets
    "ModuleNotFoundError: No module named 'sklearn' even though I ran pip install sklearn, help",  # an error
    "what's the best way to become a commercial airline pilot?",  # another career
    "how do I get started with game development in Unity?",  # another field, asked as "where do I start"
    "How can I become a nurse?",  # another career, worded like the roadmap's own FAQ
    "my sourdough starter doubles too slowly, should I change the batch size of flour I feed it?",  # another sense
]


@pytest.mark.parametrize("question", OUT_OF_SCOPE)
def test_out_of_scope_is_not_passed_off_as_an_answer(bot: Assistant, question: str) -> None:
    ans = bot.ask(question)
    assert ans.confident is False
    assert ans.intent == "out_of_scope"
    assert ans.topic is None and ans.prerequisites == [] and ans.next_topics == []
    assert "won't guess" in ans.answer and "**" in ans.answer  # an honest reply that suggests topics


@pytest.mark.parametrize(
    "question, expected",
    [
        # A tool named in passing does not capture the answer.
        ("our keras model needs to handle five thousand predictions per second for the checkout page", "model-serving"),
        # A described situation reaches its concept.
        ("I keep trading missed fraud cases against false alarms by moving the cutoff, is there a chart of every "
         "cutoff at once?", "roc-auc"),
        # A long, chatty question is answered with confidence.
        ("hey so I've been working through a bunch of online courses for the last few months and I keep getting "
         "stuck on the same thing, my models look amazing on the data I trained on and then fall apart on anything "
         "new, what am I doing wrong?", "overfitting|prevent-overfitting"),
        # A stated belief leads with the misconception.
        ("so with AutoML around, the whole ML engineering job gets automated away soon, right?", "fully-automated"),
        # A story's "before" is not a request for prerequisites: only the sentence that asks is read for intent.
        ("my churn model scored 0.98 in testing and 0.55 live. I normalised all rows before the train/test split "
         "and used a cancelled_at column. what did I do wrong?", "data-leakage"),
        # "next time" is not "what comes next"
        ("my house price model scored 0.99 in testing and then failed in production: one column was only filled in "
         "after the sale had closed. what is this mistake called and how do I avoid it next time?", "data-leakage"),
        # "the ones before it" describes, it does not ask for prerequisites
        ("people keep recommending catboost to me. so every new tree fixes the errors of the ones before it? what is "
         "the idea called?", "gradient-boosting"),
        # A story's "after" orders events; it does not ask what comes next (no question mark to narrow it down)
        ("Validation looked perfect and it collapsed in production. Turns out one input column was only filled in "
         "after the customer had already cancelled.", "data-leakage"),
        # "where do I start?" on a task of one's own asks about the task, not where to start learning
        ("my spreadsheet export has duplicate rows, misspelt city names and dates in two formats. where do i start?",
         "data-cleaning"),
        # ...and so does "where do I start?" after asking what the described thing is called
        ("our pumps have vibration sensors read every second and failures are almost never labelled. I want to flag "
         "readings that look odd before something breaks: what is this approach called and where do I start?",
         "anomaly-detection"),
        # "where do I start?" (or "starting from zero") in a story of one's own task with no word of learning: the
        # walk model overrules the path, as it does cue words
        ("we run three bakeries and have four years of daily bread sales with clear weekday and christmas spikes. I "
         "need next month's orders per shop, where do I start?", "time-series"),
        ("I only have 300 x-ray images. could I reuse a network that already learned from millions of everyday "
         "pictures, instead of starting from zero?", "transfer-learning"),
        # Cue words read these as prerequisites ("need for", "needed for"); the walk model overrules them
        ("what do I need for serving a model at a thousand requests a second?", "model-serving|scalability"),
        ("Is SQL needed for pulling training data out of our warehouse, or can pandas do it all?", "sql"),
    ],
    ids=["tool-in-passing", "described-situation", "long-and-chatty", "stated-belief", "story-with-before", "next-time",
         "the-ones-before-it", "story-with-after", "start-on-own-task",
         "start-after-naming-ask", "start-on-own-forecast", "start-from-zero-own-task", "walk-overruled-serving",
         "walk-overruled-sql"],
)
def test_failure_kinds_from_blind_questions_are_pinned(bot: Assistant, question: str, expected: str) -> None:
    import re

    ans = bot.ask(question)
    assert ans.confident and re.fullmatch(expected, ans.passages[0].id), (ans.intent, ans.passages[:2])
    assert ans.intent not in ("prerequisites", "next_topics", "learning_path")


def test_a_question_that_only_names_its_topic_is_not_vetoed_by_an_off_topic_look_alike(bot: Assistant) -> None:
    """The veto compares the nearest off-topic training question with the kb's phrasings and names: a question that
    names a topic (which few phrasings do) is answered though a film question shares its words; the film question
    itself is still refused."""
    ans = bot.ask("What are the prerequisites for attention and transformers?")
    assert ans.confident and ans.intent == "prerequisites" and ans.topic is not None
    assert ans.topic["id"] == "attention-transformers" and ans.prerequisites
    films = bot.ask("in which order should I watch the Transformers films?")
    assert not films.confident and films.intent == "out_of_scope"


@pytest.mark.parametrize(
    "question, expected",
    [
        ("hw do i stop my modle from overfiting the trainign data", "overfitting|prevent-overfitting"),
        ("whats kubernates used for in ml", "kubernetes"),
        ("hyperparamter tunning with gird search takes forever, is ther a smarter way", "hyperparameter-tuning"),
    ],
    ids=["overfitting", "kubernetes", "hyperparameter-tuning"],
)
def test_misspelt_questions_reach_their_topic(bot: Assistant, question: str, expected: str) -> None:
    """Typed fast, misspelt: still answered with the right topic, with confidence (the embedding's word pieces and
    the lexical side's character 4-grams both carry a misspelt word; `test_index` pins the 4-grams alone)."""
    import re

    ans = bot.ask(question)
    assert ans.confident and re.fullmatch(expected, ans.passages[0].id), (ans.intent, ans.passages[:2])


def test_the_walk_model_is_consulted_only_on_cue_words_and_confirms_real_walks(bot: Assistant) -> None:
    """Cue words mark a question as a possible walk; the walk model (trained on `training/walks.jsonl`) confirms the
    real ones and overrules the rest, and a question without cue words is never made a walk."""
    from qa.state import State
    from qa.understand import settle, understand

    def turn(q: str):  # type: ignore[no-untyped-def]
        return understand(q, State(), bot.kb, bot.names, bot.retriever.specificity)

    # ("what do I need for serving a model at scale?" sits at the threshold: it may fairly ask what to learn first.)
    story_q = "what do I need for serving a model at a thousand requests a second?"
    walk, story = turn("What should I learn after pandas?"), turn(story_q)
    assert walk.cue_only and story.cue_only and story.intent == "prerequisites"
    models = bot.retriever.models
    assert models is not None and models.walk is not None
    assert models.walks(bot.retriever.encode([walk.question])[0], 6) >= models.walk_threshold
    assert models.walks(bot.retriever.encode([story.question])[0], len(story_q.split())) < models.walk_threshold
    assert settle(story, walks=False).intent is None and settle(walk, walks=True).intent == "next_topics"
    plain = turn("What is a CNN?")
    assert not plain.cue_only and settle(plain, walks=True).intent is None
    # a follow-up leans on the conversation, not on cue words alone: never overruled
    assert not turn("and before that?").cue_only
    import json

    report = json.loads((bot.settings.index_dir / "ranker.json").read_text())["cv"]["walk"]
    # its threshold keeps 0.9 of the cued walks out of fold, and it overrules well over half the look-alikes
    assert report["cued"]["walks_kept"] >= 0.85 and report["cued"]["others_overruled"] > 0.5


@pytest.mark.parametrize(
    "question, intent, topic",
    [
        ("What is a CNN?", "definition", "cnn"),
        ("Explain random forests", "definition", "random-forests"),
        ("How can I become a machine learning engineer?", "faq", None),
        ("What should I learn before deep learning?", "prerequisites", "deep-learning"),
        ("What should I learn after decision trees?", "next_topics", "decision-trees"),
        ("Before I start with Kubernetes, what do I need to learn?", "prerequisites", "kubernetes"),
        # the first "before" orders events, the second asks
        ("I normalised everything before the split and now I want to know what to learn before deep learning",
         "prerequisites", "deep-learning"),
        ("what do I study after I finish pandas?", "next_topics", "pandas"),
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
    "question, topic",
    [
        ("I know NumPy, what should I learn next?", "numpy"),  # used to say "Learn first: Linear algebra, Python"
        ("What can I learn once I understand the confusion matrix?", "confusion-matrix"),
    ],
)
def test_what_follows_a_known_topic_asks_nothing_to_learn_first(bot: Assistant, question: str, topic: str) -> None:
    ans = bot.ask(question)
    assert ans.intent == "next_topics" and ans.topic is not None and ans.topic["id"] == topic
    assert ans.next_topics and ans.prerequisites == [] and "Learn first" not in ans.answer


@pytest.mark.parametrize(
    "question, known, target",
    [
        # an adverb before the verb, and the known thing opened by "how" / "what" (it used to end the clause, so
        # nothing was known and the path went to backpropagation itself)
        ("I finally understand how backpropagation works, how do I get to attention and transformers?",
         "backpropagation", "attention-transformers"),
        ("I now understand what neural networks are. How do I get to transformers?",
         "neural-networks", "attention-transformers"),
    ],
)  # fmt: skip
def test_understanding_how_or_what_something_is_counts_as_known(
    bot: Assistant, question: str, known: str, target: str
) -> None:
    ans = bot.ask(question)
    assert ans.intent == "learning_path"
    assert ans.topic is not None and ans.topic["id"] == target
    assert known not in [t["id"] for t in ans.prerequisites]
    assert f"skipping what you know: {bot.kb[known].title}" in ans.answer


@pytest.mark.parametrize(
    "question, claim",
    [
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
        (["What is linear regression?"], "how is it different from logistic regression?", "comparison", None),
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


def test_row_scores_are_the_faiss_flat_search_scores_in_storage_order(bot: Assistant) -> None:
    """The ranker's cosines come from a product over FAISS's storage; they are exactly what FAISS's own flat search
    returns for every row, so skipping its sort changes no score."""
    dense = bot.retriever._dense  # noqa: SLF001 - both ways of scoring the same index
    q = bot.retriever.encode(["my model is great on training data and awful on new data"])
    found, rows = dense._index.search(q, dense._index.ntotal)  # noqa: SLF001
    product = dense.row_scores(q)
    assert product.shape == (1, dense._index.ntotal)  # noqa: SLF001
    assert np.allclose(product[0, rows[0]], found[0], atol=1e-5)
    assert int(np.argmax(product[0])) == int(rows[0, 0])


@pytest.mark.parametrize(
    "question, belief",
    [
        ("so AutoML will do it all, right?", True),
        ("deep learning only works with huge datasets", True),
        ("you only need python, right?", True),
        ("I'm reading statistics books all year before any coding, since you have to know the theory first", True),
        ("what do you have to know first?", False),  # asks for prerequisites; states no rule
        ("when my model flags a payment, how often is it actually right?", False),  # asks whether it is correct
        ("only 1 in 500 of my transactions is fraud and the model predicts 'not fraud' every time", False),  # a count
    ],
)
def test_a_stated_belief_is_told_from_a_question_about_correctness_or_a_count(
    bot: Assistant, question: str, belief: bool
) -> None:
    from qa.intent import parse

    assert parse(question, bot.names).states_belief is belief


def test_a_path_question_that_is_an_faq_leads_with_the_faq_and_still_shows_the_path(bot: Assistant) -> None:
    """"What's the path to an ML engineer job?" asks the FAQ "How do I become a machine learning engineer?": the
    answer leads with that entry, the role's concept beside it."""
    ans = bot.ask("backend dev, 3 years of Go: what's the path to get into machine learning engineering?")
    assert ans.confident and ans.intent == "learning_path"
    assert ans.passages[0].id == "become-ml-engineer", [p.id for p in ans.passages]
    assert "ml-engineer" in [p.id for p in ans.passages[:3]]
