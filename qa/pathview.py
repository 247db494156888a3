"""A picture of the learning path to a topic: a small layered SVG of the target, everything it stands on, and which
of those the learner knows. Drawn by hand so the chat needs no plotting library; every label is escaped."""

from __future__ import annotations

import html
from collections.abc import Iterable

import networkx as nx

import kb as kbase
from kb import KnowledgeBase

BOX_W, BOX_H, GAP_X, GAP_Y, PAD = 168, 30, 44, 12, 10
COLORS = {  # fill, stroke, text
    "known": ("#dcfce7", "#16a34a", "#14532d"),
    "learn": ("#fef3c7", "#d97706", "#78350f"),
    "target": ("#ede9fe", "#7c3aed", "#3b0764"),
}


def _label(title: str, limit: int = 24) -> str:
    return title if len(title) <= limit else title[: limit - 1].rstrip() + "\u2026"


def path_svg(kb: KnowledgeBase, target: str, known: Iterable[str] = ()) -> str:
    """The SVG (as text) for `target`'s learning path; known topics green, those to learn amber, the target violet."""
    g = kbase.prerequisite_graph(kb.graph)
    nodes = nx.ancestors(g, target) | {target}
    known_all: set[str] = set()
    for k in known:
        if k in g:
            known_all |= nx.ancestors(g, k) | {k}
    sub = g.subgraph(nodes)
    column: dict[str, int] = {}
    for n in nx.topological_sort(sub):
        column[n] = max((column[p] + 1 for p in sub.predecessors(n)), default=0)
    cols: dict[int, list[str]] = {}
    for n in sorted(nodes, key=lambda n: kb[n].title.lower()):
        cols.setdefault(column[n], []).append(n)
    pos: dict[str, tuple[int, int]] = {}
    for c, members in cols.items():
        for r, n in enumerate(members):
            pos[n] = (PAD + c * (BOX_W + GAP_X), PAD + r * (BOX_H + GAP_Y))
    width = PAD * 2 + len(cols) * (BOX_W + GAP_X) - GAP_X
    height = PAD * 2 + max(len(m) for m in cols.values()) * (BOX_H + GAP_Y) - GAP_Y + 22
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="roadmap-path" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-label="Learning path to {html.escape(kb[target].title)}">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" '
        'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#94a3b8"/></marker></defs>',
    ]
    for u, v in sub.edges:
        (x1, y1), (x2, y2) = pos[u], pos[v]
        out.append(
            f'<line x1="{x1 + BOX_W}" y1="{y1 + BOX_H / 2}" x2="{x2 - 2}" y2="{y2 + BOX_H / 2}" '
            'stroke="#94a3b8" stroke-width="1.2" marker-end="url(#arrow)"/>'
        )
    for n, (x, y) in pos.items():
        state = "target" if n == target else "known" if n in known_all else "learn"
        fill, stroke, ink = COLORS[state]
        title = html.escape(kb[n].title)
        out.append(
            f'<g class="node {state}" data-id="{html.escape(n)}"><title>{title} ({state})</title>'
            f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="7" fill="{fill}" stroke="{stroke}"/>'
            f'<text x="{x + BOX_W / 2}" y="{y + BOX_H / 2 + 4}" text-anchor="middle" font-size="12" '
            f'font-family="system-ui, sans-serif" fill="{ink}">{html.escape(_label(kb[n].title))}</text></g>'
        )
    legend_y = height - 8
    for i, (state, label) in enumerate((("known", "known"), ("learn", "to learn"), ("target", "target"))):
        fill, stroke, ink = COLORS[state]
        x = PAD + i * 90
        out.append(
            f'<rect x="{x}" y="{legend_y - 10}" width="12" height="12" rx="3" fill="{fill}" stroke="{stroke}"/>'
            f'<text x="{x + 17}" y="{legend_y}" font-size="11" font-family="system-ui, sans-serif" fill="{ink}">'
            f"{label}</text>"
        )
    out.append("</svg>")
    return "".join(out)
