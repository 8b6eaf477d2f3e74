"""Q&A channels answer questions, not chatter: the rule, both ways."""

from __future__ import annotations

import pytest

from bot.chatter import is_question


@pytest.mark.parametrize(
    "text",
    [
        "who led the protest",
        "who led the protest?",
        "when?",
        "what else",
        "and after that",
        "tell me about the Alder Street library",
        "whats the latest on the strike",
        "protest leader?",
        "https://dawn.com/news/1 who wrote this?",
    ],
)
def test_questions_are_answered(text: str) -> None:
    assert is_question(text)


@pytest.mark.parametrize(
    "text",
    ["thanks!", "thank you so much", "lol", "ok cool", "👍", "???", "+1", "https://dawn.com/news/1", "great job"],
)
def test_chatter_gets_no_reply(text: str) -> None:
    assert not is_question(text)
