"""The `Assistant` facade: the one object the CLI, the HTTP API and the chat talk to."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

import kb as kbase
from kb import KnowledgeBase, Mention, NameIndex, Topic, UnknownTopicError
from qa.answer import Answer, compose, greeting, needs_topic, out_of_scope
from qa.errors import IndexStoreError
from qa.features import Cues
from qa.intent import GRAPH_INTENTS, parse, pick_target, small_talk
from qa.limits import check_history, check_known, check_question, check_ref
from qa.retrieve import Passage, Ranking, Retriever
from qa.settings import RetrieverName, Settings, check_retriever

SOURCE_SHARE = 0.5  # passages the ranker finds at least half as likely as the best one are cited as sources
MAX_SOURCES = 3


class Assistant:
    """Answers questions about the ML-engineer roadmap and walks its prerequisite graph.

    >>> bot = Assistant.load(lazy=True)
    >>> [t.title for t in bot.prerequisites("random forests")]
    ['Decision trees', 'Ensemble learning']
    """

    def __init__(self, kb: KnowledgeBase, settings: Settings) -> None:
        self.kb = kb
        self.settings = settings
        self.mode: RetrieverName = check_retriever(settings.retriever)
        self.names = NameIndex(kb.entries)
        self.index_status = "not loaded"
        self._retriever: Retriever | None = None
        self._starts: list[Topic] | None = None
        self._lock = threading.Lock()

    @classmethod
    def load(
        cls,
        kb_dir: str | Path | None = None,
        index_dir: str | Path | None = None,
        *,
        retriever: str | None = None,
        model: str | None = None,
        settings: Settings | None = None,
        lazy: bool = False,
    ) -> Assistant:
        """Load the kb and (unless `lazy`) the retriever, building or rebuilding the index when missing or stale.

        Arguments override `settings`, which default to `Settings.from_env()`.
        """
        base = settings or Settings.from_env()
        given = {"kb_dir": kb_dir, "index_dir": index_dir, "retriever": retriever, "model": model}
        settings = Settings.from_env(env={}, **{**base.__dict__, **{k: v for k, v in given.items() if v is not None}})
        bot = cls(kbase.load_kb(settings.kb_dir), settings)
        if not lazy:
            bot.warm()
        return bot

    # --- retrieval set-up ---
    def warm(self, force: bool = False, wait_for_encoder: bool = False) -> str:
        """Load the embedder, index and BM25 for this retriever (building the index if needed); returns what happened.

        `wait_for_encoder` also waits for a first-time ONNX export, which otherwise finishes in the background."""
        with self._lock:
            if self._retriever is not None and not force:
                return self.index_status
            from qa.embed import Embedder
            from qa.index import open_index
            from qa.lexical import Lexical
            from qa.ranker import Models

            # Every mode's ranker is trained from the hybrid signals, so the dense index is always opened; on a
            # first start the ONNX copy is exported after the index is built, in another process, so the first
            # answer does not wait for it; sentence-transformers serves until it is ready.
            folder = self.settings.index_dir
            build = not self.settings.serve_only
            embedder = Embedder(self.settings.model, cache_dir=folder, export="later" if build else "never")
            dense, self.index_status = open_index(folder, self.kb, embedder, force=force, build=build)
            lexical = Lexical(list(self.kb.entries))
            full = Retriever(self.kb, "hybrid", embedder, dense, lexical)
            try:
                models = Models.load(folder)
                current = models.manifest.get("training_hash") == self._training_hash(dense)
            except IndexStoreError:
                current = False
            if not current and not build:
                raise IndexStoreError("the ranker is missing or stale: run `roadmap-qa build-index` first")
            if force or not current:
                from qa.training import open_models

                models, trained = open_models(folder, full, self.names, force=force)
                self.index_status += f"; ranker {trained}"
            exporting = embedder.export_in_background()
            if exporting is not None and wait_for_encoder:
                exporting.join()
            self._retriever = Retriever(
                self.kb,
                self.mode,
                embedder,
                dense if self.mode != "bm25" else None,
                lexical if self.mode != "dense" else None,
                models.modes[self.mode],
            )
            return self.index_status

    def _training_hash(self, dense: object) -> str:
        from qa.ranker import read_examples, training_hash

        asks = [(i, a) for i, t in enumerate(self.kb.entries) for a in t.asks]
        examples = read_examples(Path(self.kb.path) / "training", [t.title for t in self.kb.entries], asks)
        return training_hash(self.kb.content_hash, dense.manifest.get("model", ""), examples)  # type: ignore[attr-defined]

    @property
    def retriever(self) -> Retriever:
        if self._retriever is None:
            self.warm()
        assert self._retriever is not None
        return self._retriever

    # --- the graph ---
    def entries(self, kind: str | None = None) -> list[Topic]:
        """Every kb entry, or those of one kind: "concept", "faq" or "misconception"."""
        return self.kb.of_kind(kind)  # type: ignore[arg-type]

    def topic(self, ref: str) -> Topic:
        """The entry `ref` names: id, title or alias, any case, small typos forgiven. Raises `UnknownTopicError`."""
        return self.kb[self.names.resolve(check_ref(ref))]

    def concept(self, ref: str) -> Topic:
        """Like `topic`, but only roadmap concepts; a FAQ or misconception ref suggests the concepts it is about."""
        t = self.topic(ref)
        if t.kind != "concept":
            raise UnknownTopicError(
                ref, [self.kb[a].title for a in t.about], reason=f"'{ref}' is a {t.kind} entry, not a roadmap concept"
            )
        return t

    def _ids(self, refs: Iterable[str]) -> list[str]:
        return [self.concept(r).id for r in check_known(refs)]

    def prerequisites(self, ref: str, transitive: bool = False) -> list[Topic]:
        """What to learn before `ref`, earliest first: direct prerequisites, or all of them with `transitive`."""
        return self._topics(kbase.prerequisites(self.kb.graph, self.concept(ref).id, transitive=transitive))

    def next_topics(self, ref: str, known: Iterable[str] = ()) -> list[Topic]:
        """What `ref` unlocks, most useful first, leaving out `known` topics."""
        return self._topics(kbase.next_topics(self.kb.graph, self.concept(ref).id, known=self._ids(known)))

    def learning_path(self, target: str, known: Iterable[str] = ()) -> list[Topic]:
        """All still to learn for `target`, each after its prerequisites, ending with `target` (empty if known)."""
        return self._topics(kbase.learning_path(self.kb.graph, self.concept(target).id, known=self._ids(known)))

    def _topics(self, ids: Sequence[str]) -> list[Topic]:
        return [self.kb[i] for i in ids]

    # --- questions ---
    def ask(self, question: str, history: Sequence[str] = (), known: Iterable[str] = ()) -> Answer:
        """Answer `question`; `history` holds the conversation's earlier user messages, oldest first; `known` lists
        topics the learner already knows (skipped in paths and suggestions)."""
        question = check_question(question)
        history = check_history(history)
        chat = small_talk(question)
        if chat is not None:
            return self._unanswered(question, "out_of_scope", greeting(chat, self.starting_points()))
        retriever = self.retriever
        parsed = parse(question, self.names)
        known_ids = list(dict.fromkeys([*self._ids(known), *parsed.known]))
        intent = parsed.graph_intent
        target = pick_target(parsed.mentions, retriever.specificity, exclude=parsed.known if parsed.known else ())
        if target is None and intent == "next_topics" and parsed.known:
            target = parsed.known[-1]  # "I know NumPy, what next?": what follows the last thing known
        # What the learner already knows is named, not asked about: only the other mentions lift passages.
        mentions = [m for m in parsed.mentions if m.id not in known_ids or m.id == target]
        query = question
        if target is None and history and (intent or parsed.refers_back):
            target = self._topic_from_history(history)
            if target is not None:
                query = f"{question} ({self.kb[target].title})"
                mentions.append(Mention(target, self.kb[target].title, -1, -1, 100.0))
        if intent in GRAPH_INTENTS and target is None and parsed.refers_back and not parsed.mentions:
            # "what comes after that?" with nothing before it: a search would only guess what "that" is; ask.
            return self._unanswered(question, intent, needs_topic(intent, self.starting_points()))
        cues = Cues.of(question, parsed.states_belief)
        ranking = retriever.search(query, mentions, cues, k=self.settings.top_k)
        confident = ranking.confident or (intent in GRAPH_INTENTS and target is not None)
        if not confident and intent in GRAPH_INTENTS and target is None:
            # A graph question whose topic neither the question, the history nor the search makes out: ask which.
            return self._unanswered(question, intent, needs_topic(intent, self.starting_points()), ranking.passages)
        if not confident:
            return self._out_of_scope(question, ranking.passages)
        lead = self.kb[ranking.passages[0].id]
        if not (intent in GRAPH_INTENTS and target is not None):
            intent = {"concept": "definition", "faq": "faq", "misconception": "misconception"}[lead.kind]
            target = self._topic_of(lead, target)
        topic = self.kb[target] if target else None
        return self._compose(question, intent, lead, topic, known_ids, ranking)

    def _topic_of(self, lead: Topic, named: str | None) -> str:
        """The concept an answer led by `lead` is about: the lead itself, or the concept it is about that the
        question named, else its first."""
        if lead.kind == "concept":
            return lead.id
        return named if named in lead.about else lead.about[0]

    def _topic_from_history(self, history: Sequence[str]) -> str | None:
        """The concept the conversation was last about: named in a recent message, or what that message retrieved."""
        for message in reversed(history):
            parsed = parse(message, self.names)
            named = pick_target(parsed.mentions, self.retriever.specificity, exclude=parsed.known)
            if named:
                return named
            ranking = self.retriever.search(message, parsed.mentions, Cues.of(message, parsed.states_belief), k=1)
            if ranking.confident:
                return self._topic_of(self.kb[ranking.passages[0].id], None)
        return None

    def _compose(
        self, question: str, intent: str, lead: Topic, topic: Topic | None, known: list[str], ranking: Ranking
    ) -> Answer:
        prereqs: list[Topic] = []
        nexts: list[Topic] = []
        transitive = 0
        if topic is not None and topic.kind == "concept":
            g = self.kb.graph
            if intent == "learning_path":
                prereqs = self._topics(kbase.learning_path(g, topic.id, known=known))[:-1]
            else:
                prereqs = [t for t in self._topics(kbase.prerequisites(g, topic.id)) if t.id not in known]
                if intent == "prerequisites":
                    transitive = len(kbase.learning_path(g, topic.id, known=known)) - 1
            nexts = self._topics(kbase.next_topics(g, topic.id, known=known))
        top = ranking.passages[0].score
        sources = [p for p in ranking.passages if p.score >= SOURCE_SHARE * top][:MAX_SOURCES]
        if lead.id not in {p.id for p in sources}:
            sources = [p for p in ranking.passages if p.id == lead.id] + sources[: MAX_SOURCES - 1]
        text = compose(
            intent, lead, topic, prereqs, nexts, sources, [self.kb[k] for k in known], transitive_count=transitive
        )
        return Answer(
            question=question,
            intent=intent,
            confident=True,
            answer=text,
            topic=topic.ref() if topic else None,
            passages=ranking.passages,
            prerequisites=[t.ref() for t in prereqs] if intent in ("prerequisites", "learning_path") else [],
            next_topics=[t.ref() for t in nexts],
        )

    def _out_of_scope(self, question: str, passages: list[Passage]) -> Answer:
        return self._unanswered(question, "out_of_scope", out_of_scope(self.starting_points()), passages)

    def _unanswered(self, question: str, intent: str, text: str, passages: Sequence[Passage] = ()) -> Answer:
        """An answer the kb does not back (confident is False): out of scope, small talk, or a topic to name."""
        return Answer(
            question=question, intent=intent, confident=False, answer=text, topic=None, passages=list(passages)
        )

    def starting_points(self, n: int = 4) -> list[Topic]:
        """A few topics worth suggesting to anyone: those that unlock the most for what they need first (so
        foundations win), at most two from one category."""
        if self._starts is None:
            import networkx as nx

            pg = kbase.prerequisite_graph(self.kb.graph)
            worth = {
                t.id: len(nx.descendants(pg, t.id)) / (1 + len(nx.ancestors(pg, t.id)))
                for t in self.kb.of_kind("concept")
            }
            per_category: dict[str, int] = {}
            self._starts = []
            for i in sorted(worth, key=lambda i: (-worth[i], i)):
                t = self.kb[i]
                if per_category.get(t.category, 0) < 2:
                    per_category[t.category] = per_category.get(t.category, 0) + 1
                    self._starts.append(t)
        return self._starts[:n]
