"""The prerequisite graph and its queries.

One `networkx.DiGraph` holds every entry: an edge ``u -> v`` with ``relation="prerequisite"`` means *learn u before
v*; an edge ``faq -> concept`` with ``relation="about"`` links FAQ entries and misconceptions to their concepts.
Functions take the graph first and return lists of ids, in learning order where order matters.
"""

from __future__ import annotations

from collections.abc import Iterable

import networkx as nx

from kb.errors import UnknownTopicError
from kb.model import Topic

PREREQUISITE = "prerequisite"
ABOUT = "about"


def build_graph(entries: Iterable[Topic]) -> nx.DiGraph:
    """Build the graph of a validated kb; each concept node carries its `level` (longest prerequisite chain).

    Examples
    --------
    >>> a = Topic("a", "concept", "A", "x" * 40)
    >>> b = Topic("b", "concept", "B", "x" * 40, prerequisites=("a",))
    >>> g = build_graph([a, b])
    >>> g.nodes["b"]["level"], g.edges["a", "b"]["relation"]
    (1, 'prerequisite')
    """
    entries = list(entries)
    g = nx.DiGraph()
    for t in entries:
        g.add_node(t.id, kind=t.kind, title=t.title, related=t.related)
    for t in entries:
        for p in t.prerequisites:
            g.add_edge(p, t.id, relation=PREREQUISITE)
        for a in t.about:
            g.add_edge(t.id, a, relation=ABOUT)
    pg = prerequisite_graph(g)
    for n in nx.topological_sort(pg):
        g.nodes[n]["level"] = max((g.nodes[p]["level"] + 1 for p in pg.predecessors(n)), default=0)
    # Every ask walks this part of the graph: a frozen copy costs a few KB and spares the filtering view's per-edge
    # checks (a fifth of an ask's Python time).
    g.graph[_PREREQUISITES] = nx.freeze(pg.copy())
    return g


_PREREQUISITES = "prerequisite_graph"


def prerequisite_graph(g: nx.DiGraph) -> nx.DiGraph:
    """A read-only graph of the concepts and only the prerequisite edges (kept with a graph from `build_graph`)."""
    kept = g.graph.get(_PREREQUISITES)
    if kept is not None:
        return kept
    return nx.subgraph_view(
        g,
        filter_node=lambda n: g.nodes[n].get("kind") == "concept",
        filter_edge=lambda u, v: g.edges[u, v].get("relation") == PREREQUISITE,
    )


def find_prerequisite_cycle(entries: Iterable[Topic]) -> list[str] | None:
    """The first prerequisite cycle as ids with the first repeated at the end, or None.

    >>> a = Topic("a", "concept", "A", "x" * 40, prerequisites=("b",))
    >>> b = Topic("b", "concept", "B", "x" * 40, prerequisites=("a",))
    >>> find_prerequisite_cycle([a, b])
    ['a', 'b', 'a']
    """
    g = nx.DiGraph()
    for t in entries:
        g.add_node(t.id)
        g.add_edges_from((p, t.id) for p in t.prerequisites)
    try:
        edges = nx.find_cycle(g)
    except nx.NetworkXNoCycle:
        return None
    cycle = [u for u, _ in edges]
    start = cycle.index(min(cycle))  # start at the smallest id so the message is stable
    cycle = cycle[start:] + cycle[:start]
    return [*cycle, cycle[0]]


def _check(g: nx.DiGraph, node: str) -> None:
    if node not in g or g.nodes[node].get("kind") != "concept":
        raise UnknownTopicError(node)


def _order_key(g: nx.DiGraph):
    return lambda n: (g.nodes[n]["level"], g.nodes[n]["title"].lower())


def learning_order(g: nx.DiGraph, nodes: Iterable[str]) -> list[str]:
    """`nodes` sorted so each comes after all of its prerequisites among them; ties go to the more basic topic.

    >>> a = Topic("a", "concept", "A", "x" * 40)
    >>> b = Topic("b", "concept", "B", "x" * 40, prerequisites=("a",))
    >>> c = Topic("c", "concept", "C", "x" * 40, prerequisites=("b",))
    >>> learning_order(build_graph([c, b, a]), ["c", "a", "b"])
    ['a', 'b', 'c']
    """
    sub = prerequisite_graph(g).subgraph(set(nodes))
    return list(nx.lexicographical_topological_sort(sub, key=_order_key(g)))


def _closure(g: nx.DiGraph, nodes: Iterable[str]) -> set[str]:
    """`nodes` and everything they stand on."""
    pg = prerequisite_graph(g)
    out: set[str] = set()
    for n in nodes:
        out.add(n)
        out |= nx.ancestors(pg, n)
    return out


def prerequisites(g: nx.DiGraph, node: str, transitive: bool = False) -> list[str]:
    """What to learn before `node`: direct prerequisites, or with `transitive` all of them, in learning order.

    Raises
    ------
    UnknownTopicError
        `node` is not a concept of the graph.
    """
    _check(g, node)
    pg = prerequisite_graph(g)
    nodes = nx.ancestors(pg, node) if transitive else set(pg.predecessors(node))
    return learning_order(g, nodes)


def next_topics(g: nx.DiGraph, node: str, known: Iterable[str] = ()) -> list[str]:
    """What `node` unlocks, most useful first: topics closest to ready (fewest other missing prerequisites), then
    those that unlock the most. A topic that unlocks nothing falls back to its related topics. Known topics are left out.

    >>> a = Topic("a", "concept", "A", "x" * 40)
    >>> z = Topic("z", "concept", "Z", "x" * 40)
    >>> b = Topic("b", "concept", "B", "x" * 40, prerequisites=("a", "z"))
    >>> c = Topic("c", "concept", "C", "x" * 40, prerequisites=("a",))
    >>> next_topics(build_graph([a, z, b, c]), "a")
    ['c', 'b']
    """
    _check(g, node)
    pg = prerequisite_graph(g)
    known_all = _closure(g, [k for k in known if k in pg])
    candidates = [s for s in pg.successors(node) if s not in known_all]
    if not candidates:
        before = nx.ancestors(pg, node)  # a see-also link back to a prerequisite is not a next step
        return [r for r in g.nodes[node]["related"] if r not in known_all and r != node and r not in before]

    def usefulness(s: str) -> tuple[int, int, str]:
        missing = sum(1 for p in pg.predecessors(s) if p != node and p not in known_all)
        return (missing, -len(nx.descendants(pg, s)), g.nodes[s]["title"].lower())

    return sorted(candidates, key=usefulness)


def learning_path(g: nx.DiGraph, target: str, known: Iterable[str] = ()) -> list[str]:
    """Everything still to learn to reach `target`, each after its prerequisites, ending with `target`.

    A known topic counts its own prerequisites as known. Empty when `target` itself is known.

    >>> a = Topic("a", "concept", "A", "x" * 40)
    >>> b = Topic("b", "concept", "B", "x" * 40, prerequisites=("a",))
    >>> c = Topic("c", "concept", "C", "x" * 40, prerequisites=("b",))
    >>> learning_path(build_graph([a, b, c]), "c", known=["a"])
    ['b', 'c']
    """
    _check(g, target)
    known = list(known)
    for k in known:
        _check(g, k)
    done = _closure(g, known)
    need = _closure(g, [target]) - done
    return learning_order(g, need)
