"""From a question to cited sentences, in named stages (see pipeline.py); knows nothing of Discord."""

from .conversation import Conversation
from .filters import Filters, make_filters, split_inline
from .model import Weights
from .pipeline import Pipeline, Ranked
from .query import Query, Scored

__all__ = [
    "Conversation",
    "Filters",
    "Pipeline",
    "Query",
    "Ranked",
    "Scored",
    "Weights",
    "make_filters",
    "split_inline",
]
