"""Embeddings: the Encoder seam, model resolution, the one-time ONNX export and the serving encoder."""

from .base import Encoder, Notice
from .cache import ensure_export, export_dir, export_exists, export_fingerprint, load_encoder
from .onnx import OnnxEncoder
from .resolve import model_fingerprint, resolve_model

__all__ = [
    "Encoder",
    "Notice",
    "OnnxEncoder",
    "ensure_export",
    "export_dir",
    "export_exists",
    "export_fingerprint",
    "load_encoder",
    "model_fingerprint",
    "resolve_model",
]
