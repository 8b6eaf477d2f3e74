"""Questions as people type them: end punctuation, typos and abbreviations lead to the same answer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from index.answer.normalize import expand_abbreviations, respell, tidy
from index.engine import Engine
from tests.conftest import SEED

CEO_STORY = """---
title: Brightwell names a new chief executive
date: 2026-02-03
source: https://example.org/brightwell
---
Brightwell Foods has named Ines Marlow as its new chief executive.

Marlow joins from a rival grocer, where she ran the frozen food business for six years.

The company's museum of packaging in Dunholm will close for repairs in March.
"""


@pytest.fixture
def engine(tmp_path: Path, make_engine: Callable[..., Engine]) -> Engine:
    story = tmp_path / "brightwell.md"
    story.write_text(CEO_STORY, encoding="utf-8")
    return make_engine(SEED, story)


@pytest.mark.parametrize(
    ("typed", "tidied"),
    [
        ("who led the protest?", "who led the protest?"),
        ("who led the protest", "who led the protest?"),
        ("who  led the protest ?!", "who led the protest?"),
        ("??", "??"),
    ],
)
def test_end_punctuation_and_spaces_are_not_part_of_the_question(typed: str, tidied: str) -> None:
    assert tidy(typed) == tidied


def test_a_word_the_index_does_not_know_is_read_as_the_closest_one_it_does(engine: Engine) -> None:
    snap = engine.snapshot()
    assert respell("when does the musuem close", snap, engine.encoder.known_words()) == "when does the museum close"
    assert respell("the fourth bridge", snap, engine.encoder.known_words()) == "the fourth bridge"  # an English word
    assert respell("who led the demonstartors", snap) == "who led the demonstrators"
    # Nothing close: left as typed, so a question about something the articles never mention stays so.
    assert respell("what is the xylophone budget", snap) == "what is the xylophone budget"
    assert respell("how much was she paid", snap) == "how much was she paid"  # short words stay as typed


def test_an_abbreviation_also_asks_for_its_long_form_when_the_index_uses_it(engine: Engine) -> None:
    snap = engine.snapshot()
    assert expand_abbreviations("who is brightwell's ceo", snap) == "who is brightwell's ceo (chief executive)"
    assert expand_abbreviations("who is the mep", snap) == "who is the mep"  # no article says "european parliament"
    answer = engine.ask("who is the new ceo of brightwell")
    assert "Ines Marlow" in answer.citations[0].text


def test_twin_questions_get_the_same_first_quote(engine: Engine) -> None:
    twins = [
        "Who led the latest protest?",
        "who led the latest protest",
        "who led the latest protest!!",
        "who led the latest protset",
        "WHO LED THE LATEST PROTEST",
    ]
    firsts = {engine.ask(q).citations[0].text for q in twins}
    assert len(firsts) == 1 and "Bushra Bibi" in firsts.pop()
    assert engine.ask("who led the latest protest??").question == "who led the latest protest??"  # shown as typed
