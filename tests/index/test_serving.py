"""The serving path: answers from an ONNX export without importing torch, and refuses a model mismatch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from index.config import load_config
from index.embed import OnnxEncoder
from index.engine import Engine
from index.errors import IndexMismatchError
from tests.conftest import ROOT, SEED, write_config

pytestmark = pytest.mark.model  # exports or loads the real model itself

PROBE = """
import json, sys
from index.cli import main
try:
    main(["--config", sys.argv[1], "ask", "--json", "who led the protest?"], standalone_mode=False)
finally:
    print(json.dumps({"torch": "torch" in sys.modules, "sentence_transformers": "sentence_transformers" in sys.modules}))
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project built by the real CLI in a subprocess: export included, as a user gets it."""
    folder = tmp_path_factory.mktemp("served")
    (folder / "corpus").mkdir()
    (folder / "corpus" / SEED.name).write_bytes(SEED.read_bytes())
    config = write_config(folder)
    subprocess.run([sys.executable, "-m", "index", "--config", str(config), "build"], cwd=ROOT, check=True, timeout=600)
    return folder


def test_questions_are_answered_without_importing_torch(built: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(built / "config.yaml")], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    answer_line, modules_line = out.stdout.strip().splitlines()
    assert "Bushra Bibi" in json.loads(answer_line)["citations"][0]["text"]
    assert json.loads(modules_line) == {"torch": False, "sentence_transformers": False}


def test_the_manifest_names_the_export_it_was_built_with(built: Path) -> None:
    engine = Engine(load_config(built / "config.yaml"))
    manifest = engine.snapshot().manifest
    fp32 = OnnxEncoder(Path(manifest.model.export))
    assert manifest.model.fingerprint == fp32.fingerprint
    assert manifest.model.precision == "fp32"
    assert engine.config.model.cache_dir is not None
    assert Path(manifest.model.export).parent == engine.config.model.cache_dir / "exports"  # shared
    assert manifest.vector_indexes["chunks"] == {"type": "flat"}


def test_an_index_from_another_export_is_refused(built: Path) -> None:
    config = load_config(built / "config.yaml")
    manifest_path = Engine(config).snapshot().folder / "manifest.json"
    original = manifest_path.read_text()
    manifest = json.loads(original)
    manifest["model"]["fingerprint"] = "0123456789abcdef"  # as if built with another export
    manifest_path.write_text(json.dumps(manifest))
    try:
        with pytest.raises(IndexMismatchError, match=r"model weights '0123456789abcdef' but the config asks for"):
            Engine(config).ask("who led the protest?")
    finally:
        manifest_path.write_text(original)
    assert not Engine(config).ask("who led the protest?").abstained


def test_an_int8_config_does_not_query_an_fp32_index(built: Path) -> None:
    (built / "int8.yaml").write_text((built / "config.yaml").read_text() + "model:\n  precision: int8\n")
    config = load_config(built / "int8.yaml")
    with pytest.raises(IndexMismatchError, match="python -m index build"):
        Engine(config).ask("who led the protest?")


def test_questions_are_embedded_in_int8_over_the_fp32_index(built: Path) -> None:
    engine = Engine(load_config(built / "config.yaml"))
    answer = engine.ask("who led the protest")
    assert getattr(engine.encoder, "quantize", None) == "int8"  # the shipped question_precision
    assert engine.snapshot().manifest.model.precision == "fp32"
    assert "Bushra Bibi" in answer.citations[0].text
    # The same first quote as with the index's own export embedding the question.
    (built / "fp32q.yaml").write_text((built / "config.yaml").read_text() + "model:\n  question_precision: fp32\n")
    exact = Engine(load_config(built / "fp32q.yaml"))
    assert getattr(exact.encoder, "quantize", None) is None
    assert exact.ask("who led the protest").citations[0].text == answer.citations[0].text
