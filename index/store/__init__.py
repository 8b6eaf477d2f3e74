"""The index on disk: build folders, manifests, vector and lexical indexes, loaded snapshots."""

from .folder import (
    BuildData,
    StoredArticle,
    clean_builds,
    current_build,
    published_articles,
    write_build,
    write_lock,
)
from .lexical import LexicalIndex
from .manifest import FORMAT_VERSION, Expectation, Manifest, ModelInfo, check_manifest
from .snapshot import Snapshot, load_snapshot, sentence_hash
from .vectors import FaissIndex, NumpyIndex, VectorIndex, faiss_threads, make_vector_index

__all__ = [
    "FORMAT_VERSION",
    "BuildData",
    "Expectation",
    "FaissIndex",
    "LexicalIndex",
    "Manifest",
    "ModelInfo",
    "NumpyIndex",
    "Snapshot",
    "StoredArticle",
    "VectorIndex",
    "check_manifest",
    "clean_builds",
    "current_build",
    "faiss_threads",
    "load_snapshot",
    "make_vector_index",
    "published_articles",
    "sentence_hash",
    "write_build",
    "write_lock",
]
