"""Graph queries on small graphs built inline, and name lookup with typos."""

from __future__ import annotations

import pytest

from kb import NameIndex, Topic, UnknownTopicError, learning_path, load_kb, next_topics, prerequisites
from kb.graph import build_graph, find_prerequisite_cycle, learning_order
from tests.conftest import MINI_KB


def t(id_: str, *prereqs: str, related: tuple[str, ...] = ()) -> Topic:
    return Topic(id_, "concept", id_.upper(), "x" * 40, prerequisites=prereqs, related=related)


def test_empty_graph_has_no_cycle_and_no_order() -> None:
    g = build_graph([])
    assert find_prerequisite_cycle([]) is None
    assert learning_order(g, []) == []
    with pytest.raises(UnknownTopicError):
        prerequisites(g, "a")


def test_unknown_node_raises_unknown_topic() -> None:
    g = build_graph([t("a")])
    for query in (prerequisites, next_topics, learning_path):
        with pytest.raises(UnknownTopicError, match="unknown topic 'zz'"):
            query(g, "zz")


def test_two_node_cycle_found() -> None:
    assert find_prerequisite_cycle([t("a", "b"), t("b", "a")]) == ["a", "b", "a"]


def test_direct_and_transitive_prerequisites_in_learning_order() -> None:
    # a -> b -> d, c -> d, d -> e
    g = build_graph([t("e", "d"), t("d", "b", "c"), t("c"), t("b", "a"), t("a")])
    assert prerequisites(g, "d") == ["c", "b"]  # c is a root (level 0), b stands on a (level 1)
    order = prerequisites(g, "e", transitive=True)
    assert sorted(order) == ["a", "b", "c", "d"]
    assert order.index("a") < order.index("b") < order.index("d")
    assert order.index("c") < order.index("d")
    assert prerequisites(g, "a") == []


def test_next_topics_put_the_closest_to_ready_first() -> None:
    g = build_graph([t("a"), t("z"), t("b", "a", "z"), t("c", "a"), t("d", "c"), t("e", "b"), t("f", "e")])
    assert next_topics(g, "a") == ["c", "b"]  # b still needs z
    assert next_topics(g, "a", known=["z"]) == ["b", "c"]  # both ready now; b unlocks more
    assert next_topics(g, "a", known=["c"]) == ["b"]


def test_next_topics_of_a_leaf_fall_back_to_related() -> None:
    g = build_graph([t("a"), t("b", "a"), t("c", related=("a",))])
    assert next_topics(g, "b") == []
    assert next_topics(g, "c") == ["a"]


def test_a_leaf_does_not_offer_its_own_prerequisites_as_next() -> None:
    g = build_graph([t("a"), t("b", "a"), t("c", "b", related=("a", "d")), t("d")])
    assert next_topics(g, "c") == ["d"]


def test_learning_path_skips_known_and_what_they_stand_on() -> None:
    g = build_graph([t("a"), t("b", "a"), t("c", "b"), t("x"), t("d", "c", "x")])
    assert learning_path(g, "d") == ["a", "x", "b", "c", "d"]
    assert learning_path(g, "d", known=["b"]) == ["x", "c", "d"]
    assert learning_path(g, "d", known=["d"]) == []


def test_mini_kb_graph_queries() -> None:
    kb = load_kb(MINI_KB)
    assert prerequisites(kb.graph, "models") == ["coding", "vectors"]  # the root first, then what stands on algebra
    assert learning_path(kb.graph, "ensembles", known=["coding"]) == ["algebra", "vectors", "models", "ensembles"]
    assert next_topics(kb.graph, "vectors") == ["models"]


@pytest.fixture(scope="module")
def names() -> NameIndex:
    return NameIndex(load_kb(MINI_KB).entries)


@pytest.mark.parametrize(
    "ref, expected",
    [
        ("models", "models"),
        ("MODELS", "models"),
        ("ML models", "models"),
        ("ml-models", "models"),
        ("Ensembels", "ensembles"),
        ("vectrs", "vectors"),
        ("Where should I start?", "where-to-start"),
        ("models-only", "models-only"),
    ],
)
def test_resolve_ids_titles_aliases_and_typos(names: NameIndex, ref: str, expected: str) -> None:
    assert names.resolve(ref) == expected


def test_unknown_ref_suggests_nearest(names: NameIndex) -> None:
    with pytest.raises(UnknownTopicError) as e:
        names.resolve("vector calculus")
    assert "Vectors" in e.value.suggestions
    assert "did you mean" in str(e.value)


def test_mentions_find_names_in_a_question_longest_first(names: NameIndex) -> None:
    found = names.mentions("How do ML models and ensembels relate to basic algebra?")
    assert [m.id for m in found] == ["models", "ensembles", "algebra"]
    assert found[1].score < 100  # the typo matched fuzzily
    assert names.mentions("What is the best pizza topping?") == []


def test_mentions_forgive_inflections_of_names_of_two_words_or_more(names: NameIndex) -> None:
    found = names.mentions("is programming basic enough, or does an ML model need more?")
    assert [(m.id, m.score) for m in found] == [("coding", 95.0), ("models", 95.0)]
    assert [m.id for m in names.mentions("How do I code this?")] == []  # one word is never stemmed: too loose
