"""Chunks: windows of whole sentences that never exceed the model's word-piece limit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..models import Sentence
from .sentences import CountTokens


@dataclass(frozen=True)
class ChunkSpan:
    """Sentences ``first`` to ``last`` (exclusive) of one article, and their span in its text."""

    first: int
    last: int
    start: int
    end: int


def chunk_sentences(
    text: str,
    sentences: Sequence[Sentence],
    *,
    size: int,
    overlap: int,
    count_tokens: CountTokens,
    max_tokens: int,
) -> list[ChunkSpan]:
    """Group an article's sentences into overlapping windows.

    Each window holds up to ``size`` sentences and starts ``size - overlap`` sentences after the
    previous one; a window ends early when the next sentence would take it past ``max_tokens``.
    Every sentence must already fit on its own (see :func:`index.sentences.fit_sentences`), so every
    sentence is in at least one chunk and no chunk is truncated by the model.

    Returns:
        The chunks in order; empty when there are no sentences.
    """
    if not sentences:
        return []
    step = size - overlap
    costs = [c - 2 for c in count_tokens([s.text for s in sentences])]
    chunks: list[ChunkSpan] = []
    first = 0
    while True:
        last, used = first, 0
        while last < len(sentences) and last - first < size and used + costs[last] <= max_tokens - 2:
            used += costs[last]
            last += 1
        last = max(last, first + 1)  # a sentence that fits alone always forms a chunk
        chunks.append(ChunkSpan(first, last, sentences[first].start, sentences[last - 1].end))
        if last >= len(sentences):
            return chunks
        # Step forward by the configured stride, but never past the end of this chunk, so a chunk
        # cut short by the token limit leaves no sentence uncovered.
        first = min(first + step, last)
