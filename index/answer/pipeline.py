"""The answer pipeline, stage by stage: the one code path that the engine, the eval and the fit use.

    question --normalize--> text --prepare--> Query --retrieve--> chunks --features--> candidates
        --rank--> scored --abstain--> refuse? --read (the best few of a close call)--> order
        --recency (ties, "latest")--> order
        --re-read (close calls, without a reader)--> order --compose--> Answer (cited quotes)

Each stage is one function in its own module; a later stage (a trained reader, conversation
context, filters) plugs in between two of them here.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..config import SearchConfig
from ..embed.base import Encoder
from ..models import Answer
from ..store.snapshot import Snapshot
from .compose import EVERY_QUOTE, compose
from .features import features, question_features
from .model import Reading, Weights, rank
from .normalize import normalize
from .query import Query, Scored, prepare
from .read import SentenceReader, read, reorder
from .recency import newest_first
from .reread import reread
from .retrieve import retrieve_chunks


@dataclass(frozen=True)
class Ranked:
    """One question through the pipeline: the answer, and what it was chosen from."""

    answer: Answer
    query: Query
    scored: list[Scored]  # every candidate, best first, after the re-read
    confidence: float  # the abstention model's chance that some candidate answers


@dataclass(frozen=True)
class Pipeline:
    """The stages over one snapshot, with one encoder, one reader and one set of fitted weights.

    With a reader (and weights fitted with it) the reader stage orders the best ``search.read``
    candidates of a close call and ``search.read_clear`` of the other questions it answers
    (:class:`~index.answer.model.Reading`), and the re-read is not run: held out, the reader replaces what the
    re-read did (README). Without one, the re-read of close calls runs.
    """

    snapshot: Snapshot
    encoder: Encoder
    weights: Weights
    search: SearchConfig
    reader: SentenceReader | None = None

    @functools.cached_property
    def reading(self) -> Reading:
        """How many candidates the reader stage reads of a question (search.read, read_clear, read_within)."""
        return Reading.of(self.search)

    @property
    def reads(self) -> bool:
        return self.reader is not None and self.search.read > 0 and self.weights.reader is not None

    @property
    def abstain_below(self) -> float:
        """The abstention threshold: the configured one, else the one fitted with the weights."""
        return self.search.abstain_below if self.search.abstain_below is not None else self.weights.abstain_below

    def queries(self, texts: Sequence[str]) -> list[Query]:
        """Each text normalized and embedded (one encoder call for all): what every later stage reads."""
        s = self.snapshot
        english = self.encoder.known_words()
        normalized = [normalize(text, s, english) for text in texts]
        vectors = self.encoder.encode(normalized, batch_size=max(1, len(normalized)))
        return [prepare(text, vector) for text, vector in zip(normalized, vectors, strict=True)]

    def run(
        self,
        questions: Sequence[str],
        *,
        top_k: int,
        within: np.ndarray | None = None,
        queries: Sequence[Query] | None = None,
    ) -> list[Ranked]:
        """Answer checked questions (as the user typed them: the answer repeats them so).

        Args:
            questions: The questions as asked.
            top_k: Most quotes per answer.
            within: Sorted chunk ids to answer from (filters, a conversation's articles); None: all.
            queries: The questions as :meth:`queries` prepared them, when the caller has them (a
                follow-up read against its conversation is searched as its reading, and searched
                twice when the conversation's articles give no answer); None: prepared here.
        """
        s, search = self.snapshot, self.search
        queries = list(queries) if queries is not None else self.queries(questions)
        ranked: list[tuple[Query, list[Scored], float]] = []
        refused: list[bool] = []
        for query in queries:
            chunks = retrieve_chunks(s, query, candidates=search.candidates, keep=search.chunks, within=within)
            scored = rank(*features(s, query, chunks), self.weights)
            # Whether any answers is the sentence model's call, made before the reader reads (and a
            # refused question is not read at all).
            confidence = self.weights.answerable(question_features(s, query, scored))
            refuse = not scored or confidence < self.abstain_below
            ranked.append(
                (query, scored if refuse else newest_first(s, query.text, self._read(query, scored)), confidence)
            )
            refused.append(refuse)
        reordered = reread(
            s,
            self.encoder,
            [
                None if refuse else (query.text, scored)
                for (query, scored, _), refuse in zip(ranked, refused, strict=True)
            ],
            self.weights,
            0 if self.reads else search.rerank,
        )
        return [
            Ranked(
                compose(s, question, order or scored, refuse, top_k, EVERY_QUOTE if search.every_quote else None),
                query,
                order or scored,
                confidence,
            )
            for question, (query, scored, confidence), refuse, order in zip(
                questions, ranked, refused, reordered, strict=True
            )
        ]

    def _read(self, query: Query, scored: list[Scored]) -> list[Scored]:
        """The candidates in their order after the reader, which reads the best few of an answered
        question (:class:`~index.answer.model.Reading`: more of a close call)."""
        weights = self.weights
        depth = self.reading.depth(scored)
        if not (depth and self.reads and self.reader is not None and weights.reader is not None):
            return scored
        logits = read(self.snapshot, self.reader, query.text, scored, depth)
        return reorder(scored, logits, weights.reader.order_coef, weights.reader.order_bias)
