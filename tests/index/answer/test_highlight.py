"""The phrase of a quote that answers the question (for bold): real sentences of the seed article and
of the eval articles, each checked by reading it; None where no phrase can be told with confidence."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.answer.context import next_sentence
from index.answer.conversation import Quote
from index.answer.highlight import answer_span, read_question
from index.engine import Engine
from index.text.articles import read_article_file
from index.text.sentences import split_sentences
from tests.conftest import ROOT, SEED, SEED_ID


def sentences(path: Path) -> list[str]:
    return [s.text for s in split_sentences(read_article_file(path, max_bytes=10_000_000).text)]


SEED_SENTENCES = sentences(SEED)


def seed(number: int) -> str:
    """Sentence ``number`` (1-based, as a reader counts) of the seed article."""
    return SEED_SENTENCES[number - 1]


def eval_sentence(path: str, holding: str) -> str:
    """The one sentence of an eval article that holds ``holding``."""
    (found,) = [s for s in sentences(ROOT / "eval" / path) if holding in s]
    return found


def bold(question: str, sentence: str) -> str | None:
    span = answer_span(question, sentence)
    return None if span is None else sentence[span[0] : span[1]]


def test_the_seed_sentences_are_the_ones_the_cases_read() -> None:
    assert seed(5).startswith("Khan's wife, Bushra Bibi, led the latest protest")
    assert seed(11).startswith("Interior Minister Mohsin Naqvi meanwhile told reporters")
    assert "more than 150 criminal cases" in seed(4)


@pytest.mark.parametrize(
    ("question", "number", "expected"),
    [
        # who: a person's name; the question's own words are not the answer, even inside the name run
        ("who led the protest?", 5, "Bushra Bibi"),
        ("who is the interior minister", 11, "Mohsin Naqvi"),
        ("who is khans wife", 5, "Bushra Bibi"),
        ("who is the chief minister of khyber pakhtunkhwa", 12, "Ali Amin Gandapur"),
        ("who said they ran away", 13, "Naqvi"),
        # when: the date phrase; a typed "wen" is a "when"
        ("when did pakistans army take control of d-chowk", 14, "Tuesday"),
        ("wen did the long march begin", 3, "Sunday"),
        # where: a capitalised place after a preposition, the one next to the question's words
        ("where did pti protesters retreat from", 7, "D-Chowk"),
    ],
)
def test_seed_phrases(question: str, number: int, expected: str) -> None:
    assert bold(question, seed(number)) == expected


def test_how_many_gives_the_number_with_its_modifier_and_noun() -> None:
    shown = bold("hwo many criminal cases does khan face", seed(4))
    assert shown is not None and shown.startswith("more than 150")
    assert shown == "more than 150 criminal cases"


@pytest.mark.parametrize(
    ("question", "number"),
    [
        ("why did the protesters retreat", 7),  # a question type no phrase answers
        ("what did naqvi tell reporters", 11),
        ("where is khan", 4),  # "in a prison": no capitalised place
        ("what year did the long march start", 3),  # no year in the sentence
        ("who is bushra bibi", 5),  # asks what she is: the only other name (the party) would be wrong
        ("who is imran khan", 1),  # the sentence's only person is the question's own
    ],
)
def test_no_phrase_rather_than_a_doubtful_one(question: str, number: int) -> None:
    assert answer_span(question, seed(number)) is None


def test_a_phrase_is_never_only_the_questions_words() -> None:
    # "Interior Minister" is capitalised like a name, but the question already says it.
    span = answer_span("who is the interior minister", seed(11))
    assert span is not None
    assert "minister" not in seed(11)[span[0] : span[1]].lower()
    # "Naqvi" is the only name of sentence 15 and the question names him: nothing to bold.
    assert seed(15).startswith("Since Monday, Naqvi had threatened")
    assert answer_span("who threatened live fire, naqvi?", seed(15)) is None
    assert bold("who threatened live fire?", seed(15)) == "Naqvi"
    # The number the question already says is no answer.
    assert answer_span("how many cases does khan face, more than 150?", seed(4)) is None


@pytest.mark.parametrize(
    ("question", "path", "holding", "expected"),
    [
        (
            "how much money is in Rivermouth's hardship fund for flooded families?",
            "news/articles/rivermouth-flood.md",
            "hardship fund",
            "250,000 pounds",
        ),
        (
            "when was the Dunmore measles outbreak first spotted?",
            "news/articles/dunmore-measles-outbreak.md",
            "first identified",
            "2 February",
        ),
        # two names in the sentence: the referee is the one next to "referee"
        ("who refereed the Northern Cup final?", "news/articles/northern-cup-final.md", "Graham Lyle", "Graham Lyle"),
        # an organisation answers "who"; "Citylink" is the question's own
        ("who owns Porthaven Citylink?", "news/articles/porthaven-bus-strike.md", "owned by", "Stenhouse"),
        (
            "where is next year's Northern Cup final going to be played?",
            "news/articles/northern-cup-final.md",
            "Riverside Arena",
            "Riverside Arena",
        ),
        (
            "by how much is Eastbrook putting up council tax?",
            "news/articles/eastbrook-council-budget.md",
            "4.9",
            "4.9 per cent",
        ),
        ("what year will Lumen fly by Mars?", "news/articles/lumen-probe-launch.md", "swing past Mars", "2028"),
        # typed as in chat: "hw", "who many" (a "how many")
        (
            "hw much is a ticket for special exhibitions at the glasshaven museum",
            "news/articles/glasshaven-museum-reopens.md",
            "special exhibitions",
            "12 pounds",
        ),
        (
            "who many pupils does brookside have now",
            "news/articles/hatherley-primary-closures.md",
            "118 pupils",
            "118 pupils",
        ),
        # the part of "46 of its 118 branches" is the answer, and the whole is shown
        (
            "how many branches is corbel shutting?",
            "train/articles/corbel-bank-branch-closures.md",
            "46 of its",
            "46 of its 118 branches",
        ),
    ],
)
def test_eval_article_phrases(question: str, path: str, holding: str, expected: str) -> None:
    assert bold(question, eval_sentence(path, holding)) == expected


def test_how_long_gives_the_duration() -> None:
    sentence = eval_sentence("news/articles/whitcombe-bribery-verdict.md", "just under five hours")
    shown = bold("how long was the jury out in the Whitcombe trial?", sentence)
    assert shown is not None and "five hours" in shown


def test_several_dates_and_no_question_word_near_any_give_none() -> None:
    # "begin at 5am on 13 April and last until 26 April": the question's "end" is in neither.
    sentence = eval_sentence("news/articles/porthaven-bus-strike.md", "last until 26 April")
    assert answer_span("when does the porthaven bus strike end?", sentence) is None


def test_question_words_typed_wrong_are_read_and_real_words_kept() -> None:
    assert read_question("Hwo many cases?") == "how many cases"
    assert read_question("hwo led it") == "who led it"
    assert read_question("whos the mayor") == "who the mayor"
    assert read_question("how mnay homes") == "how many homes"
    assert read_question("that was when") == "that was when"  # "that" is no typo of "what"
    assert read_question("then who") == "then who"


def test_the_engine_bolds_the_name_in_its_quote(seed_engine: Engine) -> None:
    citation = seed_engine.ask("who led the protest?").citations[0]
    assert "led the latest protest" in citation.text
    assert citation.highlight is not None
    start, end = citation.highlight
    assert citation.text[start:end] == "Bushra Bibi"


def test_the_next_sentence_of_a_follow_up_is_quoted_plain(seed_engine: Engine) -> None:
    snap = seed_engine.snapshot()
    # The sentence after 4 is the one that names who led the protest; a follow-up quotes it without bold.
    answer = next_sentence(snap, "who led the protest?", Quote(SEED_ID, 4, seed(4)), None)
    assert answer.citations[0].text == seed(5)
    assert answer.citations[0].highlight is None
