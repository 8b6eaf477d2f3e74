"""Word terms: the tokenizer, stopwords and stemmer that BM25 and the answer features share."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

import Stemmer

_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")


_STEMMER = Stemmer.Stemmer("english")


# Function words that carry no topic; question words are here too ("who", "when"): they say what
# kind of answer is wanted, which the answer step reads from the question itself.
STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had
    has have having he her here hers herself him himself his how i if in into is it its itself just
    me more most my myself no nor not now of off on once only or other our ours ourselves out over
    own same she should so some such than that the their theirs them themselves then there these
    they this those through to too under until up very was we were what when where which while who
    whom why will with would you your yours yourself yourselves also s t d ll m re ve""".split()
)


def words(text: str) -> list[str]:
    """Lowercased word tokens, possessives dropped ("Khan's" -> "khan")."""
    out = []
    for token in _TOKEN.findall(text.lower()):
        token = re.split(r"['’]", token, maxsplit=1)[0] if token.endswith(("'s", "’s")) else token
        out.append(token)
    return out


def word_spans(text: str) -> list[tuple[str, int, int]]:
    """The words of :func:`words` with where they are: (word, start, end), ``text[start:end]`` the
    token as written, possessive included. Matched on ``text`` itself, not its lower case, so the
    offsets hold even where lowering changes a string's length ("İ")."""
    out = []
    for m in _TOKEN.finditer(text):
        token = m.group(0).lower()
        token = re.split(r"['’]", token, maxsplit=1)[0] if token.endswith(("'s", "’s")) else token
        out.append((token, m.start(), m.end()))
    return out


def terms(text: str) -> list[str]:
    """Index terms of a text: words without stopwords, Snowball-stemmed."""
    return _STEMMER.stemWords([w for w in words(text) if w not in STOPWORDS])


def stem_word(word: str) -> str:
    """The Snowball stem of one lowercased word, as :func:`terms` stems."""
    return str(_STEMMER.stemWord(word))


def word_counts(texts: Iterable[str]) -> dict[str, int]:
    """How often each lowercased word (possessives dropped) occurs: the vocabulary that a misspelt
    question word is matched against."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(words(text))
    return dict(counts)


def terms_many(texts: Iterable[str]) -> list[list[str]]:
    return [terms(t) for t in texts]
