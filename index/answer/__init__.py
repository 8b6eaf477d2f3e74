"""From a question to cited sentences, in named stages (see pipeline.py); knows nothing of Discord."""

from .model import Weights
from .pipeline import Pipeline, Ranked
from .query import Query, Scored

__all__ = ["Pipeline", "Query", "Ranked", "Scored", "Weights"]
