"""The measuring code's own pieces: the twins a chat user would type for a question."""

from __future__ import annotations

from index.evaluate import twin_questions


def test_twins_are_the_question_lower_cased_without_its_mark_and_misspelt() -> None:
    assert twin_questions("Who led the protest?") == [
        "who led the protest?",
        "Who led the protest",
        "Who led the prtoest?",
    ]
    assert twin_questions("who led it") == ["who led it?"]  # already lower case; no word long enough to misspell
