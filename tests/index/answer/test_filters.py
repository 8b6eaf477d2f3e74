"""Filters as users write them: dates, spans back from today, sources, inline in a message."""

from __future__ import annotations

import datetime as dt

import pytest

from index.answer.filters import Filters, make_filters, parse_when, split_inline
from index.errors import QuestionError
from index.store.folder import StoredArticle

TODAY = dt.date(2026, 12, 1)


def article(id: str = "a", date: str = "2026-11-20", source: str = "https://www.dawn.com/news/1") -> StoredArticle:
    return StoredArticle(id, "Title", date, source, "", 0, 1, 1, 0, 1)


def test_dates_and_spans_back_from_today() -> None:
    assert parse_when("2024-11-01", TODAY) == dt.date(2024, 11, 1)
    assert parse_when("7d", TODAY) == dt.date(2026, 11, 24)
    assert parse_when("2W", TODAY) == dt.date(2026, 11, 17)


@pytest.mark.parametrize("bad", ["yesterday", "2024-13-01", "2024-1-1", "7 days", "-3d"])
def test_a_date_that_does_not_parse_is_one_clear_line(bad: str) -> None:
    with pytest.raises(QuestionError) as err:
        parse_when(bad, TODAY)
    assert "YYYY-MM-DD" in str(err.value) and "\n" not in str(err.value)


def test_since_after_until_is_refused() -> None:
    with pytest.raises(QuestionError, match="after until"):
        make_filters(since="2025-02-01", until="2025-01-01")


def test_inline_filters_come_out_of_the_question() -> None:
    filters, question = split_inline("since:2024-11-01 Source:Dawn.com who led the protest?", TODAY)
    assert question == "who led the protest?"
    assert filters == Filters(since=dt.date(2024, 11, 1), source="dawn.com")
    assert filters.to_dict() == {"since": "2024-11-01", "source": "dawn.com"}
    assert filters.describe() == "since 2024-11-01, source dawn.com"
    # Words that merely contain a colon-free key are left alone, and so is a URL in the question.
    plain, text = split_inline("who said since then https://x.org/a:b", TODAY)
    assert plain.is_empty() and text == "who said since then https://x.org/a:b"


def test_what_each_filter_allows() -> None:
    dawn = article()
    assert make_filters(source="dawn.com").allows(dawn)  # the host of a link, www. or not
    assert make_filters(source="www.dawn.com").allows(dawn)
    assert not make_filters(source="awn.com").allows(dawn)  # a suffix of the host is no match
    assert make_filters(source="Reuters").allows(article(source="reuters"))
    assert make_filters(since="2026-11-20", until="2026-11-20").allows(dawn)
    assert not make_filters(since="7d", today=TODAY).allows(dawn)  # 2026-11-24 onwards
    assert not make_filters(until="2026-01-01").allows(article(date=""))  # undated: in no range
    assert make_filters(article="a").allows(dawn) and not make_filters(article="b").allows(dawn)
