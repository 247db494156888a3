"""`roadmap-qa` (also `python -m qa`): thin commands that parse, call the library and print.

Library errors become one `Error: ...` line on stderr and a non-zero exit, here at the edge only.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from functools import wraps
from typing import Any, TypeVar

import click

from kb import RoadmapError, Topic
from qa.settings import RETRIEVERS

F = TypeVar("F", bound=Callable[..., Any])


def _edge(fn: F) -> F:
    """Turn the library's errors (and bad settings) into a one-line message and exit code 1."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (RoadmapError, ValueError) as e:
            raise click.ClickException(str(e)) from None

    return wrapper  # type: ignore[return-value]


def _bot(retriever: str | None = None, lazy: bool = False) -> Any:
    from qa.assistant import Assistant

    return Assistant.load(retriever=retriever, lazy=lazy)


def _emit(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def _print_topics(topics: Sequence[Topic], as_json: bool, empty: str) -> None:
    if as_json:
        _emit([t.ref() for t in topics])
    elif not topics:
        click.echo(empty)
    else:
        for i, t in enumerate(topics, 1):
            click.echo(f"{i:>2}. {t.title}  [{t.id}]")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Questions and learning paths for the machine-learning-engineer roadmap."""


@cli.command()
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
@click.option("--retriever", type=click.Choice(RETRIEVERS), default=None, help="Retriever (default: hybrid).")
@click.option("--history", multiple=True, help="An earlier message of the conversation (repeat, oldest first).")
@_edge
def ask(question: str, as_json: bool, retriever: str | None, history: tuple[str, ...]) -> None:
    """Answer QUESTION with its sources and what to learn before and after."""
    ans = _bot(retriever).ask(question, history=list(history))
    if as_json:
        _emit(ans.to_dict())
    else:
        click.echo(ans.answer)


@cli.command()
@click.argument("topic")
@click.option("--all", "transitive", is_flag=True, help="All prerequisites, in learning order.")
@click.option("--json", "as_json", is_flag=True)
@_edge
def prereqs(topic: str, transitive: bool, as_json: bool) -> None:
    """What to learn before TOPIC (earliest first)."""
    bot = _bot(lazy=True)
    t = bot.concept(topic)
    _print_topics(bot.prerequisites(t.id, transitive=transitive), as_json, f"{t.title} needs nothing else first.")


@cli.command(name="next")
@click.argument("topic")
@click.option("--json", "as_json", is_flag=True)
@_edge
def next_(topic: str, as_json: bool) -> None:
    """What to learn after TOPIC (most useful first)."""
    bot = _bot(lazy=True)
    t = bot.concept(topic)
    _print_topics(bot.next_topics(t.id), as_json, f"{t.title} leads to nothing further on this roadmap.")


@cli.command()
@click.argument("target")
@click.option("--known", default="", help="Comma-separated topics you already know.")
@click.option("--json", "as_json", is_flag=True)
@_edge
def path(target: str, known: str, as_json: bool) -> None:
    """Everything still to learn to reach TARGET, in order."""
    bot = _bot(lazy=True)
    t = bot.concept(target)
    _print_topics(bot.learning_path(t.id, known=known.split(",")), as_json, f"You already know {t.title}.")


@cli.command()
@click.option("--kind", type=click.Choice(["concept", "faq", "misconception"]), default=None)
@click.option("--json", "as_json", is_flag=True)
@_edge
def topics(kind: str | None, as_json: bool) -> None:
    """List the knowledge base's entries."""
    entries = _bot(lazy=True).entries(kind)
    if as_json:
        _emit([t.to_dict() for t in entries])
        return
    for t in entries:
        click.echo(f"{t.kind:<13} {t.id:<32} {t.title}")


@cli.command(name="build-index")
@click.option("--force", is_flag=True, help="Rebuild even when the index is current.")
@_edge
def build_index(force: bool) -> None:
    """Build the search index (only when missing or stale, unless --force) and the fast query encoder."""
    from qa.assistant import Assistant
    from qa.settings import Settings

    # Building is this command's job, also where ROADMAP_QA_SERVE_ONLY is set for the server.
    bot = Assistant.load(settings=Settings.from_env(serve_only=False), lazy=True)
    status = bot.warm(force=force)
    stats = bot.kb.stats()
    encoder = bot.retriever.encoder_backend
    click.echo(f"index {status}: {len(bot.kb)} passages at {bot.settings.index_dir} ({stats}); queries: {encoder}")


@cli.command(name="tune-encoder")
@_edge
def tune_encoder() -> None:
    """Fine-tune the embedding model on the kb's phrasings (~10 minutes on 2 cores) and write the overlay that every
    build then uses (kb/data/encoder/tuned.safetensors); commit it with the kb."""
    from kb import load_kb
    from qa.settings import Settings
    from qa.tune import tune

    settings = Settings.from_env()
    kbase = load_kb(settings.kb_dir)
    meta = tune(kbase, settings.kb_dir, log=click.echo)
    click.echo(f"tuned on {meta['pairs']} pairs in {meta['seconds']} s: {settings.kb_dir / 'encoder'}")


@cli.command(name="eval")
@click.argument("file")
@click.option("--retriever", type=click.Choice(RETRIEVERS), default=None)
@click.option("--json", "as_json", is_flag=True)
@click.option("-v", "--verbose", is_flag=True, help="List each failed question with what came back.")
@_edge
def eval_(file: str, retriever: str | None, as_json: bool, verbose: bool) -> None:
    """Score the assistant on a question file (format: shared/eval/README.md)."""
    from qa.evaluate import evaluate, format_report, load_cases

    cases = load_cases(file)
    report = evaluate(_bot(retriever), cases)
    if as_json:
        _emit(report)
    else:
        click.echo(format_report(report, verbose))


@cli.command()
@click.option("--host", default=None, help="Interface to listen on (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default 7860).")
@click.option("--mcp", is_flag=True, default=None, help="Also serve the MCP tools.")
@click.option(
    "--serve-only",
    is_flag=True,
    default=None,
    help="Never build: a missing or stale index is an error (needs no torch; run build-index first).",
)
@_edge
def serve(host: str | None, port: int | None, mcp: bool | None, serve_only: bool | None) -> None:
    """Serve the chat, the HTTP API and the widget (what `python app.py` runs)."""
    import app

    app.serve(host=host, port=port, mcp=mcp, serve_only=serve_only)


def main(argv: Sequence[str] | None = None) -> None:
    cli.main(args=list(argv) if argv is not None else None, prog_name="roadmap-qa")


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
