"""The answer pipeline, stage by stage: the one code path that the engine, the eval and the fit use.

    question --normalize--> text --prepare--> Query --retrieve--> chunks --features--> candidates
        --rank--> scored --read (the best few)--> order --abstain--> refuse?
        --re-read (close calls, without a reader)--> order --compose--> Answer (cited quotes)

Each stage is one function in its own module; a later stage (a trained reader, conversation
context, filters) plugs in between two of them here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..config import SearchConfig
from ..embed.base import Encoder
from ..models import Answer
from ..store.snapshot import Snapshot
from .compose import compose
from .features import features, question_features
from .model import Weights, rank
from .normalize import normalize
from .query import Query, Scored, prepare
from .read import SentenceReader, read, reorder
from .reread import reread
from .retrieve import retrieve_chunks

NO_READER_LOGIT = -10.0  # the reader_top of a question with no candidate: far below any read one


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
    candidates and informs abstention, and the re-read is not run: held out, the reader replaces
    what the re-read did (README). Without one, the re-read of close calls runs as before.
    """

    snapshot: Snapshot
    encoder: Encoder
    weights: Weights
    search: SearchConfig
    reader: SentenceReader | None = None

    @property
    def reads(self) -> bool:
        return self.reader is not None and self.search.read > 0 and self.weights.reader is not None

    @property
    def abstain_below(self) -> float:
        if self.search.abstain_below is not None:
            return self.search.abstain_below
        if self.reads and self.weights.reader is not None:
            return self.weights.reader.abstain_below
        return self.weights.abstain_below

    def run(self, questions: Sequence[str], *, top_k: int) -> list[Ranked]:
        """Answer checked questions (as the user typed them: the answer repeats them so); every
        question's normalized text is embedded in one call."""
        s, search = self.snapshot, self.search
        english = self.encoder.known_words()
        texts = [normalize(question, s, english) for question in questions]
        vectors = self.encoder.encode(texts, batch_size=max(1, len(texts)))
        queries = [prepare(text, vector) for text, vector in zip(texts, vectors, strict=True)]
        ranked: list[tuple[Query, list[Scored], float]] = []
        for query in queries:
            chunks = retrieve_chunks(s, query, candidates=search.candidates, keep=search.chunks)
            scored = rank(*features(s, query, chunks), self.weights)
            ranked.append((query, *self._order_and_judge(query, scored)))
        refused = [not scored or confidence < self.abstain_below for _, scored, confidence in ranked]
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
            Ranked(compose(s, question, order or scored, refuse, top_k), query, order or scored, confidence)
            for question, (query, scored, confidence), refuse, order in zip(
                questions, ranked, refused, reordered, strict=True
            )
        ]

    def _order_and_judge(self, query: Query, scored: list[Scored]) -> tuple[list[Scored], float]:
        """The candidates in their order after the reader (when it reads), and the chance that one answers."""
        s, weights = self.snapshot, self.weights
        if not (self.reads and self.reader is not None and weights.reader is not None):
            return scored, weights.answerable(question_features(s, query, scored))
        logits = read(s, self.reader, query.text, scored, self.search.read)
        scored = reorder(scored, logits, weights.reader.order_coef, weights.reader.order_bias)
        top = float(logits.max()) if len(logits) else NO_READER_LOGIT
        return scored, weights.reader.answerable(question_features(s, query, scored), top)
