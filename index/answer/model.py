"""Stage 3, the fitted models: which sentence answers, whether any does, and the re-read order.

The weights are fitted by ``python -m index fit`` (cross-validated by article) and stored in
``index/answer/weights.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import command
from .features import FEATURES, QUESTION_FEATURES
from .query import Scored
from .read import READ_FEATURES

if TYPE_CHECKING:
    from ..config import SearchConfig

# The re-read of the best few (``search.rerank``): what is left of the question once the words the
# sentence shares with it are taken out, against what is left of the sentence.
RERANK_FEATURES = (*FEATURES, "residual")


@dataclass(frozen=True)
class ReaderWeights:
    """The order of a close call's best few once the trained reader has read them (``search.read``
    > 0): ``sigmoid(order_bias + order_coef . READ_FEATURES)``.

    Whether any candidate answers stays the sentence model's call (:meth:`Weights.answerable`), made
    before the reader reads: held out, the reader's logit as a further abstention feature refused no
    more near misses and fewer off-topic questions (docs/research.md).
    """

    order_coef: tuple[float, ...]
    order_bias: float


@dataclass(frozen=True)
class Weights:
    """Three fitted logistic models (``python -m index fit``, cross-validated by article; stored in
    ``index/answer/weights.json``):

    - which sentence answers: ``score = sigmoid(bias + coef . FEATURES)``, read as the chance that
      the sentence answers the question;
    - whether any does: ``sigmoid(abstain_bias + abstain_coef . QUESTION_FEATURES)``, compared with
      ``abstain_below`` to decide whether to say the articles don't say;
    - the order of the best few, read again: ``sigmoid(rerank_bias + rerank_coef . RERANK_FEATURES)``.
    """

    coef: tuple[float, ...]
    bias: float
    abstain_coef: tuple[float, ...]
    abstain_bias: float
    abstain_below: float
    rerank_coef: tuple[float, ...]
    rerank_bias: float
    reader: ReaderWeights | None = None  # None: fitted without the reader (it is then not used)

    @classmethod
    def load(cls, path: Path | None = None) -> Weights:
        file = path or WEIGHTS_FILE
        data = json.loads(file.read_text(encoding="utf-8"))
        if (
            tuple(data["features"]) != FEATURES
            or tuple(data["question_features"]) != QUESTION_FEATURES
            or tuple(data["rerank_features"]) != RERANK_FEATURES
        ):
            raise ValueError(f"{file} was fitted for other features; refit with {command('fit --write')}")
        return cls(
            coef=tuple(float(c) for c in data["coef"]),
            bias=float(data["bias"]),
            abstain_coef=tuple(float(c) for c in data["abstain_coef"]),
            abstain_bias=float(data["abstain_bias"]),
            abstain_below=float(data["abstain_below"]),
            rerank_coef=tuple(float(c) for c in data["rerank_coef"]),
            rerank_bias=float(data["rerank_bias"]),
            reader=_reader_weights(data.get("reader"), file),
        )

    def answerable(self, question_features: np.ndarray) -> float:
        """The chance that some candidate answers, from :func:`question_features`."""
        return float(_logistic(question_features, self.abstain_coef, self.abstain_bias))


WEIGHTS_FILE = Path(__file__).with_name("weights.json")


def _reader_weights(data: object, file: Path) -> ReaderWeights | None:
    if data is None:
        return None
    if not isinstance(data, dict) or tuple(data.get("features", ())) != READ_FEATURES:
        raise ValueError(f"{file} has reader weights for other features; refit with {command('fit --write')}")
    return ReaderWeights(
        order_coef=tuple(float(c) for c in data["order_coef"]),
        order_bias=float(data["order_bias"]),
    )


def _logistic(x: np.ndarray, coef: tuple[float, ...], bias: float) -> np.ndarray:
    """sigmoid(x . coef + bias), row by row: each fitted model's chance."""
    return 1.0 / (1.0 + np.exp(-(x @ np.asarray(coef, dtype=np.float32) + bias)))


def rank(sids: np.ndarray, x: np.ndarray, weights: Weights) -> list[Scored]:
    """Candidates scored by the sentence model from their :func:`features`, best first."""
    if not len(sids):
        return []
    probs = _logistic(x, weights.coef, weights.bias)
    out = [Scored(int(sid), float(p), tuple(float(v) for v in row)) for sid, p, row in zip(sids, probs, x, strict=True)]
    out.sort(key=lambda item: (-item.score, item.sentence))
    return out


# A close call: the runner-up's score is within this of the best's. Without the reader only close
# calls are re-read. Held out (python -m index fit), re-reading the rest changed no first quote that
# mattered: hit@1 is the same from a margin of 0.1 up to always, and 0.25 re-reads about a third of
# the questions. The reader reads every answered question, more of a close call (Reading).
CLOSE_WITHIN = 0.25


def close_call(scored: list[Scored]) -> bool:
    """Whether the best sentences are close enough for a second reading to change the first quote."""
    return worth_reading(scored, CLOSE_WITHIN)


def worth_reading(scored: list[Scored], within: float | None) -> bool:
    """Whether a second reading of the best few may change the first quote: there are two or more,
    and (with ``within``) the runner-up's score is within ``within`` of the best's; None: always."""
    return len(scored) > 1 and (within is None or scored[0].score - scored[1].score < within)


@dataclass(frozen=True)
class Reading:
    """How many of an answered question's best candidates the reader reads (search.read,
    search.read_clear, search.read_within): ``close`` of a close call (the runner-up within
    ``within`` of the best; every question when ``within`` is None), ``clear`` of the others.

    With two rows read at a time (search.read_threads), 2 cost one round and 3 or 4 two: reading 2
    of a clear winner and 4 of a close call keeps the first quotes of reading 4 of every question
    at the time of one round for most questions (experiments.reader_gate, docs/research.md).
    """

    close: int
    clear: int = 0
    within: float | None = CLOSE_WITHIN

    @classmethod
    def of(cls, search: SearchConfig) -> Reading:
        return cls(search.read, search.read_clear, search.read_within)

    def depth(self, scored: list[Scored]) -> int:
        """The candidates read; 0 (none) when fewer than two would be, as one cannot be re-ordered."""
        if len(scored) < 2:
            return 0
        n = self.close if worth_reading(scored, self.within) else self.clear
        return n if n >= 2 else 0


def rerank(scored: list[Scored], residual: np.ndarray, weights: Weights) -> list[Scored]:
    """Re-order the first ``len(residual)`` sentences by the re-read model; the rest keep their place.

    Args:
        scored: Sentences best first, as :func:`score_sentences` gives them.
        residual: (k,) cosine of the two :func:`residuals` of each of ``scored[:k]``.

    The re-read sentences take the re-read model's chance as their score; a sentence below them
    keeps its own, capped at theirs, so scores still fall down the list.
    """
    head = scored[: len(residual)]
    if not head:
        return scored
    x = np.hstack([np.array([item.features for item in head], dtype=np.float32), residual.reshape(-1, 1)])
    probs = _logistic(x, weights.rerank_coef, weights.rerank_bias)
    order = np.argsort(-probs, kind="stable")
    floor = float(probs.min())
    tail = [Scored(item.sentence, min(item.score, floor), item.features) for item in scored[len(head) :]]
    return [Scored(head[i].sentence, float(probs[i]), head[i].features) for i in order] + tail
