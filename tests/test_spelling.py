"""Typos corrected before a question is understood (`qa.spelling`): on the real kb, model and index."""

from __future__ import annotations

import pytest

from qa import Assistant
from qa.spelling import MIN_COUNT, Speller


@pytest.mark.parametrize(
    "question, entry",
    [
        ("wat is a desision tree", "decision-trees"),  # refused before: "desision" is word pieces to the model
        ("what is regularisaton", "regularization"),
    ],
)
def test_a_misspelt_question_is_answered_as_if_spelt_right(bot: Assistant, question: str, entry: str) -> None:
    ans = bot.ask(question)
    assert ans.confident is True
    assert ans.passages[0].id == entry
    assert ans.question == question  # the answer quotes what was asked, not the correction


def test_a_follow_up_reads_its_misspelt_history_corrected(bot: Assistant) -> None:
    ans = bot.ask("what should I learn before it?", history=["wat is a desision tree"])
    assert ans.intent == "prerequisites"
    assert ans.topic is not None and ans.topic["id"] == "decision-trees"  # type: ignore[index]


def test_words_the_kb_or_the_model_knows_are_left_alone(bot: Assistant) -> None:
    # "forrest" is a whole word of the model's vocabulary, "regularizing" an inflection of a kb word, "gpt4" has a
    # digit, "teh" is too short to tell from a real word; case and punctuation stay as typed
    text = "Forrest regularizing TensorFlow gpt4 teh, Randum!"
    assert bot.speller.fix(text) == "Forrest regularizing TensorFlow gpt4 teh, random!"


def test_a_word_is_corrected_only_to_a_word_used_often_enough() -> None:
    often = Speller(["random forests"] * MIN_COUNT)
    assert often.fix("Randum forests") == "random forests"
    assert often.fix("rndm") == "rndm"  # two edits away
    rare = Speller(["random forests"] * (MIN_COUNT - 1))
    assert rare.fix("randum forests") == "randum forests"


def test_the_most_frequent_word_one_edit_away_wins() -> None:
    speller = Speller(["batch"] * MIN_COUNT + ["match"] * (MIN_COUNT + 3))
    assert speller.fix("xatch") == "match"
    assert speller.fix("batch match") == "batch match"
