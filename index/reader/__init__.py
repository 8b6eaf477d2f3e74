"""The reader: a cross-encoder that scores whether a sentence answers a question.

Serving (:mod:`index.reader.serve`) needs only onnxruntime, tokenizers and numpy; training
(:mod:`index.reader.train`) and export (:mod:`index.reader.export`) need torch and transformers and
are imported only when called.
"""

from __future__ import annotations

from index.reader.serve import MODEL_DIR, Candidate, Reader

__all__ = ["MODEL_DIR", "Candidate", "Reader"]
