"""Follow-up questions that remember, without an LLM: what a conversation keeps and how a question
is read against it.

A :class:`Conversation` is the memory of one Discord thread or one ``chat`` session: its last
questions and the sentences quoted for them (by article id and sentence number, which survive a
re-index), bounded to 10 turns and forgotten a day after the last one. :func:`read_follow_up` reads a
new question against it, with four rules and nothing cleverer:

- **next**: "what did she say next?", "what else?", "and after that?" (a question with no topic of
  its own that asks to go on) is answered with the sentence after the last quote, in its article;
- **topic**: a question that names no topic of its own ("when?", "why did they do that?") is
  searched with the topic words of the last question that had some added;
- **pronouns**: he/she (his, her) are searched as the one person the last quote names, they/it
  (them, their, its) as its one organisation (:func:`resolve_pronouns`); where it names none or
  several, they are left alone;
- **where to look**: the articles quoted earlier in the conversation are searched first, then the rest.

Every answer is still verbatim quotes with citations, and a follow-up the articles do not answer is
refused like any question.
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from ..models import Answer
from ..text.terms import STOPWORDS, words
from .cues import names

MAX_TURNS = 10
TTL_SECONDS = 24 * 3600.0

# Words that ask for no topic: said of anything ("what did she say?", "why did they do that?").
_GENERIC = frozenset(
    """say said says tell told mention mentioned happen happened happens mean means meant think thought
    know knew else next then later afterwards after that this thing things anything something more
    about really ok okay so go going went continue again also and yes no""".split()
)
_NEXT = re.compile(
    r"\b(next|after that|afterwards|and then|then what|what else|anything else|go on|continue|keep going|more)\b"
)
_PERSONAL = re.compile(r"\b(he|she|him|her|his|hers)\b", re.IGNORECASE)
_OTHER = re.compile(r"\b(they|them|their|theirs|it|its)\b", re.IGNORECASE)
# A name ending in one of these is an organisation's, not a person's (one without, such as "Calder
# Rail", is taken for neither: see resolve_pronouns).
_ORGANISATION = re.compile(
    r"\b(FC|Council|Party|Ltd|Inc|plc|Group|Club|Bank|Board|Service|University|Authority|Union|Company|"
    r"Association|Ministry|Department|Agency|Committee|Court|Police|Corporation|Foundation|Institute|Trust)$"
)


@dataclass(frozen=True)
class Quote:
    """A quoted sentence, by what survives a re-index: its article's id and its sentence number."""

    article_id: str
    sentence: int
    text: str


@dataclass(frozen=True)
class Turn:
    question: str  # as asked
    read_as: str  # as searched
    quotes: tuple[Quote, ...]  # best first; empty when refused
    at: float


class Conversation:
    """The memory of one conversation: the last ``max_turns`` turns, cleared ``ttl_seconds`` after the
    last one. Nothing about who asked is kept. Safe to share between threads."""

    def __init__(
        self, *, max_turns: int = MAX_TURNS, ttl_seconds: float = TTL_SECONDS, clock: Callable[[], float] = time.time
    ) -> None:
        self._turns: deque[Turn] = deque(maxlen=max_turns)
        self._ttl = ttl_seconds
        self._clock = clock
        self._lock = threading.Lock()

    @property
    def turns(self) -> tuple[Turn, ...]:
        with self._lock:
            if self._turns and self._clock() - self._turns[-1].at > self._ttl:
                self._turns.clear()
            return tuple(self._turns)

    def record(self, answer: Answer, read_as: str) -> None:
        """Remember a question and what was quoted for it."""
        quotes = tuple(Quote(c.article_id, c.sentence, c.text) for c in answer.citations)
        with self._lock:
            self._turns.append(Turn(answer.question, read_as, () if answer.abstained else quotes, self._clock()))

    def quoted_articles(self) -> list[str]:
        """Ids of the articles quoted so far, the most recently quoted first."""
        seen: list[str] = []
        for turn in reversed(self.turns):
            for q in turn.quotes:
                if q.article_id not in seen:
                    seen.append(q.article_id)
        return seen

    def last_quote(self) -> Quote | None:
        """The first quote of the last turn that quoted anything."""
        for turn in reversed(self.turns):
            if turn.quotes:
                return turn.quotes[0]
        return None


@dataclass(frozen=True)
class Reading:
    """How a question is read against its conversation."""

    text: str  # what is searched: the question, with an inherited topic and resolved pronouns
    next_of: Quote | None = None  # "next": answer with the sentence after this quote
    prefer: tuple[str, ...] = ()  # article ids searched first

    def changed(self, question: str) -> bool:
        return self.next_of is not None or self.text != question


def topic_words(text: str) -> list[str]:
    """The words of a question that name a topic: not function words, not words said of anything."""
    return [w for w in words(text) if w not in STOPWORDS and w not in _GENERIC and not w.isdigit()]


def resolve_pronouns(question: str, quote: str) -> str:
    """he/she (him, her, his, hers) read as the one person the quote names (a name of two words or
    more that is not an organisation's: "Maria Lopez"; a one-word name is as often a place), they/it
    (them, their, its) as its one organisation (a name ending in "Council", "FC", "Party"...: a lone
    "it" is more often a thing). Where there are none or several, the pronouns stay."""
    mentioned = [n for n in names(quote) if " " in n]
    organisations = [n for n in mentioned if _ORGANISATION.search(n)]
    people = [n for n in mentioned if n not in organisations]
    if len(people) == 1:
        question = _PERSONAL.sub(people[0], question)
    if len(organisations) == 1:
        question = _OTHER.sub(organisations[0], question)
    return question


def read_follow_up(question: str, conversation: Conversation | None) -> Reading:
    """Read ``question`` against the conversation so far (see the module's rules)."""
    turns = conversation.turns if conversation is not None else ()
    if not turns:
        return Reading(question)
    assert conversation is not None
    own_topic = bool(topic_words(question))
    last = conversation.last_quote()
    if not own_topic and last is not None and _NEXT.search(question.lower()):
        return Reading(question, next_of=last, prefer=(last.article_id,))
    text = question if last is None else resolve_pronouns(question, last.text)
    if not own_topic:
        # The topic of the last question that had one ("what did she say next?" has none).
        topic = next((found for t in reversed(turns) if (found := topic_words(t.read_as))), [])
        inherited = [w for w in topic if w not in words(text)]
        if inherited:
            text = f"{text} {' '.join(inherited)}"
    return Reading(text, prefer=tuple(conversation.quoted_articles()))
