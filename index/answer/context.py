"""One question in its context: the filters that apply and the conversation it is part of.

The pipeline answers a question over a set of chunks; this module decides which set (the filters'
articles; first those quoted earlier in the conversation, then the rest) and what to search (the
follow-up reading of :mod:`.conversation`), answers "what did she say next?" with the article's
next sentence, and records the turn.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..models import Answer
from ..store.snapshot import Snapshot
from .compose import compose
from .conversation import Conversation, Quote, Reading, read_follow_up
from .filters import Filters, chunks_of, scope_of
from .pipeline import Pipeline
from .query import Scored

# A quote chosen by a follow-up rule (the next sentence), not by the sentence model, carries this
# score: there is no model's chance to report.
RULE_SCORE = 0.0


def ask_in_context(
    pipe: Pipeline,
    question: str,
    *,
    top_k: int,
    filters: Filters | None = None,
    conversation: Conversation | None = None,
) -> Answer:
    """Answer a checked question within ``filters``, reading it against ``conversation`` (and
    recording the turn there).

    Raises:
        QuestionError: The filters leave no indexed article.
    """
    s = pipe.snapshot
    within = scope_of(s, filters)
    reading = read_follow_up(question, conversation)
    if reading.next_of is not None:
        answer = next_sentence(s, question, reading.next_of, filters)
    else:
        answer = _search(pipe, question, reading, within, top_k)
    answer = dataclasses.replace(
        answer,
        filters=filters.to_dict() if filters is not None else {},
        read_as=_described(reading) if reading.changed(question) else "",
    )
    if conversation is not None:
        conversation.record(answer, reading.text)
    return answer


def _search(pipe: Pipeline, question: str, reading: Reading, within: np.ndarray | None, top_k: int) -> Answer:
    """The articles quoted earlier first; when they give no answer, every article in the filters."""
    s = pipe.snapshot
    query = pipe.queries([reading.text])  # embedded once for both searches
    if reading.prefer:
        preferred = chunks_of(s, np.array([a.id in reading.prefer for a in s.articles], dtype=bool))
        if within is not None:
            preferred = np.intersect1d(preferred, within, assume_unique=True)
        if len(preferred):
            first = pipe.run([question], top_k=top_k, within=preferred, queries=query)[0].answer
            if not first.abstained:
                return first
    return pipe.run([question], top_k=top_k, within=within, queries=query)[0].answer


def next_sentence(s: Snapshot, question: str, last: Quote, filters: Filters | None) -> Answer:
    """The sentence after ``last`` in its article, quoted and cited like any other."""
    index = s.by_id.get(last.article_id)
    if index is None:
        return Answer(question, abstained=True, reason="the article quoted last is no longer indexed")
    article = s.articles[index]
    if filters is not None and not filters.allows(article):
        return Answer(question, abstained=True, reason="the article quoted last is outside the filters")
    rows = range(article.first_sentence, article.first_sentence + article.sentences)
    following = next((r for r in rows if s.sentence_number(r) == last.sentence + 1), None)
    if following is None:
        return Answer(question, abstained=True, reason="the article ends with the last quote")
    # "what did she say next" asks for no name or number: the next sentence is quoted plain.
    return compose(s, question, [Scored(following, RULE_SCORE, ())], False, 1, highlight=False)


def _described(reading: Reading) -> str:
    if reading.next_of is not None:
        return f"the sentence after sentence {reading.next_of.sentence} of {reading.next_of.article_id}"
    return reading.text
