"""Text from articles on a terminal: control and escape sequences shown, never obeyed."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

import index.cli
from index.cli import _paint, for_terminal


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b[2J\x1b]0;pwned\x07", "\\x1b[2J\\x1b]0;pwned\\x07"),  # clear screen, set the window title
        ("a\x9b31mb", "a\\x9b31mb"),  # C1 CSI, which some terminals obey as ESC [
        ("\x00\x7f\x08", "\\x00\\x7f\\x08"),  # NUL, DEL, backspace (which could hide what precedes it)
        ("safe \u202eexe.txt", "safe \\u202eexe.txt"),  # a right-to-left override reorders what follows
        ("\u2066a\u2069 \u200f \u061c", "\\u2066a\\u2069 \\u200f \\u061c"),
        ("one\ttwo\nthree\r\nfour\x0b\x0c\x85\u2028\u2029", "one two three  four     "),
        ("bad \udcff byte", "bad \\udcff byte"),  # a lone surrogate, as a non-UTF-8 argv byte arrives
    ],
)
def test_controls_are_made_visible(raw: str, shown: str) -> None:
    assert for_terminal(raw) == shown


def test_ordinary_text_is_unchanged() -> None:
    text = "Café – “quoted” — naïve 東京 عربي עברית 🙂 👩‍👩‍👧 a\u200bb\u00a0c ½"
    assert for_terminal(text) == text


@given(st.text())
def test_nothing_a_terminal_obeys_is_left(text: str) -> None:
    shown = for_terminal(text)
    assert all(unicodedata.category(c) not in ("Cc", "Cs") for c in shown)
    assert not any(c in shown for c in "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
    # What else is not "printable" is ordinary text: spaces, joiners, private use, unassigned.
    assert all(c.isprintable() or unicodedata.category(c) in ("Zs", "Cf", "Co", "Cn") for c in shown)


def test_styling_is_added_after_the_text_is_made_safe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(index.cli, "_stdout_is_terminal", lambda: True)
    monkeypatch.delenv("NO_COLOR", raising=False)
    # The article's own escape is shown, the bold's is kept: the order matters both ways.
    assert _paint("a\x1b[2Jb", bold=True) == "\x1b[1ma\\x1b[2Jb\x1b[0m"
    monkeypatch.setenv("NO_COLOR", "1")
    assert _paint("a\x1b[2Jb", bold=True) == "a\\x1b[2Jb"
