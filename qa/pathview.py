"""A picture of the learning path to a topic: a small layered SVG of the target, everything it stands on, and which
of those the learner knows. Drawn by hand so the chat needs no plotting library; every label is escaped."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

import networkx as nx

import kb as kbase
from kb import KnowledgeBase

BOX_W, BOX_H, GAP_X, GAP_Y, PAD = 150, 30, 10, 18, 8
PER_LINE = 3  # boxes side by side; a wider layer wraps onto more lines, so labels stay readable in a side panel
COLORS = {  # fill, stroke, text
    "known": ("#dcfce7", "#16a34a", "#14532d"),
    "learn": ("#fef3c7", "#d97706", "#78350f"),
    "target": ("#ede9fe", "#7c3aed", "#3b0764"),
}
LEGEND = {"known": "known", "learn": "to learn", "target": "target"}


def _label(title: str) -> tuple[str, float]:
    """A box label and its font size: a trailing "(ABBR)" is dropped when the box is tight, long names shrink a
    little, and only then are they cut."""
    if len(title) > 22:
        title = re.sub(r"\s*\([^)]*\)$", "", title)
    if len(title) <= 20:
        return title, 12
    if len(title) <= 25:
        return title, 10.5
    return (title if len(title) <= 30 else title[:29].rstrip() + "\u2026"), 9.5


def path_svg(kb: KnowledgeBase, target: str, known: Iterable[str] = ()) -> str:
    """The SVG (as text) for `target`'s learning path; known topics green (the target too, once
    known), those to learn amber, the target violet; each box a button, and a caption listing the path in order."""
    g = kbase.prerequisite_graph(kb.graph)
    nodes = nx.ancestors(g, target) | {target}
    known_all: set[str] = set()
    for k in known:
        if k in g:
            known_all |= nx.ancestors(g, k) | {k}
    sub = g.subgraph(nodes)
    layer: dict[str, int] = {}
    for n in nx.topological_sort(sub):
        layer[n] = max((layer[p] + 1 for p in sub.predecessors(n)), default=0)
    layers: dict[int, list[str]] = {}
    for n in sorted(nodes, key=lambda n: kb[n].title.lower()):
        layers.setdefault(layer[n], []).append(n)
    # Top to bottom: the foundations first, the target last; each layer centred, wrapped PER_LINE at a time.
    width = PAD * 2 + PER_LINE * BOX_W + (PER_LINE - 1) * GAP_X
    pos: dict[str, tuple[int, int]] = {}
    y = PAD
    for lvl in sorted(layers):
        members = layers[lvl]
        for start in range(0, len(members), PER_LINE):
            line = members[start : start + PER_LINE]
            x0 = (width - (len(line) * BOX_W + (len(line) - 1) * GAP_X)) // 2
            for i, n in enumerate(line):
                pos[n] = (x0 + i * (BOX_W + GAP_X), y)
            y += BOX_H + GAP_Y
    height = y - GAP_Y + PAD + 22
    def state_of(n: str) -> str:  # a known topic is drawn as known, also when it is the one asked about
        return "known" if n in known_all else "target" if n == target else "learn"

    order = list(pos)  # layer by layer: each topic after everything it needs
    steps = [f"{kb[n].title} ({'known' if state_of(n) == 'known' else 'to learn'})" for n in order]
    caption = f"Learning path to {kb[target].title}, in order: " + ", ".join(steps) + "."
    out = [
        '<figure class="roadmap-figure" style="margin:0">',
        f'<svg xmlns="http://www.w3.org/2000/svg" class="roadmap-path" viewBox="0 0 {width} {height}" '
        f'width="{width}" style="max-width:100%;height:auto" role="group" '
        f'aria-label="Learning path to {html.escape(kb[target].title)}: select a topic to ask about it">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" '
        'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#94a3b8"/></marker></defs>',
    ]
    # Only the direct steps are drawn (the transitive reduction): "calculus -> neural networks" is implied by the
    # chain through gradient descent, and drawing it would only cross boxes.
    for u, v in nx.transitive_reduction(sub).edges:
        (x1, y1), (x2, y2) = pos[u], pos[v]
        out.append(
            f'<line x1="{x1 + BOX_W / 2}" y1="{y1 + BOX_H}" x2="{x2 + BOX_W / 2}" y2="{y2 - 2}" '
            'stroke="#94a3b8" stroke-width="1" stroke-opacity="0.8" marker-end="url(#arrow)"/>'
        )
    for n, (x, y) in pos.items():
        state = state_of(n)
        fill, stroke, ink = COLORS[state]
        title = html.escape(kb[n].title)
        label, size = _label(kb[n].title)
        out.append(
            f'<g class="node {state}" data-id="{html.escape(n)}" role="button" tabindex="0" '
            f'aria-label="{title} ({LEGEND[state]}): ask about it"><title>{title} ({state})</title>'
            f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="7" fill="{fill}" stroke="{stroke}"/>'
            f'<text x="{x + BOX_W / 2}" y="{y + BOX_H / 2 + 4}" text-anchor="middle" font-size="{size}" '
            f'font-family="system-ui, sans-serif" fill="{ink}">{html.escape(label)}</text></g>'
        )
    legend_y = height - 8
    for i, (state, label) in enumerate(LEGEND.items()):
        fill, stroke, ink = COLORS[state]
        x = PAD + i * 90
        out.append(
            f'<rect x="{x}" y="{legend_y - 10}" width="12" height="12" rx="3" fill="{fill}" stroke="{stroke}"/>'
            f'<text x="{x + 17}" y="{legend_y}" font-size="11" font-family="system-ui, sans-serif" fill="{ink}">'
            f"{label}</text>"
        )
    out.append("</svg>")
    out.append(f'<figcaption class="path-text">{html.escape(caption)}</figcaption></figure>')
    return "".join(out)
