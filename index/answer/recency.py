"""Stage 4b, recency: the newer article wins a tie, and a question that asks for the latest.

News changes: "who is the minister now?" wants the newest article's answer, and of two syndicated
copies that answer equally, the newer is the one to quote. Only candidates whose scores are within
a small margin of the best are re-ordered by their article's date (newest first); the rest keep
their order. The date is in every citation already.
"""

from __future__ import annotations

import re

from ..store.snapshot import Snapshot
from .query import Scored

_LATEST = re.compile(r"\b(latest|newest|now|current|currently|still|most recent|recently|these days|today)\b")
# "Answer equally": scores this close are a tie. A question that asks for the latest takes the
# newest of the candidates within LATEST_WITHIN of the best.
TIE_WITHIN = 1e-4
LATEST_WITHIN = 0.1


def asks_for_latest(question: str) -> bool:
    return _LATEST.search(question.lower()) is not None


def newest_first(s: Snapshot, question: str, scored: list[Scored]) -> list[Scored]:
    """``scored`` with the candidates close to the best re-ordered newest article first."""
    if len(scored) < 2:
        return scored
    margin = LATEST_WITHIN if asks_for_latest(question) else TIE_WITHIN
    best = scored[0].score
    n = 1
    while n < len(scored) and scored[n].score >= best - margin:
        n += 1  # scored is best first: the close ones are a prefix
    if n < 2:
        return scored
    # Stable: among equally dated candidates the model's order stands; "" (undated) sorts oldest.
    return sorted(scored[:n], key=lambda x: s.article_of(x.sentence).date, reverse=True) + scored[n:]
