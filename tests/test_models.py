"""The learned models in the index folder: the scope model's memory of off-topic questions, and how the models are
found stale or damaged and trained again. Real kb, real model, real index (the session's)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from qa import Assistant
from qa.errors import IndexStoreError
from qa.fit import ASK_NEIGHBOURS, fit_phrasings, read_examples
from qa.ranker import LOG_FLOOR, OFF_TOPIC_FILE, PHRASINGS_FILE, RANKER_FILE, WORDS_FILE, WORDS_VOCAB_FILE, Models
from qa.training import open_models
from qa.words import fit_words, terms


def _copy(index_dir: Path, tmp_path: Path) -> Path:
    for name in (RANKER_FILE, OFF_TOPIC_FILE, PHRASINGS_FILE, WORDS_FILE, WORDS_VOCAB_FILE):
        shutil.copy(index_dir / name, tmp_path / name)
    return tmp_path


def test_the_off_topic_memory_is_saved_beside_the_ranker_and_loads_back(bot: Assistant, index_dir: Path) -> None:
    models = Models.load(index_dir)
    off = np.load(index_dir / OFF_TOPIC_FILE)
    assert off.shape == (models.manifest["examples"]["off_topic"], 384)
    assert np.allclose(np.linalg.norm(off, axis=1), 1.0, atol=1e-3)  # unit vectors: a product is a cosine
    assert np.array_equal(bot.retriever.models.off_topic, off)


def test_the_phrasing_classifier_is_saved_beside_the_ranker_and_knows_the_asks(bot: Assistant, index_dir: Path) -> None:
    models = Models.load(index_dir)
    assert models.phrasings is not None and bot.retriever.models.phrasings is not None
    weights = np.load(index_dir / PHRASINGS_FILE)
    assert weights.shape == (len(bot.kb), 385)  # one row per entry: 384 weights and a bias
    assert np.array_equal(bot.retriever.models.phrasings.weights, weights)
    # The phrasings it was fitted on: each entry's first three, read back as their entry.
    texts = [(i, a) for i, t in enumerate(bot.kb.entries) for a in t.asks[:3]]
    vectors = bot.retriever.encode([a for _, a in texts])
    logp = np.array([models.phrasings.log_probs(v) for v in vectors])
    assert np.allclose(np.exp(logp).sum(axis=1), 1.0, atol=1e-3)
    assert np.mean(logp.argmax(axis=1) == [i for i, _ in texts]) > 0.9


def test_the_word_classifier_is_saved_beside_the_ranker_and_tells_look_alikes_apart(
    bot: Assistant, index_dir: Path
) -> None:
    models = Models.load(index_dir)
    words = models.words
    assert words is not None and bot.retriever.models.words is not None
    assert words.weights.shape == (len(bot.kb), len(words.vocab)) and len(words.vocab) > 10_000
    assert {"words_p", "words_gap"} <= set(models.modes["hybrid"].ranker.features)
    assert not {"words_p", "words_gap"} & set(models.modes["bm25"].ranker.features)  # bm25 stays plain BM25 + 4-grams
    pos = {t.id: i for i, t in enumerate(bot.kb.entries)}
    # Word pairs carry which group a share is taken over, which the embedding blurs (our own phrasings)
    flagged = words.log_probs("of all the parcels our scanner flagged as damaged, how many really were damaged?")
    missed = words.log_probs("our scanner misses lots of the parcels that really are damaged, which number shows it")
    assert flagged[pos["precision"]] > flagged[pos["recall"]] and missed[pos["recall"]] > missed[pos["precision"]]
    assert np.isclose(np.exp(flagged).sum(), 1.0, atol=1e-3)
    # A question with no word it knows: every entry alike
    assert np.ptp(words.log_probs("zzqx vvbn")) == 0.0


def test_the_word_classifier_reads_a_text_as_scikit_learn_does() -> None:
    """Serving repeats the vectorizer's analysis and the naive Bayes' arithmetic without scikit-learn: the words,
    the word pairs and the log-probabilities agree with `TfidfVectorizer` and `ComplementNB` themselves."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.naive_bayes import ComplementNB

    from qa.words import ALPHA, MIN_DF, NGRAMS

    texts = ["Café résumé: what's a ROC-AUC of 0.5 vs 0.9?", "I  a x-ray, 2 CNNs & naïve Bayes!!", "ünïcödé wörds"]
    analyze = TfidfVectorizer(ngram_range=NGRAMS, strip_accents="unicode").build_analyzer()
    assert [terms(t) for t in texts] == [analyze(t) for t in texts]
    train = [f"{w} metric {k} of the flagged ones" for k, w in enumerate(["precision"] * 6)]
    train += [f"{w} metric {k} of the real cases we missed" for k, w in enumerate(["recall"] * 6)]
    train += ["scaling features", "scaling columns to one range", "min max scaling", "scale the features", "feature range", "scaling"]
    labels = np.array([0] * 6 + [1] * 6 + [2] * 6)
    full, _ = fit_words(train, labels, entries=4)  # entry 3 has no phrasings
    vec = TfidfVectorizer(ngram_range=NGRAMS, sublinear_tf=True, min_df=MIN_DF, strip_accents="unicode")
    nb = ComplementNB(alpha=ALPHA).fit(vec.fit_transform(train), labels)
    for q in ["which metric for the flagged ones?", "the real cases we missed", "scaling the features", "the metric"]:
        ours = full.log_probs(q)
        assert np.allclose(ours[:3], np.maximum(nb.predict_log_proba(vec.transform([q]))[0], LOG_FLOOR), atol=1e-4)
        assert ours[3] == LOG_FLOOR  # no phrasings: never a guess


def test_out_of_fold_probabilities_come_from_a_classifier_that_never_saw_the_phrasing() -> None:
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(4, 384))
    labels = np.array([0] * 8 + [1] * 8 + [2] * 8 + [3])  # entry 3 has a single phrasing
    vectors = centres[labels] + 0.3 * rng.normal(size=(len(labels), 384))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    full, oof = fit_phrasings(vectors.astype(np.float32), labels, entries=5)  # entry 4 has none
    own = np.array([full.log_probs(v) for v in vectors.astype(np.float32)])
    assert (own.argmax(axis=1) == labels).all()
    assert own[:, 4].max() == LOG_FLOOR and oof[:, 4].max() == LOG_FLOOR  # no phrasings: never a guess
    # The single phrasing of entry 3 was in no fold's training data, so out of fold its entry is unknown.
    assert oof[-1, 3] == LOG_FLOOR and own[-1, 3] > -1.0
    assert (oof[:-1].argmax(axis=1) == labels[:-1]).mean() > 0.9


def test_a_phrasing_is_trained_on_without_its_neighbours_in_its_entrys_list() -> None:
    """Phrasings are written in batches and appended together: a phrasing asked as a training question hides its
    own row and up to ASK_NEIGHBOURS rows on either side, never another entry's, and never so many that its entry
    keeps fewer than half of its other phrasings; its classifier fold keeps its run whole."""
    asks = [(0, f"zero {k}") for k in range(20)] + [(1, "one a"), (1, "one b")] + [(2, f"two {k}") for k in range(6)]
    examples = read_examples(None, ["a", "b", "c"], asks)
    h = ASK_NEIGHBOURS
    assert examples[0].hidden == tuple(range(0, h + 1))
    assert examples[9].hidden == tuple(range(9 - h, 9 + h + 1))
    assert examples[19].hidden == tuple(range(19 - h, 20))  # stops at its entry's last phrasing
    assert examples[20].hidden == (20,) and examples[21].hidden == (21,)  # two phrasings: each keeps the other
    assert examples[24].hidden == (23, 24, 25)  # six phrasings: one on either side, three of five others kept
    for e in examples:
        assert e.ask_row in e.hidden and {asks[r][0] for r in e.hidden} == {e.targets[0]}
        others = sum(1 for _, (pos, _) in enumerate(asks) if pos == e.targets[0]) - 1
        assert others - (len(e.hidden) - 1) >= others / 2
    runs: dict[int, set[int]] = {}
    for e in examples:
        runs.setdefault(e.batch, set()).add(e.targets[0])
    assert all(len(owners) == 1 for owners in runs.values())  # a run belongs to one entry
    assert len({e.batch for e in examples[:20]}) == 3  # twenty phrasings: runs of at most 2h + 1


def test_out_of_fold_probabilities_keep_a_batch_out_of_its_own_classifier() -> None:
    """Each entry's phrasings come in two batches far apart (two authors with their own words): grouped by batch, a
    phrasing's out-of-fold guess comes from a classifier that saw none of its batch mates, so it cannot lean on
    them; without the batches it can."""
    rng = np.random.default_rng(1)
    labels = np.repeat(np.arange(3), 10)
    batches = np.repeat(np.arange(6), 5)  # entry e: batches 2e and 2e + 1
    centres = rng.normal(size=(6, 384))
    vectors = centres[batches] + 0.2 * rng.normal(size=(30, 384))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    _, mixed = fit_phrasings(vectors, labels, entries=3)
    _, grouped = fit_phrasings(vectors, labels, entries=3, batches=batches.tolist())
    assert (mixed.argmax(axis=1) == labels).mean() > 0.9
    assert (grouped.argmax(axis=1) == labels).mean() < 0.6


@pytest.mark.parametrize(
    "name, damage",
    [(OFF_TOPIC_FILE, d) for d in ("missing", "truncated", "other_rows", "edited")]
    + [(PHRASINGS_FILE, d) for d in ("missing", "edited")]
    + [(WORDS_FILE, d) for d in ("missing", "edited")]
    + [(WORDS_VOCAB_FILE, d) for d in ("missing", "edited")],
)
def test_a_damaged_or_mismatched_memory_or_classifier_means_train_again(
    bot: Assistant, index_dir: Path, tmp_path: Path, damage: str, name: str
) -> None:
    folder = _copy(index_dir, tmp_path)
    assert Models.load(folder).phrasings is not None  # the copy loads before the damage
    path = folder / name
    if name == WORDS_VOCAB_FILE:  # a JSON list of words: another word in one place
        if damage == "edited":
            path.write_text(path.read_text(encoding="utf-8").replace('"the"', '"thee"', 1), encoding="utf-8")
        else:
            path.unlink()
        with pytest.raises(IndexStoreError):
            Models.load(folder)
        return  # training again is the same path as for the files below
    off = np.load(path)
    if damage == "missing":
        path.unlink()
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:200])
    elif damage == "other_rows":
        np.save(path, off[:-1])
    else:  # same shape, other numbers: the checksum in ranker.json tells
        off[0, 0] += 0.5
        np.save(path, off)
    with pytest.raises(IndexStoreError):
        Models.load(folder)
    if name == WORDS_FILE:
        return  # training again is the same path as for the files above
    models, what = open_models(folder, bot.retriever, bot.names, build=True)
    assert what.startswith("trained")
    assert Models.load(folder).manifest["training_hash"] == models.manifest["training_hash"]


def test_a_stale_memory_is_an_error_naming_the_build_command_when_serving_only(
    bot: Assistant, index_dir: Path, tmp_path: Path
) -> None:
    folder = _copy(index_dir, tmp_path)
    (folder / OFF_TOPIC_FILE).unlink()
    with pytest.raises(IndexStoreError, match="roadmap-qa build-index"):
        open_models(folder, bot.retriever, bot.names, build=False)


@pytest.mark.parametrize(
    "question",
    [
        "what should I feed my ball python before it sheds its skin?",  # a roadmap word in another sense, graph words
        "solve this for me and show the steps: 3x - y = 5 and x + 2y = 4",  # an exercise, not a topic
        "homework: two dice are rolled, what is the probability the sum is 9? pls work it out",
        # Names Docker and asks what comes first, but the scope model is nearly sure it is elsewhere (under
        # respond.NAMED_GRAPH_FLOOR), and no off-topic training question is near enough to veto it
        "how do I become a docker at rotterdam port, do I need a forklift ticket first?",
    ],
)
def test_near_misses_of_kinds_the_memory_holds_are_refused(bot: Assistant, question: str) -> None:
    ans = bot.ask(question)
    assert ans.confident is False, (ans.intent, [p.title for p in ans.passages])


@pytest.mark.parametrize(
    "question, history, topic",
    [
        ("what should I learn before Python?", [], "python"),  # the same word, meant as the roadmap's
        ("and before that?", ["What is a CNN?", "what do I need first?"], None),  # a follow-up stays answered
        # A probability question about ML, beside the dice homework refused above. (The bare "how do I compute a
        # probability from counts of outcomes?" is refused since the threshold balances both kinds of mistake: 0.42.)
        ("what's a probability distribution and where do I meet it in ML?", [], "probability"),
    ],
)
def test_in_scope_questions_near_those_kinds_are_still_answered(
    bot: Assistant, question: str, history: list[str], topic: str | None
) -> None:
    ans = bot.ask(question, history=history)
    assert ans.confident is True
    if topic is not None:
        assert ans.topic is not None and ans.topic["id"] == topic  # type: ignore[index]


def test_the_veto_margin_is_set_by_the_training_questions(bot: Assistant, index_dir: Path) -> None:
    """The nearest-neighbour veto refuses at most 1 in 1,000 in-scope training questions, and most off-topic ones
    (each meeting the memory without its own file); the margin it uses is the one saved beside the ranker."""
    from qa.fit import VETO_KEEP

    models = Models.load(index_dir)
    report = models.manifest["cv"]["hybrid"]["veto"]
    assert report["in_scope_vetoed"] <= 1 - VETO_KEEP + 1e-3
    assert report["off_topic_vetoed"] >= 0.5
    assert bot.retriever.models.veto_margin == pytest.approx(report["margin"], abs=1e-4)
    assert models.modes["hybrid"].veto_margin == bot.retriever.models.veto_margin
    assert models.modes["bm25"].veto_margin == float("inf")  # no dense view, no nearest phrasing to compare with
