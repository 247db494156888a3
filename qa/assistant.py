"""The `Assistant` facade: the one object the CLI, the HTTP API and the chat talk to."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path

import kb as kbase
from kb import KnowledgeBase, Mention, NameIndex, Topic, UnknownTopicError
from qa.answer import Answer
from qa.intent import points_back, refers_back
from qa.limits import check_history, check_known, check_question, check_ref
from qa.respond import respond
from qa.retrieve import Ranking, Retriever
from qa.settings import RetrieverName, Settings, check_retriever
from qa.spelling import Speller
from qa.state import State
from qa.understand import Turn, settle, understand

STATE_CACHE = 512  # conversation states kept for follow-ups (a replay costs one answer per earlier message)


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
        self._speller: Speller | None = None
        self._starts: list[Topic] | None = None
        self._lock = threading.Lock()
        self._states: dict[tuple[tuple[str, ...], tuple[str, ...]], State] = {}
        self._states_lock = threading.Lock()

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
    def warm(self, force: bool = False) -> str:
        """Load the embedder, index and BM25 for this retriever (building the index if needed); returns what happened."""
        with self._lock:
            if self._retriever is not None and not force:
                return self.index_status
            from qa.embed import Embedder
            from qa.index import open_index
            from qa.lexical import Lexical
            from qa.spelling import speller_for
            from qa.training import open_models

            # Every mode's ranker is trained from the hybrid signals, so the dense index is always opened. The
            # quantized ONNX copy that serves queries is exported first (~10 s) when missing, so the index and the
            # ranker are built from its vectors: the same encoder on both sides, and twice as fast to embed.
            from qa.tune import staleness, tuned_model

            folder = self.settings.index_dir
            build = not self.settings.serve_only
            # The packaged model with the kb's tuned layers laid over it, when the kb ships them (`qa.tune`)
            tuned = None if self.settings.model else tuned_model(self.kb.path, folder, build)
            embedder = Embedder(
                self.settings.model or (str(tuned) if tuned else ""),
                cache_dir=folder,
                export="now" if build else "never",
                threads=self.settings.threads_per_worker,
                spin=self.settings.encoder_spin,
            )
            dense, self.index_status = open_index(folder, self.kb, embedder, force=force, build=build)
            lexical = Lexical(list(self.kb.entries), folder, write=build)
            full = Retriever(self.kb, "hybrid", embedder, dense, lexical)
            models, trained = open_models(folder, full, self.names, force=force, build=build)
            if trained != "loaded":
                self.index_status += f"; ranker {trained}"
            self._speller = speller_for(self.kb, embedder.vocabulary())
            stale = staleness(self.kb, self.kb.path) if tuned else None
            if stale and self.index_status != "loaded":
                self.index_status += f"; {stale}"
            self._retriever = Retriever(
                self.kb,
                self.mode,
                embedder,
                dense if self.mode != "bm25" else None,
                lexical if self.mode != "dense" else None,
                models.modes[self.mode],
            )
            return self.index_status

    @property
    def retriever(self) -> Retriever:
        if self._retriever is None:
            self.warm()
        assert self._retriever is not None
        return self._retriever

    @property
    def speller(self) -> Speller:
        """Corrects a question's unknown words before it is understood (`qa.spelling`)."""
        if self._speller is None:
            self.warm()
        assert self._speller is not None
        return self._speller

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
        topics the learner already knows (skipped in paths and suggestions; unknown names are left out)."""
        question = check_question(question)
        state = self.conversation(tuple(check_history(history)), tuple(self._known_ids(check_known(known))))
        return self._turn(question, state)

    def _turn(self, question: str, state: State) -> Answer:
        """One turn, as a pipeline: correct its typos, understand it in the conversation, then rank the kb for it and
        respond. The answer quotes the question as it was asked."""
        read = self.speller.fix(question)
        answer = self._respond(self._understand(read, state), state)
        return answer if read == question else replace(answer, question=question)

    def _understand(self, question: str, state: State) -> Turn:
        return understand(question, state, self.kb, self.names, self.retriever.specificity)

    def _respond(self, turn: Turn, state: State) -> Answer:
        """Rank the kb for the turn, let the walk model confirm a walk read from cue words, and answer."""
        ranking = self._rank(turn, state)
        return respond(self, settle(turn, ranking.walks) if ranking is not None else turn, ranking)

    def conversation(self, history: tuple[str, ...], known: tuple[str, ...] = ()) -> State:
        """The state a conversation reaches after `history`: each earlier message replayed in turn, so any process
        rebuilds the same state from the same messages (memoised: a follow-up replays the same prefix)."""
        key = (history, known)
        cached = self._states.get(key)
        if cached is not None:
            return cached
        state = self.conversation(history[:-1], known) if history else State(known=known)
        if history:
            turn = self._understand(self.speller.fix(history[-1]), state)
            state = state.after(self._respond(turn, state), turn.known, picked=turn.style == "about")
        with self._states_lock:  # served from several threads: evict and insert as one step
            if len(self._states) >= STATE_CACHE:
                self._states.pop(next(iter(self._states)))
            self._states[key] = state
        return state

    def _rank(self, turn: Turn, state: State) -> Ranking | None:
        """The kb ranked for the turn (None for small talk or a follow-up with nothing to follow). A question that
        does not stand on its own and refers back is searched again with the conversation's topic."""
        if turn.chat is not None or turn.needs_topic:
            return None
        assert turn.cues is not None  # set for every searched turn
        ranking = self.retriever.search(turn.query, turn.mentions, turn.cues, k=self.settings.top_k)
        if state.topic is not None and turn.target is None and refers_back(turn.question):
            # "how do I squash both of them into one number?": read with the topic it refers to as well, and keep
            # whichever reading the ranker is surer of.
            title = self.kb[state.topic].title
            mentions = (*turn.mentions, Mention(state.topic, title, -1, -1, 100.0))
            again = self.retriever.search(f"{turn.question} ({title})", mentions, turn.cues, k=self.settings.top_k)
            surer = again.passages[0].score > ranking.passages[0].score and points_back(turn.question)
            if again.confident and (not ranking.confident or surer):
                if ranking.passages[0].score > again.passages[0].score and not ranking.like_off_topic:
                    # In scope once read with its topic, but the question alone says more surely what answers it
                    # ("how long does it take?" after deep learning: how long it takes to become an ML engineer)
                    return replace(ranking, in_scope=again.in_scope, confident=True)
                return again
        return ranking

    def _known_ids(self, refs: Sequence[str]) -> list[str]:
        """Ids of the known topics that resolve to concepts; a name that matches none is left out, not an error."""
        out: list[str] = []
        for ref in refs:
            try:
                out.append(self.concept(ref).id)
            except UnknownTopicError:
                continue
        return out

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
