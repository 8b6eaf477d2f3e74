"""Stage 0, the question as people type it, made into the one text every later stage reads.

Chat questions come in lower case, without "?", with typos and abbreviations. The question is
normalized once, and that text is what the embedding, BM25 and every feature see:

- white space collapsed and the end punctuation made one "?" ("who led it??", "who led it!" and
  "who led it" are one question; "?" rather than none because the model and the fitted weights
  read questions written with one: dropping it cost 5 of 148 first quotes on eval/news held out);
- a word that is neither in the index nor a common English word (a whole word of the model's
  tokenizer vocabulary) is replaced by the closest word the index has with the same first letter
  (by edit distance, the commonest among equals), so "musuem" finds "museum" while "fourth" is never made "forth"; a
  word with nothing close is left alone;
- a common news abbreviation and its long form are both given when the index uses the other
  form ("ceo" also asks for "chief executive", and the other way round).
"""

from __future__ import annotations

import re
import threading
import weakref
from collections.abc import Container

from rapidfuzz import process
from rapidfuzz.distance import OSA

from ..store.snapshot import Snapshot
from ..text.terms import STOPWORDS, stem_word, terms

# How close a known word must be to replace an unknown one: 1 - edits / length of the longer
# word. 0.8 lets a 5-letter word have one edit ("wich" -> "which") and a 10-letter word two, and
# keeps 4-letter words as typed ("paid" is not "said").
MIN_SIMILARITY = 0.8
MIN_LENGTH = 4  # shorter words are left as typed: too many real words are one edit apart

# Common abbreviations of English-language news and their long forms (a general table, not one
# drawn from any question set). Only used when the index holds the other form.
ABBREVIATIONS = {
    "ceo": "chief executive",
    "cfo": "chief financial officer",
    "coo": "chief operating officer",
    "cto": "chief technology officer",
    "vp": "vice president",
    "mp": "member of parliament",
    "mep": "member of the european parliament",
    "pm": "prime minister",
    "gp": "general practitioner",
    "fc": "football club",
    "nhs": "national health service",
    "un": "united nations",
    "eu": "european union",
    "uk": "united kingdom",
    "usa": "united states",
    "govt": "government",
    "dept": "department",
    "uni": "university",
    "hq": "headquarters",
    "ngo": "non-governmental organisation",
    "ai": "artificial intelligence",
    "icu": "intensive care unit",
    "gdp": "gross domestic product",
    "ipo": "initial public offering",
    "ev": "electric vehicle",
    "pr": "public relations",
    "cllr": "councillor",
    "supt": "superintendent",
    "sgt": "sergeant",
    "insp": "inspector",
    "det": "detective",
    "prof": "professor",
    "dr": "doctor",
    "pres": "president",
    "intl": "international",
    "corp": "corporation",
    "ltd": "limited",
    "mph": "miles per hour",
    "km": "kilometres",
    "yr": "year",
    "yrs": "years",
    "approx": "approximately",
}
# The index terms of each long form, worked out once rather than for every question.
_LONG_TERMS = {short: tuple(terms(long)) for short, long in ABBREVIATIONS.items()}
_WORD = re.compile(r"[^\W\d_][^\W_]*(?:['’][^\W_]+)*")
_END = re.compile(r"[\s?!.…]+$")


def normalize(question: str, snapshot: Snapshot, english: Container[str] = frozenset()) -> str:
    """The text every stage reads for ``question`` (see the module docstring).

    Args:
        question: As the user typed it.
        snapshot: The index whose words a misspelt word is matched to.
        english: Words never respelt (the encoder's :meth:`~index.embed.base.Encoder.known_words`).
    """
    text = tidy(question)
    if not text.endswith("?"):  # only punctuation: nothing to respell
        return text
    core = expand_abbreviations(respell(text[:-1], snapshot, english), snapshot)
    return f"{core}?"


def tidy(question: str) -> str:
    """White space collapsed, the end punctuation made one "?" (a question that is only punctuation stays)."""
    text = " ".join(question.split())
    core = _END.sub("", text)
    return f"{core}?" if core else text


def respell(text: str, snapshot: Snapshot, english: Container[str] = frozenset()) -> str:
    """``text`` with each word that neither the index nor ``english`` knows replaced by the
    closest word the index does know."""
    vocab = snapshot.sentence_lexical.vocab

    def fix(match: re.Match[str]) -> str:
        word = match.group(0)
        low = word.lower()
        if len(low) < MIN_LENGTH or low in STOPWORDS or low in english or stem_word(low) in vocab:
            return word
        return _closest(low, snapshot) or word

    return _WORD.sub(fix, text)


def expand_abbreviations(text: str, snapshot: Snapshot) -> str:
    """``text`` followed by the other form of each abbreviation or long form in it that the index uses."""
    vocab = snapshot.sentence_lexical.vocab
    low = " " + " ".join(w.lower() for w in _WORD.findall(text)) + " "
    extra: list[str] = []
    for short, long in ABBREVIATIONS.items():
        if f" {short} " in low and f" {long} " not in low and all(t in vocab for t in _LONG_TERMS[short]):
            extra.append(long)
        elif f" {long} " in low and f" {short} " not in low and stem_word(short) in vocab:
            extra.append(short)
    return f"{text} ({', '.join(extra)})" if extra else text


class _Vocabulary:
    """A snapshot's words bucketed by length, built once on the first unknown word."""

    def __init__(self, words: dict[str, int]) -> None:
        self.counts = words
        self.by_length: dict[int, list[str]] = {}
        for word in words:
            if word.isalpha():
                self.by_length.setdefault(len(word), []).append(word)


_VOCABULARIES: weakref.WeakKeyDictionary[Snapshot, _Vocabulary] = weakref.WeakKeyDictionary()
_VOCABULARIES_LOCK = threading.Lock()


def _vocabulary(snapshot: Snapshot) -> _Vocabulary:
    with _VOCABULARIES_LOCK:
        vocab = _VOCABULARIES.get(snapshot)
        if vocab is None:
            vocab = _VOCABULARIES[snapshot] = _Vocabulary(snapshot.words())
        return vocab


def _closest(word: str, snapshot: Snapshot) -> str | None:
    """The known word closest to ``word`` at or above MIN_SIMILARITY (the commonest of the closest)."""
    vocab = _vocabulary(snapshot)
    # Two edits at most change the length by two, and MIN_SIMILARITY allows no more for any word
    # a chat question holds.
    # The first letter is kept: typing slips seldom hit it, and real words one edit apart that
    # differ there ("pertain", "certain") are not a typo of each other.
    choices = [w for n in range(len(word) - 2, len(word) + 3) for w in vocab.by_length.get(n, ()) if w[0] == word[0]]
    found = process.extract(word, choices, scorer=OSA.normalized_similarity, score_cutoff=MIN_SIMILARITY, limit=8)
    if not found:
        return None
    best = max(score for _, score, _ in found)
    return max((w for w, score, _ in found if score == best), key=lambda w: (vocab.counts.get(w, 0), w))
