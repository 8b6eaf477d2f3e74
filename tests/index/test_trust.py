"""What the engine promises around the answer: links judged by their target, ordinary file modes, an
`ask` without an index that writes nothing, one model export per model content, repaired by `build`,
and a stale index said so."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from index.cli import main
from index.config import load_config
from index.embed import Encoder, export_dir, resolve_model
from index.engine import Engine
from index.errors import ArticleError, IndexMismatchError, IndexMissingError
from tests.conftest import SEED, SEED_ID, write_config

pytestmark = pytest.mark.model  # exports or loads the real model itself

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_add_of_a_link_that_leads_out_of_the_corpus_copies_and_indexes_nothing(
    tmp_path: Path, make_engine: Callable[..., Engine]
) -> None:
    engine = make_engine(SEED)
    secret = tmp_path / "outside" / "private-notes.txt"
    secret.parent.mkdir()
    secret.write_text("The vault code is 4711. Nobody else knows it.", encoding="utf-8")
    link = engine.config.corpus_dir / "notes.txt"
    link.symlink_to(secret)

    with pytest.raises(ArticleError, match="link that points outside the corpus"):
        engine.add(link)
    assert [a.id for a in engine.articles()] == [SEED_ID]
    assert not any("4711" in p.read_text(encoding="utf-8") for p in engine.config.corpus_dir.glob("*.md"))

    result = CliRunner().invoke(main, ["--config", str(tmp_path / "config.yaml"), "add", str(link)])
    assert result.exit_code != 0 and "points outside the corpus" in result.output
    assert all("4711" not in c.text for c in engine.ask("what is the vault code?").citations)


def test_articles_written_into_the_corpus_get_ordinary_permissions(
    tmp_path: Path, make_engine: Callable[..., Engine], umask_022: None
) -> None:
    engine = make_engine(SEED)
    upload = tmp_path / "kelso-fair.txt"
    upload.write_text("The Kelso fair opened on Saturday. It drew 4,000 visitors.", encoding="utf-8")
    engine.add_bytes("kelso-fair.txt", upload.read_bytes())
    saved = engine.config.corpus_dir / "kelso-fair.txt"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o644


def test_ask_without_an_index_fails_at_once_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "corpus").mkdir()
    shutil.copy(SEED, tmp_path / "corpus" / SEED.name)
    config = load_config(write_config(tmp_path, f"model:\n  cache_dir: {tmp_path / 'cache'}\n"))
    with pytest.raises(IndexMissingError, match="python -m index build"):
        Engine(config).ask("who led the protest?")
    assert not (tmp_path / "cache").exists() and not (tmp_path / "index").exists()


def test_one_export_serves_every_index_and_the_first_build_says_what_it_does(
    tmp_path: Path, models_dir: Path, encoder: Encoder
) -> None:
    """The session's export (made by the ``encoder`` fixture) is the one every index folder uses."""
    exports = sorted(p.name for p in (models_dir / "exports").iterdir())
    for name in ("first", "second"):
        (tmp_path / name / "corpus").mkdir(parents=True)
        shutil.copy(SEED, tmp_path / name / "corpus" / SEED.name)
        notices: list[str] = []
        engine = Engine(load_config(write_config(tmp_path / name)), notice=notices.append)
        engine.rebuild()
        assert not [n for n in notices if "one-time ONNX export" in n]  # already made, by the fixture
        assert engine.snapshot().manifest.model.fingerprint == encoder.fingerprint
    assert sorted(p.name for p in (models_dir / "exports").iterdir()) == exports


def _copy_model(folder: Path) -> Path:
    packaged = resolve_model(DEFAULT_MODEL)
    assert isinstance(packaged, Path)
    shutil.copytree(packaged, folder)
    return folder


def _nudge_weights(model: Path) -> None:
    """Change the last layer's output weights (far past the file's first MiB) without changing the
    file's size, as a re-saved fine-tune of the same shape would: the lowest mantissa byte of each float."""
    weights = model / "model.safetensors"
    data = bytearray(weights.read_bytes())
    header_len = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + header_len])
    (name,) = [n for n in header if n.endswith("layer.5.output.dense.weight")]
    begin, end = header[name]["data_offsets"]
    base = 8 + header_len
    assert base + begin > 1 << 20
    for at in range(base + begin, base + end, 4):
        data[at] ^= 0x5A
    weights.write_bytes(bytes(data))


def test_a_changed_model_in_the_same_folder_gets_its_own_export_and_the_old_index_is_refused(
    tmp_path: Path, encoder: Encoder
) -> None:
    model = _copy_model(tmp_path / "my-model")
    (tmp_path / "corpus").mkdir()
    shutil.copy(SEED, tmp_path / "corpus" / SEED.name)
    cache = tmp_path / "cache"
    config = load_config(write_config(tmp_path, f"model:\n  name: {model}\n  cache_dir: {cache}\n"))
    notices: list[str] = []
    Engine(config, notice=notices.append).rebuild()
    assert any("one-time ONNX export" in n for n in notices)  # said without -v
    first_export = export_dir(str(model), "fp32", cache)

    _nudge_weights(model)
    assert export_dir(str(model), "fp32", cache) != first_export  # keyed by the whole content
    with pytest.raises(IndexMismatchError, match=r"model weights '\w+' but the config asks for '\w+'"):
        Engine(config).ask("who led the protest?")
    Engine(config).rebuild()
    answer = Engine(config).ask("who led the protest?")
    assert "Bushra Bibi" in answer.citations[0].text
    # Each version of the model has its own two exports: fp32 for the index, int8 for questions.
    exports = sorted(p.name for p in (cache / "exports").iterdir())
    assert len(exports) == 4 and sorted(e.split("-")[-2] for e in exports) == ["fp32", "fp32", "int8", "int8"]


def test_a_damaged_export_is_refused_by_ask_and_repaired_by_build(tmp_path: Path, models_dir: Path) -> None:
    cache = tmp_path / "cache"
    shutil.copytree(models_dir / "exports", cache / "exports")  # damage a copy, not the session's export
    (tmp_path / "corpus").mkdir()
    shutil.copy(SEED, tmp_path / "corpus" / SEED.name)
    config = load_config(write_config(tmp_path, f"model:\n  cache_dir: {cache}\n"))
    Engine(config).rebuild()
    target = export_dir(DEFAULT_MODEL, "fp32", cache)
    onnx = target / "model.onnx"

    onnx.write_bytes(onnx.read_bytes()[: onnx.stat().st_size // 2])  # truncated
    with pytest.raises(IndexMismatchError, match=r"damaged .* run `python -m index build` to repair it"):
        Engine(config).ask("who led the protest?")
    Engine(config).rebuild()
    assert "Bushra Bibi" in Engine(config).ask("who led the protest?").citations[0].text

    data = bytearray(onnx.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, other bytes: only the build's full check sees it
    onnx.write_bytes(bytes(data))
    Engine(config).rebuild()
    meta = json.loads((target / "export.json").read_text())
    assert hashlib.sha256(onnx.read_bytes()).hexdigest() == meta["onnx_sha256"]


def test_ask_says_once_when_articles_changed_since_the_build(
    tmp_path: Path, make_engine: Callable[..., Engine], encoder: Encoder
) -> None:
    engine = make_engine(SEED)
    notices: list[str] = []
    engine.notice = notices.append
    engine.ask("who led the protest?")
    assert notices == []

    seed_copy = engine.config.corpus_dir / SEED.name
    seed_copy.write_text(seed_copy.read_text(encoding="utf-8") + "\nA later paragraph was added.\n", encoding="utf-8")
    (engine.config.corpus_dir / "new-story.txt").write_text("A new story about the harbour.", encoding="utf-8")
    later = Engine(engine.config, encoder=encoder, notice=notices.append)  # the next `ask` process
    answer = later.ask("who led the protest?")
    assert not answer.abstained  # still answers, from the index it has
    assert len(notices) == 1 and notices[0].startswith("2 articles changed") and "python -m index build" in notices[0]
    later.ask("who led the protest?")
    assert len(notices) == 1  # once

    later.rebuild()
    os.utime(engine.config.corpus_dir / "new-story.txt", ns=(1, 1))  # touched, not changed
    Engine(engine.config, encoder=encoder, notice=notices.append).ask("who led the protest?")
    assert len(notices) == 1  # rebuilt: nothing to say


def test_a_changed_article_in_a_subfolder_or_behind_a_link_is_seen(
    tmp_path: Path, make_engine: Callable[..., Engine], encoder: Encoder
) -> None:
    engine = make_engine(build=False)
    corpus = engine.config.corpus_dir
    (corpus / "2024").mkdir()
    shutil.copy(SEED, corpus / "2024" / SEED.name)
    (tmp_path / "elsewhere.txt").write_text("A story kept outside, about the harbour.", encoding="utf-8")
    engine.rebuild()
    assert engine.changed_since_build() == 0

    story = corpus / "2024" / SEED.name
    story.write_text(story.read_text(encoding="utf-8") + "\nA later paragraph.\n", encoding="utf-8")
    assert Engine(engine.config, encoder=encoder).changed_since_build() == 1

    engine.rebuild()
    (corpus / "linked.txt").symlink_to(corpus / "2024" / SEED.name)  # a link: judged as a build judges it
    assert Engine(engine.config, encoder=encoder).changed_since_build() == 1
    engine.rebuild()
    assert Engine(engine.config, encoder=encoder).changed_since_build() == 0
