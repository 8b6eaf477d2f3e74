"""The reader stage: it re-orders only the few it reads, and the engine loads it only when it reads."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from index.answer.query import Scored
from index.answer.read import candidates, reorder
from index.engine import Engine
from tests.conftest import SEED


def _scored(*scores: float) -> list[Scored]:
    return [Scored(sentence=i, score=s, features=()) for i, s in enumerate(scores)]


def test_the_reader_reorders_only_what_it_read_and_scores_still_fall() -> None:
    scored = _scored(0.9, 0.8, 0.7, 0.6, 0.5)
    # The reader alone decides (coef 0 on the sentence model): it prefers the third of the three it read.
    out = reorder(scored, np.array([-2.0, 0.0, 3.0], dtype=np.float32), coef=(0.0, 1.0), bias=0.0)
    assert [x.sentence for x in out] == [2, 1, 0, 3, 4]
    assert [x.score for x in out] == sorted((x.score for x in out), reverse=True)
    assert reorder(scored, np.zeros(0, dtype=np.float32), coef=(0.0, 1.0), bias=0.0) == scored


@pytest.mark.model
def test_the_reader_reads_each_sentence_with_its_neighbours_in_its_article(
    make_engine: Callable[..., Engine],
) -> None:
    snap = make_engine(SEED).snapshot()
    rows = snap.article_rows(0)
    first, last = candidates(snap, [rows.start, rows.stop - 1])
    assert first[1] == "" and first[2] == snap.sentence_text(rows.start + 1)
    assert last[1] == snap.sentence_text(rows.stop - 2) and last[2] == ""


@pytest.mark.model
def test_the_engine_asks_the_reader_only_when_it_reads(make_engine: Callable[..., Engine]) -> None:
    off = make_engine(SEED, config="search:\n  read: 0\n")
    assert "Bushra Bibi" in off.ask("who led the protest?").citations[0].text
    assert off._reader is None  # never loaded
    on = Engine(off.config.replace(search=off.config.search.__class__(read=5)), encoder=off.encoder)
    pipe = on.pipeline()
    assert on._reader is None and pipe.reads  # loaded when a close call is first read, not before
    snap = pipe.snapshot
    assert pipe.reader is not None
    scores = pipe.reader.logits("who led the protest?", candidates(snap, list(snap.article_rows(0))[:2]))
    assert on._reader is not None and scores.shape == (2,)
    assert "Bushra Bibi" in on.ask("who led the protest?").citations[0].text
