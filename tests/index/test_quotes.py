"""A quote is the article's own sentence, checked against what was split at build time, and numbered
as a reader counts sentences, also where a sentence was too long for the model and split for it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from index.cli import main
from index.embed import Encoder
from index.engine import Engine
from index.store import current_build
from index.store.folder import _file_digest
from tests.conftest import SEED

STREETS = ", ".join(f"Lane {i}" for i in range(1, 140))  # ~420 word pieces, ~1,200 characters
LONG_ARTICLE = f"""---
title: Kelso names its new streets
date: 2025-03-02
source: https://example.org/kelso-streets
---
The Kelso council met on Monday evening.

The council named the new streets {STREETS}.

The mayor of Kelso is Anna Berg, who chaired the meeting.
"""


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_sentence_split_for_the_model_is_one_sentence_to_a_reader(
    tmp_path: Path, make_engine: Callable[..., Engine], encoder: Encoder
) -> None:
    long_sentence = f"The council named the new streets {STREETS}."
    assert encoder.token_counts([long_sentence])[0] > encoder.max_tokens  # the model needs it in pieces
    engine = make_engine(_write(tmp_path, "kelso-streets.md", LONG_ARTICLE))

    (info,) = engine.articles()
    assert info.sentences == 3
    mayor = engine.ask("who is the mayor of Kelso?").citations[0]
    assert mayor.text.startswith("The mayor of Kelso is Anna Berg") and mayor.sentence == 3

    named = [c for c in engine.ask("which streets did the council name? Lane 120").citations if "Lane" in c.text]
    assert named, "the long sentence is quoted"
    assert [c.text for c in named] == [long_sentence]  # whole, once: not a piece, not twice
    assert named[0].sentence == 2 and not (named[0].cut_start or named[0].cut_end)


def test_a_sentence_too_long_to_quote_whole_is_quoted_as_a_marked_piece(
    tmp_path: Path, make_engine: Callable[..., Engine]
) -> None:
    many = ", ".join(f"Lane {i}" for i in range(1, 400))  # ~3,600 characters: over a message's room
    text = LONG_ARTICLE.replace(STREETS, many)
    engine = make_engine(_write(tmp_path, "kelso-streets.md", text))
    body = text.split("---\n", 2)[2]
    named = [c for c in engine.ask("which streets did the council name? Lane 350").citations if "Lane" in c.text]
    assert len(named) == 1
    quote = named[0]
    assert quote.cut_start or quote.cut_end
    assert quote.text in body and len(quote.text) < len(f"The council named the new streets {many}.")
    assert quote.sentence == 2
    shown = CliRunner().invoke(main, ["--config", str(tmp_path / "config.yaml"), "ask", "which streets? Lane 350"])
    assert shown.exit_code == 0 and "…" in shown.output  # people see where the sentence was cut


def _resign(folder: Path, name: str) -> None:
    """Record a file's new checksum in the manifest, as a builder with a bug would have written it."""
    manifest_path = folder / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["files"][name] = _file_digest(folder / name)
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")


def _build_folder(engine: Engine) -> Path:
    build = current_build(engine.config.index_dir)
    assert build is not None
    return engine.config.index_dir / "builds" / build


def test_a_quote_whose_text_store_was_altered_is_refused(make_engine: Callable[..., Engine], encoder: Encoder) -> None:
    engine = make_engine(SEED)
    first = engine.ask("who led the protest?").citations[0]
    assert "Bushra Bibi" in first.text
    folder = _build_folder(engine)
    texts = bytearray((folder / "texts.bin").read_bytes())
    at = texts.index(b"Bushra")
    texts[at : at + 6] = b"Bxshra"  # same length: every offset still lands on a sentence boundary
    (folder / "texts.bin").write_bytes(bytes(texts))
    _resign(folder, "texts.bin")

    answer = Engine(engine.config, encoder=encoder).ask("who led the protest?")
    assert all("Bxshra" not in c.text for c in answer.citations)


def test_a_quote_whose_offsets_were_altered_is_refused(make_engine: Callable[..., Engine], encoder: Encoder) -> None:
    engine = make_engine(SEED)
    first = engine.ask("who led the protest?").citations[0]
    folder = _build_folder(engine)
    sentences = np.load(folder / "sentences.npy")
    row = int(np.flatnonzero((sentences[:, 1] == first.start) & (sentences[:, 2] == first.end))[0])
    sentences[row, 1] += 7  # the quote would start mid-word
    np.save(folder / "sentences.npy", sentences)
    _resign(folder, "sentences.npy")

    answer = Engine(engine.config, encoder=encoder).ask("who led the protest?")
    assert all(c.start != first.start + 7 for c in answer.citations)
    assert all(first.text[7:] != c.text for c in answer.citations)
