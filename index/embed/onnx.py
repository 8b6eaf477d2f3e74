"""The serving encoder: an ONNX export of the model, run by onnxruntime (torch is never imported here)."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import IndexMismatchError, run_hint

log = logging.getLogger(__name__)

EXPORT_FORMAT = 1


ONNX_FILE = "model.onnx"


TOKENIZER_FILE = "tokenizer.json"


META_FILE = "export.json"


OUTPUT_NAME = "sentence_embedding"


QUANTIZE_MODES = (None, "int8")


def _repair_hint() -> str:
    return f"{run_hint()} to export it again"


# A batch never holds more than this many word pieces (rows x padded length). Short sentences still
# go batch_size at a time; 256-piece chunks go 32 at a time, which bounds the attention scores
# (batch x 12 heads x L x L float32 = 100 MB at L=256) and measured no slower than bigger batches.
_MAX_BATCH_TOKENS = 8192


# A batch also ends when the next (longer) text would pad every row by more than this share of the
# batch's shortest text. Texts are sorted by length, so on a large input this rarely triggers; on a
# small mixed input it stops one 200-piece text from making fifty 10-piece texts cost 200 each.
# An extra onnxruntime call costs ~1.5 ms (measured, one thread); padding costs ~0.15 ms per
# word piece and row, so a split pays for itself once it saves about ten padded pieces.
_PAD_SLACK_RATIO = 0.25


_PAD_SLACK_MIN = 8


class OnnxEncoder:
    """Encodes text with an export made by :func:`export_onnx`; needs onnxruntime, tokenizers, numpy.

    Satisfies :class:`index.embed.base.Encoder`. A float32 export gives the same vectors as
    sentence-transformers (cosine >= 0.9999 per row), so an index built with either can be queried
    with the other.
    """

    def __init__(self, export_dir: Path, *, threads: int = 1) -> None:
        """Load an export.

        Args:
            export_dir: A folder written by :func:`export_onnx`.
            threads: onnxruntime intra-op threads: 1 for answering questions (leaves a core for
                everything else), the number of cores for building an index.

        Raises:
            IndexMismatchError: The folder is missing, incomplete, or of another export format.
        """
        from tokenizers import Tokenizer

        export_dir = Path(export_dir)
        meta_path = export_dir / META_FILE
        try:
            meta = json.loads(meta_path.read_text())
        except (OSError, ValueError) as exc:
            raise IndexMismatchError(f"no usable ONNX export at {export_dir} ({exc}); {_repair_hint()}") from exc
        if meta.get("format") != EXPORT_FORMAT:
            raise IndexMismatchError(
                f"ONNX export at {export_dir} has format {meta.get('format')}, expected {EXPORT_FORMAT}; {_repair_hint()}"
            )
        self.export_dir = export_dir
        self.meta: dict[str, Any] = meta
        self._dim = int(meta["dim"])
        self._max_tokens = int(meta["max_seq_length"])
        self._lower = bool(meta.get("do_lower_case", False))
        self.fingerprint: str = meta["fingerprint"]
        # index.embed.resolve.model_fingerprint of the source folder, the value SentenceTransformerEncoder
        # has: a float32 export may query an index built with sentence-transformers and vice versa
        # (an int8 export may not; its vectors differ, so compare ``quantize`` too).
        self.source_fingerprint: str = meta["source"]["model_fingerprint"]
        self.quantize: str | None = meta.get("quantize")

        try:
            self._session = cpu_session(export_dir / meta["onnx_file"], threads)
            # Two tokenizers, so encode and token_counts never change each other's settings. The
            # shipped tokenizer.json truncates at 128 and pads to 128: both settings are replaced.
            self._tokenizer = Tokenizer.from_file(str(export_dir / meta["tokenizer_file"]))
            self._counter = Tokenizer.from_file(str(export_dir / meta["tokenizer_file"]))
        except Exception as exc:  # onnxruntime raises its own exception types for unreadable files
            raise IndexMismatchError(f"ONNX export at {export_dir} cannot be loaded ({exc}); {_repair_hint()}") from exc
        self._tokenizer.no_padding()  # padding is done per batch in numpy, to that batch's longest text
        self._tokenizer.enable_truncation(max_length=self._max_tokens)
        self._counter.no_padding()
        self._counter.no_truncation()  # the chunker needs true lengths, also past the limit
        pad_id = self._tokenizer.token_to_id("[PAD]")
        self._pad_id = int(pad_id) if pad_id is not None else 0
        self._inputs = [i.name for i in self._session.get_inputs()]
        self._known: frozenset[str] | None = None
        log.debug("loaded ONNX export %s (%s, %d threads)", export_dir, self.quantize or "fp32", threads)

    @property
    def source(self) -> str:
        """The export folder the session was loaded from."""
        return str(self.export_dir)

    @property
    def dim(self) -> int:
        """Length of every embedding (384 for MiniLM)."""
        return self._dim

    @property
    def max_tokens(self) -> int:
        """Word pieces per text, [CLS] and [SEP] included, beyond which the text is truncated (256)."""
        return self._max_tokens

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 64, progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        """Embed texts, batching texts of similar length together.

        Args:
            texts: n strings; each is truncated to ``max_tokens`` word pieces.
            batch_size: Most texts per onnxruntime call (fewer for long texts, see _MAX_BATCH_TOKENS).
            progress: Called after each batch with the number of texts that batch embedded.

        Returns:
            float32 array of shape (n, dim), rows L2-normalised, row i for texts[i].
        """
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        if len(texts) == 0:
            return out
        ids = self._tokenize(texts)
        lengths = np.fromiter((len(x) for x in ids), dtype=np.int64, count=len(ids))
        # Stable, so the same input always gives the same batches and so the same bits.
        order = np.argsort(lengths, kind="stable")
        for batch in _batches(order, lengths, max(1, int(batch_size))):
            width = int(lengths[batch[-1]])  # sorted ascending: the last is the longest
            input_ids = np.full((len(batch), width), self._pad_id, dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, i in enumerate(batch):
                n = int(lengths[i])
                input_ids[row, :n] = ids[i]
                mask[row, :n] = 1
            feed = {"input_ids": input_ids, "attention_mask": mask}
            if "token_type_ids" in self._inputs:
                feed["token_type_ids"] = np.zeros_like(input_ids)  # one segment: all zeros, as BERT's tokenizer gives
            out[batch] = self._session.run([OUTPUT_NAME], feed)[0]
            if progress:
                progress(len(batch))
        return out

    def known_words(self) -> frozenset[str]:
        """Whole words (no "##" pieces, letters only) of the tokenizer's vocabulary, lower case."""
        if self._known is None:
            self._known = frozenset(w.lower() for w in self._tokenizer.get_vocab() if w.isalpha())
        return self._known

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        """Word pieces of each text including [CLS] and [SEP], not truncated.

        Returns:
            n counts, as len(tokenizer(text)["input_ids"]) of sentence-transformers' tokenizer.
        """
        if len(texts) == 0:
            return []
        return [len(e.ids) for e in self._counter.encode_batch(self._prepare(texts))]

    def _prepare(self, texts: Sequence[str]) -> list[str]:
        # sentence-transformers lowercases itself only when sentence_bert_config says so (MiniLM's
        # tokenizer lowercases on its own); str() mirrors its tolerance of non-str input.
        return [str(t).lower() for t in texts] if self._lower else [str(t) for t in texts]

    def _tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        return [e.ids for e in self._tokenizer.encode_batch(self._prepare(texts))]


def _batches(order: np.ndarray, lengths: np.ndarray, batch_size: int) -> Iterator[np.ndarray]:
    """Cut indices sorted by ascending length into batches of little padding.

    Args:
        order: (n,) indices of texts, ascending by length.
        lengths: (n,) word pieces of each text.
        batch_size: Most texts per batch.

    Yields:
        int64 arrays of indices into the texts, each a contiguous run of ``order``.
    """
    start = 0
    first = int(lengths[order[0]])
    for pos in range(1, len(order) + 1):
        if pos == len(order):
            yield order[start:pos]
            return
        length = int(lengths[order[pos]])
        rows = pos - start
        if (
            rows >= batch_size
            or (rows + 1) * length > _MAX_BATCH_TOKENS
            or length - first > max(_PAD_SLACK_MIN, _PAD_SLACK_RATIO * first)
        ):
            yield order[start:pos]
            start, first = pos, length


def cpu_session(path: Path, threads: int) -> Any:
    """An onnxruntime session on the CPU with ``threads`` intra-op threads (1 to answer, every core
    to build), one chain of ops, every graph optimization, and onnxruntime's own warnings silenced.

    Raises:
        Whatever onnxruntime raises for a file it cannot load (its own exception types).
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, int(threads))
    options.inter_op_num_threads = 1  # one chain of ops: a second pool would only contend for cores
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # onnxruntime's warnings go to stderr, bypassing logging
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def export_damage(export_dir: Path, meta: dict[str, Any], *, full: bool) -> str:
    """What is wrong with a finished export's files, or "" when nothing is.

    Args:
        export_dir: The export folder.
        meta: Its export.json.
        full: Hash the files against the recorded sha256 (a build does this); otherwise compare sizes
            only, which costs nothing at start-up and catches a truncated or replaced file.
    """
    for name_key, hash_key, size_key in (
        ("onnx_file", "onnx_sha256", "onnx_bytes"),
        ("tokenizer_file", "tokenizer_sha256", "tokenizer_bytes"),
    ):
        name = str(meta.get(name_key) or "")
        path = export_dir / name
        if not name or not path.is_file():
            return f"{name or name_key} is missing"
        if size_key in meta and path.stat().st_size != meta[size_key]:
            return f"{name} has the wrong size"
        if full and file_sha256(path) != meta.get(hash_key):
            return f"{name} does not match its checksum"
    return ""


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
