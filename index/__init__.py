"""citebot's engine: load, split, embed, store, search and answer; knows nothing of Discord."""

from .config import Config, load_config
from .engine import Engine
from .errors import CitebotError
from .models import Answer, Article, ArticleInfo, BuildReport, Citation, Sentence

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
    "load_config",
]
