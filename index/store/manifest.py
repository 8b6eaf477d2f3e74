"""What a build folder says about itself (manifest.json), and the check that it fits the config."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import IndexMismatchError, run_hint

# 2: sentences.npy gained each piece's sentence number, and sentence_hashes.npy was added.
# 3: words.json, the sentences' words and their counts (what misspelt question words are matched to).
FORMAT_VERSION = 4  # 4: chunk vectors pooled from sentence vectors


@dataclass(frozen=True)
class ModelInfo:
    """The model the vectors were made with. Geometry: unit vectors, inner product = cosine."""

    name: str
    precision: str
    export: str  # the export folder used (informative)
    fingerprint: str  # what must match to query the index (index.embed: Encoder.fingerprint)
    dim: int
    max_tokens: int
    normalized: bool = True
    metric: str = "inner_product"


@dataclass(frozen=True)
class Manifest:
    """manifest.json of a build: written last, so a folder without one was never finished.

    ``corpus_files`` records each corpus file's [size, mtime_ns] at build time (a stale index is
    said so), ``articles`` each article's content hash, ``files`` each build file's checksum.
    """

    model: ModelInfo
    chunk_sentences: int
    chunk_overlap: int
    created: str
    corpus_files: dict[str, list[int]] = field(default_factory=dict)
    build_id: str = ""
    format: int = FORMAT_VERSION
    vector_indexes: dict[str, dict[str, Any]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    articles: dict[str, str] = field(default_factory=dict)
    files: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["chunking"] = {"sentences": data.pop("chunk_sentences"), "overlap": data.pop("chunk_overlap")}
        return data

    @classmethod
    def from_json(cls, data: Any, folder: Path) -> Manifest:
        """Read a manifest as written by :meth:`to_json`.

        Raises:
            IndexMismatchError: Another format, or a manifest that lacks what this citebot needs.
        """
        if not isinstance(data, dict) or data.get("format") != FORMAT_VERSION:
            found = data.get("format") if isinstance(data, dict) else None
            raise IndexMismatchError(
                f"the index in {folder} has format {found}, this citebot reads format {FORMAT_VERSION}; "
                f"{run_hint()} to rebuild it"
            )
        try:
            fields = dict(data)
            chunking = fields.pop("chunking")
            return cls(
                model=ModelInfo(**fields.pop("model")),
                chunk_sentences=int(chunking["sentences"]),
                chunk_overlap=int(chunking["overlap"]),
                **fields,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise IndexMismatchError(f"the index manifest in {folder} is incomplete ({exc}); {run_hint()}") from exc


@dataclass(frozen=True)
class Expectation:
    """What the loader must find in the manifest for the index to be usable with this config."""

    model: str
    fingerprint: str
    dim: int
    chunk_sentences: int
    chunk_overlap: int


def check_manifest(manifest: Manifest, expect: Expectation) -> None:
    """Refuse an index made with another model, export, dimension or chunking, naming both sides.

    Raises:
        IndexMismatchError: The first setting that differs, and the command that fixes it.
    """
    sides = [
        ("model", manifest.model.name, expect.model),
        ("model weights", manifest.model.fingerprint, expect.fingerprint),
        ("dimension", manifest.model.dim, expect.dim),
        ("chunking.sentences", manifest.chunk_sentences, expect.chunk_sentences),
        ("chunking.overlap", manifest.chunk_overlap, expect.chunk_overlap),
    ]
    for what, built, wanted in sides:
        if built != wanted:
            raise IndexMismatchError(
                f"the index was built with {what} {built!r} but the config asks for {wanted!r}; "
                f"{run_hint()} to re-index with the configured settings"
            )
