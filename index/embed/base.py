"""The encoder seam: what the engine needs of an embedding model."""

from __future__ import annotations

from collections.abc import Callable, Container, Sequence
from typing import Protocol

import numpy as np


class Encoder(Protocol):
    """What the engine needs of an embedding model.

    Geometry: every row returned by ``encode`` has unit L2 norm, so inner product is cosine.
    """

    @property
    def dim(self) -> int: ...

    @property
    def max_tokens(self) -> int: ...

    @property
    def source(self) -> str:
        """Where the weights were loaded from (an export folder, a model folder): for the manifest."""
        ...

    @property
    def fingerprint(self) -> str:
        """What the index records of the model: two encoders with the same fingerprint give the same vectors."""
        ...

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 64, progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        """Returns: float32 array of shape (len(texts), dim), rows L2-normalized, in input order."""
        ...

    def known_words(self) -> Container[str]:
        """The whole words of the model's tokenizer vocabulary (lower case): common English words,
        which a question is never respelt away from."""
        ...

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        """Word pieces of each text, including the model's special tokens."""
        ...


# A one-line progress message for a slow step (the one-time model export), shown to the user.
Notice = Callable[[str], None]
