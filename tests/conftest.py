"""Shared fixtures: one real model per session, real corpora and real indexes in temporary folders."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from index.config import CACHE_ENV, Config, load_config
from index.embed import Encoder, load_encoder
from index.engine import Engine

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "corpus" / "000_8554960fb2f5e50c.txt"
SEED_ID = "000_8554960fb2f5e50c"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
NEWS = ROOT / "eval" / "news"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that needs the real model ``model``: ``pytest -m "not model"`` is the fast tier.

    A test needs it when it uses the ``encoder`` fixture (directly or through another fixture);
    modules whose tests load the model in other ways mark themselves with ``pytestmark``.
    """
    for item in items:
        if "encoder" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.model)


@pytest.fixture(scope="session", autouse=True)
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One shared model cache for the whole session, as ``build`` makes it: every engine, CLI run and
    subprocess of the tests uses its one export (and never the user's own ~/.cache/citebot)."""
    folder = tmp_path_factory.mktemp("models")
    before = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(folder)
    yield folder
    if before is None:
        os.environ.pop(CACHE_ENV, None)
    else:
        os.environ[CACHE_ENV] = before


@pytest.fixture(scope="session")
def encoder(models_dir: Path) -> Encoder:
    """The real default model as the engine serves it (its ONNX export), loaded once per session."""
    return load_encoder("sentence-transformers/all-MiniLM-L6-v2", "fp32", models_dir, threads=2)


def write_config(folder: Path, text: str = "") -> Path:
    """A config.yaml in ``folder`` whose corpus and index live beside it."""
    path = folder / "config.yaml"
    path.write_text("corpus_dir: corpus\nindex_dir: index\n" + text, encoding="utf-8")
    return path


@pytest.fixture
def make_engine(tmp_path: Path, encoder: Encoder) -> Callable[..., Engine]:
    """Build an engine over a fresh corpus folder holding copies of the given files.

    Args (of the returned function):
        *files: Article files to copy into the corpus.
        config: Extra YAML appended to the config.
        build: Whether to build the index right away.
    """

    def make(*files: Path, config: str = "", build: bool = True) -> Engine:
        (tmp_path / "corpus").mkdir(exist_ok=True)
        for f in files:
            shutil.copy(f, tmp_path / "corpus" / f.name)
        cfg: Config = load_config(write_config(tmp_path, config))
        engine = Engine(cfg, encoder=encoder)
        if build:
            engine.rebuild()
        return engine

    return make


@pytest.fixture
def seed_engine(make_engine: Callable[..., Engine]) -> Engine:
    """An engine whose index holds the seed article only."""
    return make_engine(SEED)
