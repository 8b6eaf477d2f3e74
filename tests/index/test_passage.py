"""Reading an article around a quote (the bot's Context button, /source), and what an answer offers
beside its quotes: the next best ones, and on an abstention the closest sentence."""

from __future__ import annotations

import dataclasses

import pytest

from index.answer.compose import Shown, compose
from index.engine import Engine
from index.errors import NotFoundError
from tests.conftest import SEED_ID


def test_a_passage_is_the_quote_with_its_neighbours_verbatim(seed_engine: Engine) -> None:
    quote = seed_engine.ask("who led the protest?").citations[0]
    n = quote.sentence
    passage = seed_engine.passage(quote.article_id, n - 2, n + 2)
    numbers = [number for number, _ in passage.sentences]
    assert numbers == list(range(max(1, n - 2), n + 3))
    assert dict(passage.sentences)[n] == quote.text
    assert passage.article.id == SEED_ID and passage.article.date == quote.date


def test_a_passage_is_clipped_to_the_article(seed_engine: Engine) -> None:
    total = seed_engine.articles()[0].sentences
    assert [n for n, _ in seed_engine.passage(SEED_ID, -3, 2).sentences] == [1, 2]
    assert [n for n, _ in seed_engine.passage(SEED_ID, total - 1, total + 9).sentences] == [total - 1, total]


def test_a_passage_of_an_unknown_article_says_so(seed_engine: Engine) -> None:
    with pytest.raises(NotFoundError, match="no article with id 'nope'"):
        seed_engine.passage("nope", 1, 3)


def test_quotes_that_do_not_stand_on_their_own_go_behind_more(seed_engine: Engine) -> None:
    [ranked] = seed_engine.ask_ranked(["who led the protest?"], top_k=3)
    snap = seed_engine.snapshot()
    everything = compose(snap, "q", ranked.scored, False, 3, Shown(floor=0.0, ratio=0.0))
    strict = compose(snap, "q", ranked.scored, False, 3, Shown(floor=2.0, ratio=0.0))
    assert len(everything.citations) == 3
    assert strict.citations == everything.citations[:1]  # a floor no score reaches: the first quote only
    assert strict.more[:2] == everything.citations[1:]  # the hidden ones come first behind "More"
    assert strict.build_id == snap.build_id


def test_an_abstention_offers_the_closest_sentence_only_above_its_floor(seed_engine: Engine) -> None:
    [ranked] = seed_engine.ask_ranked(["who led the protest?"], top_k=3)
    snap = seed_engine.snapshot()
    best = ranked.scored[0].score
    offered = compose(snap, "q", ranked.scored, True, 3, Shown(closest_floor=best))
    withheld = compose(snap, "q", ranked.scored, True, 3, Shown(closest_floor=best + 0.01))
    assert offered.abstained and offered.closest is not None
    assert offered.closest.text == ranked.answer.citations[0].text
    assert withheld.abstained and withheld.closest is None and not withheld.citations
    assert dataclasses.asdict(offered)["closest"]["article_id"] == SEED_ID
