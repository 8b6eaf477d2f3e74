"""The answer pipeline, stage by stage: the one code path that the engine, the eval and the fit use.

    question --prepare--> Query --retrieve--> chunks --features--> candidates --rank--> scored
        --abstain--> refuse? --re-read (close calls)--> order --compose--> Answer (cited quotes)

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
from .query import Query, Scored, prepare
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
    """The stages over one snapshot, with one encoder and one set of fitted weights."""

    snapshot: Snapshot
    encoder: Encoder
    weights: Weights
    search: SearchConfig

    @property
    def abstain_below(self) -> float:
        configured = self.search.abstain_below
        return self.weights.abstain_below if configured is None else configured

    def run(self, questions: Sequence[str], *, top_k: int) -> list[Ranked]:
        """Answer checked, normalized questions; every question's text is embedded in one call."""
        s, search = self.snapshot, self.search
        vectors = self.encoder.encode(list(questions), batch_size=max(1, len(questions)))
        queries = [prepare(text, vector) for text, vector in zip(questions, vectors, strict=True)]
        ranked: list[tuple[Query, list[Scored], float]] = []
        for query in queries:
            chunks = retrieve_chunks(s, query, candidates=search.candidates, keep=search.chunks)
            scored = rank(*features(s, query, chunks), self.weights)
            confidence = self.weights.answerable(question_features(s, query, scored))
            ranked.append((query, scored, confidence))
        refused = [not scored or confidence < self.abstain_below for _, scored, confidence in ranked]
        reordered = reread(
            s,
            self.encoder,
            [
                None if refuse else (query.text, scored)
                for (query, scored, _), refuse in zip(ranked, refused, strict=True)
            ],
            self.weights,
            search.rerank,
        )
        return [
            Ranked(compose(s, query.text, order or scored, refuse, top_k), query, order or scored, confidence)
            for (query, scored, confidence), refuse, order in zip(ranked, refused, reordered, strict=True)
        ]
