"""The MCP tools as an agent meets them: the official `mcp` client over streamable HTTP against the live server. Every
result is JSON text that matches the tool's output schema, and the same object as structured content."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import jsonschema
import pytest

TOOLS = {"roadmap_ask", "roadmap_topic", "roadmap_prerequisites", "roadmap_learning_path"}
CALLS = [
    ("roadmap_ask", {"question": "What is a CNN?"}),
    ("roadmap_ask", {"question": "and what comes after that?", "history": ["What is Docker?"]}),
    ("roadmap_topic", {"topic": "logistc regresion"}),
    ("roadmap_prerequisites", {"topic": "random forests"}),
    ("roadmap_prerequisites", {"topic": "cnn", "transitive": True}),
    ("roadmap_learning_path", {"target": "deep learning", "known": ["python"]}),
]


def session(server: str, work: Any) -> Any:
    from mcp import ClientSession
    from mcp.client.streamable_http import streamablehttp_client

    async def run() -> Any:
        async with streamablehttp_client(server + "/mcp/") as (read, write, _), ClientSession(read, write) as s:
            await s.initialize()
            return await work(s)

    return asyncio.run(run())


@pytest.fixture(scope="module")
def tools(server: str) -> dict[str, Any]:
    async def listing(s: Any) -> Any:
        return (await s.list_tools()).tools

    return {t.name: t for t in session(server, listing)}


def test_tools_are_prefixed_and_declare_output_schemas(tools: dict[str, Any]) -> None:
    assert set(tools) == TOOLS
    for t in tools.values():
        assert t.description and t.outputSchema and t.outputSchema["type"] == "object", t.name
        assert t.inputSchema["type"] == "object"
    assert {"answer", "topic", "sources", "next_topics", "prerequisites"} <= set(
        tools["roadmap_ask"].outputSchema["properties"]
    )


def test_every_tool_returns_json_matching_its_schema(server: str, tools: dict[str, Any]) -> None:
    async def calls(s: Any) -> Any:
        return [await s.call_tool(name, args) for name, args in CALLS]

    for (name, _), result in zip(CALLS, session(server, calls), strict=True):
        assert not result.isError, (name, result.content)
        body = json.loads(result.content[0].text)  # JSON, not a Python literal
        jsonschema.validate(body, tools[name].outputSchema)
        assert result.structuredContent == body


def test_ask_is_compact_names_its_sources_and_gives_full_text_only_on_request(server: str) -> None:
    async def calls(s: Any) -> Any:
        short = await s.call_tool("roadmap_ask", {"question": "What is a CNN?"})
        full = await s.call_tool("roadmap_ask", {"question": "What is a CNN?", "include_passages": True})
        follow = await s.call_tool("roadmap_ask", {"question": "and after that?", "history": ["What is Docker?"]})
        return short, full, follow

    short, full, follow = (json.loads(r.content[0].text) for r in session(server, calls))
    assert short["topic"]["id"] == "cnn" and short["confident"] is True
    assert short["sources"] and all(set(s) == {"id", "kind", "title"} for s in short["sources"])
    assert short["prerequisites"] and short["next_topics"]
    assert all(s["text"] for s in full["sources"])
    assert len(json.dumps(short)) < 3000
    assert "kubernetes" in {t["id"] for t in follow["next_topics"]} or "Kubernetes" in follow["answer"]


def test_an_unknown_topic_is_a_tool_error_naming_the_closest(server: str) -> None:
    async def calls(s: Any) -> Any:
        return await s.call_tool("roadmap_topic", {"topic": "logistic regresion zzz quantum"})

    result = session(server, calls)
    assert result.isError
    assert "unknown topic" in result.content[0].text
