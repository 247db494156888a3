"""MCP tools for agents and LLM apps: `roadmap_ask`, `roadmap_topic`, `roadmap_prerequisites`,
`roadmap_learning_path`, served over streamable HTTP by the official `mcp` package (Gradio's own MCP server has no
output schemas). Each result is JSON text plus the same object as structured content, described by an output schema.

`create_mcp(bot, pool)` returns the FastMCP server; `app.py` mounts `server.streamable_http_app()` at `/mcp` and runs
`server.session_manager.run()` in its lifespan. Answers go through the server's pool, with its deadline.
"""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.fastmcp import FastMCP
from mcp.server.fastmcp.exceptions import ToolError
from pydantic import Field

from qa.assistant import Assistant
from qa.limits import MAX_HISTORY, MAX_HISTORY_ITEM_CHARS, MAX_KNOWN, MAX_QUESTION_CHARS, MAX_REF_CHARS
from qa.pool import Pool, Refusal
from qa.wire import AskResult, TopicInfo, TopicList

INSTRUCTIONS = (
    "Answers questions about the machine-learning-engineer roadmap (from linear algebra to Kubernetes) from a curated "
    "knowledge graph: what a topic is, what to learn before it, what comes next, a learning path. Every answer names "
    "its sources; `confident: false` means the roadmap does not cover the question."
)
Ref = Annotated[str, Field(min_length=1, max_length=MAX_REF_CHARS, description="An id, title or alias, e.g. 'cnn'.")]
Known = Annotated[
    list[Annotated[str, Field(max_length=MAX_REF_CHARS)]],
    Field(max_length=MAX_KNOWN, description="Topics the learner already knows (ids or titles)."),
]


def create_mcp(bot: Assistant, pool: Pool, host: str = "127.0.0.1") -> FastMCP:
    # Stateless JSON responses: any replica answers any call, as with REST (conversation state comes from `history`).
    server = FastMCP(
        "roadmap-qa", instructions=INSTRUCTIONS, host=host, stateless_http=True, json_response=True, log_level="WARNING",
        streamable_http_path="/",
    )  # fmt: skip

    async def call(op: str, *args: Any) -> Any:
        try:
            return await pool.call(op, *args)
        except Refusal as e:
            raise ToolError(e.detail) from None  # an unknown topic's detail already names the closest ones

    @server.tool(name="roadmap_ask", structured_output=True)
    async def roadmap_ask(
        question: Annotated[str, Field(min_length=1, max_length=MAX_QUESTION_CHARS, description="The question.")],
        history: Annotated[
            list[Annotated[str, Field(max_length=MAX_HISTORY_ITEM_CHARS)]],
            Field(description=f"Earlier user messages, oldest first (the newest {MAX_HISTORY} are read)."),
        ] = [],  # noqa: B006 (pydantic copies defaults)
        known: Known = [],  # noqa: B006
        include_passages: Annotated[bool, Field(description="Also return each source's full text.")] = False,
    ) -> AskResult:
        """Answer a learner's question about the ML-engineer roadmap: the answer (Markdown), the topic it is about,
        its sources (ids and titles), what to learn first and next. Pass earlier questions as `history` for
        follow-ups such as "and after that?"."""
        if not question.strip():
            raise ToolError("the question is empty: ask something about the ML-engineer roadmap")
        ans, _ = await call("ask", question, history[-MAX_HISTORY:], known)
        sources = [
            {"id": p["id"], "kind": p["kind"], "title": p["title"], **({"text": p["text"]} if include_passages else {})}
            for p in ans["passages"]
        ]
        keys = ("intent", "confident", "answer", "topic", "prerequisites", "next_topics", "compared", "assumed_known")
        return {**{k: ans[k] for k in keys}, "sources": sources}  # type: ignore[return-value]

    @server.tool(name="roadmap_topic", structured_output=True)
    async def roadmap_topic(topic: Ref) -> TopicInfo:
        """Look a roadmap topic up by id, title or alias (small typos forgiven): its summary, aliases, direct
        prerequisites and what it leads to. An unknown topic is an error naming the closest ones."""
        t = await call("topic", topic)
        before = await call("prerequisites", t["id"], False) if t["kind"] == "concept" else []
        after = await call("next", t["id"], []) if t["kind"] == "concept" else []
        return {
            "id": t["id"], "kind": t["kind"], "title": t["title"], "summary": t["summary"],
            "aliases": list(t.get("aliases") or []), "prerequisites": before, "next_topics": after,
        }  # fmt: skip

    @server.tool(name="roadmap_prerequisites", structured_output=True)
    async def roadmap_prerequisites(
        topic: Ref,
        transitive: Annotated[
            bool, Field(description="Every prerequisite down to the basics, not only direct ones.")
        ] = False,
    ) -> TopicList:
        """What to learn before a roadmap topic, in learning order (earliest first)."""
        return {"topics": await call("prerequisites", topic, transitive)}

    @server.tool(name="roadmap_learning_path", structured_output=True)
    async def roadmap_learning_path(target: Ref, known: Known = []) -> TopicList:  # noqa: B006
        """Everything still to learn to reach a roadmap topic, each step after what it needs, ending with the
        target; topics in `known` (and what they stand on) are left out."""
        return {"topics": await call("path", target, known)}

    return server
