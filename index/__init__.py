"""citebot's engine: load, split, embed, store, search and answer; knows nothing of Discord.

The data types, errors and config import no numerical library, so the bot can use them without
loading numpy or FAISS; ``Engine`` is imported on first use (PEP 562).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .config import Config, load_config
from .errors import CitebotError
from .models import Answer, Article, ArticleInfo, BuildReport, Citation, Sentence

if TYPE_CHECKING:
    from .engine import Engine

__version__ = "0.1.0"  # the one place; pyproject.toml reads it (``citebot --version`` shows it)

__all__ = [
    "Answer",
    "Article",
    "ArticleInfo",
    "BuildReport",
    "Citation",
    "CitebotError",
    "Config",
    "Engine",
    "Sentence",
    "__version__",
    "load_config",
]


def __getattr__(name: str) -> Any:
    if name == "Engine":
        from .engine import Engine

        return Engine
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
