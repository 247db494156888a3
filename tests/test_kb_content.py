"""The real knowledge base: its size, the article's topics, and passages that are about what they claim."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import networkx as nx
import pytest

import kb as kbase
from kb.names import normalize

ARTICLE = Path(__file__).resolve().parents[2] / "shared" / "source" / "ml-engineer-roadmap.txt"

# Every topic the source article names, as a learner would type it.
ARTICLE_TOPICS = """linear algebra|probability|statistics|python|R|julia|numpy|scikit-learn|keras|tensorflow|pytorch|ggplot2|
linear regression|logistic regression|decision trees|k-means|clustering|random forests|svm|gradient boosting|naive bayes|
neural networks|cnn|rnn|deep learning|transfer learning|missing values|normalization|categorical encoding|one-hot encoding|
scaling|dimensionality reduction|feature engineering|outliers|accuracy|precision|recall|f1 score|roc auc|cross-validation|
hyperparameter tuning|supervised learning|unsupervised learning|model deployment|aws|azure|docker|kubernetes|monitoring|
data visualization|data structures and algorithms|nlp|image recognition|ethics|bias|fairness|privacy|data preprocessing|
model evaluation|online courses|continuous learning|calculus|gradient descent|overfitting|regularization|train test split|
pandas|sql|git""".replace("\n", "")


def test_kb_is_big_enough(real_kb: kbase.KnowledgeBase) -> None:
    stats = real_kb.stats()
    assert stats["concept"] >= 80
    assert stats["faq"] >= 10
    assert stats["misconception"] >= 5
    assert stats["prerequisite_edges"] >= stats["concept"]


@pytest.mark.parametrize("name", ARTICLE_TOPICS.split("|"))
def test_every_article_topic_is_a_concept(graph_bot, name: str) -> None:  # type: ignore[no-untyped-def]
    assert graph_bot.topic(name).kind == "concept"


def test_every_summary_names_its_concept(real_kb: kbase.KnowledgeBase) -> None:
    wrong = []
    for t in real_kb.of_kind("concept"):
        text = f" {normalize(t.summary)} "
        if not any(f" {normalize(n)} " in text or normalize(n) in text for n in t.names):
            wrong.append(t.id)
    assert not wrong, f"summaries that name neither their title nor an alias: {wrong}"


def test_summaries_are_three_to_seven_sentences(real_kb: kbase.KnowledgeBase) -> None:
    counts = {t.id: len(re.findall(r"[.!?](\s|$)", t.summary)) for t in real_kb.of_kind("concept")}
    assert {i: n for i, n in counts.items() if not 3 <= n <= 7} == {}


GRAMS_FILE = Path(__file__).resolve().parent / "fixtures" / "article_8grams.txt"


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def _gram_hashes(words: list[str]) -> set[str]:
    return {hashlib.sha256(" ".join(words[i : i + 8]).encode()).hexdigest()[:12] for i in range(len(words) - 7)}


def _article_grams() -> set[str]:
    """Hashes of every 8-word run of the article, kept in the repo so the check runs without the article itself."""
    lines = GRAMS_FILE.read_text(encoding="utf-8").splitlines()
    return {line for line in lines if line and not line.startswith("#")}


@pytest.mark.skipif(not ARTICLE.exists(), reason="the article is not beside this checkout")
def test_the_article_fingerprint_is_current() -> None:
    assert _article_grams() == _gram_hashes(_words(ARTICLE.read_text(encoding="utf-8")))


def test_no_kb_passage_repeats_eight_words_of_the_article(real_kb: kbase.KnowledgeBase) -> None:
    grams = _article_grams()
    def texts(t: kbase.Topic) -> list[str]:
        return [f"{t.title} {t.summary}", t.in_short or "", t.example or "", *t.asks]

    copied = [t.id for t in real_kb.entries for x in texts(t) if _gram_hashes(_words(x)) & grams]
    assert not copied, f"rewrite in the project's own words: {copied}"


def test_the_graph_starts_from_foundations(real_kb: kbase.KnowledgeBase) -> None:
    g = kbase.prerequisite_graph(real_kb.graph)
    assert nx.is_directed_acyclic_graph(g)
    roots = {n for n in g if g.in_degree(n) == 0}
    assert {"linear-algebra", "python", "probability"} <= roots
    assert {real_kb[r].category for r in roots} <= {"maths & statistics", "programming", "career & practice", "ethics"}
    deep = kbase.learning_path(real_kb.graph, "cnn")
    assert (
        deep.index("linear-algebra") < deep.index("neural-networks") < deep.index("deep-learning") < deep.index("cnn")
    )


def test_faq_and_misconceptions_point_at_concepts(real_kb: kbase.KnowledgeBase) -> None:
    for t in real_kb.of_kind("faq") + real_kb.of_kind("misconception"):
        assert t.about and all(real_kb[a].kind == "concept" for a in t.about)
