"""The serving encoder: an ONNX export of the model, run by onnxruntime (torch is never imported here)."""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import logging
import os
from collections.abc import Callable, Container, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import IndexMismatchError, run_hint

log = logging.getLogger(__name__)

EXPORT_FORMAT = 1


ONNX_FILE = "model.onnx"


TOKENIZER_FILE = "tokenizer.json"


META_FILE = "export.json"


SESSIONS_DIR = "sessions"  # under the cache folder: optimized graphs, see cpu_session


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

    def __init__(self, export_dir: Path, *, threads: int = 1, optimized_dir: Path | None = None) -> None:
        """Load an export.

        Args:
            export_dir: A folder written by :func:`export_onnx`.
            threads: onnxruntime intra-op threads: 1 for answering questions (leaves a core for
                everything else), the number of cores for building an index.
            optimized_dir: Where the optimized graph is kept between processes (see
                :func:`cpu_session`); None: optimized at every load.

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
            self._session = cpu_session(export_dir / meta["onnx_file"], threads, optimized_dir=optimized_dir)
            # The shipped tokenizer.json truncates at 128 and pads to 128: both settings are replaced.
            self._tokenizer = Tokenizer.from_file(str(export_dir / meta["tokenizer_file"]))
        except Exception as exc:  # onnxruntime raises its own exception types for unreadable files
            raise IndexMismatchError(f"ONNX export at {export_dir} cannot be loaded ({exc}); {_repair_hint()}") from exc
        self._tokenizer.no_padding()  # padding is done per batch in numpy, to that batch's longest text
        self._tokenizer.enable_truncation(max_length=self._max_tokens)
        # A second tokenizer, untruncated, so encode and token_counts never change each other's
        # settings; made on the first count (a build's), as a question never needs it (60 ms).
        self._counter: Any = None
        pad_id = self._tokenizer.token_to_id("[PAD]")
        self._pad_id = int(pad_id) if pad_id is not None else 0
        self._inputs = [i.name for i in self._session.get_inputs()]
        self._known: Container[str] | None = None
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

    def known_words(self) -> Container[str]:
        """Whole words (no "##" pieces, letters only) of the tokenizer's vocabulary, lower case.

        An uncased vocabulary (MiniLM's: its tokenizer lowercases every text) is looked up word by
        word: making a set of it took 50 ms of every cold start. A cased one is lowered into a set once.
        """
        if self._known is None:
            if self._lower or getattr(self._tokenizer.normalizer, "lowercase", False) is True:
                self._known = _UncasedVocabulary(self._tokenizer)
            else:
                self._known = frozenset(w.lower() for w in self._tokenizer.get_vocab() if w.isalpha())
        return self._known

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        """Word pieces of each text including [CLS] and [SEP], not truncated.

        Returns:
            n counts, as len(tokenizer(text)["input_ids"]) of sentence-transformers' tokenizer.
        """
        if len(texts) == 0:
            return []
        if self._counter is None:
            from tokenizers import Tokenizer

            counter = Tokenizer.from_file(str(self.export_dir / self.meta["tokenizer_file"]))
            counter.no_padding()
            counter.no_truncation()  # the chunker needs true lengths, also past the limit
            self._counter = counter
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


class _UncasedVocabulary:
    """The whole words of an uncased tokenizer's vocabulary, asked of the tokenizer itself."""

    def __init__(self, tokenizer: Any) -> None:
        self._tokenizer = tokenizer

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and word.isalpha() and self._tokenizer.token_to_id(word) is not None


# Graph fusions left out. onnxruntime 1.32's fused SkipLayerNormalization kernel is slower on this
# CPU than the Add and LayerNormalization it replaces: a reader pair reads in 0.88 to 0.90 of the
# time without it, a question's int8 embedding in 0.89 to 0.92 (python -m experiments.fusions).
UNFUSED = ("SkipLayerNormFusion",)


def cpu_session(
    path: Path, threads: int, *, optimized_dir: Path | None = None, unfused: Sequence[str] = UNFUSED
) -> Any:
    """An onnxruntime session on the CPU with ``threads`` intra-op threads (1 to answer, every core
    to build), one chain of ops, the graph optimized, and onnxruntime's own warnings silenced.

    Optimizing the graph is most of what loading costs (measured: 270 of 400 ms for the int8
    encoder, 120 of 170 ms for the reader). With ``optimized_dir``, the optimized graph is saved
    there the first time and later sessions load it as it is: the same operators, so the same
    numbers bit for bit and the same speed (``docs/research.md``). The copy is named by the
    source's path, size, modification time, the onnxruntime version and the fusions left out
    (``unfused``), so a changed model, a new onnxruntime or other fusions make a new copy; one
    that cannot be loaded is made again, and a folder that cannot be written only costs the saving.

    Raises:
        Whatever onnxruntime raises for a file it cannot load (its own exception types).
    """
    import onnxruntime as ort

    def options(level: Any) -> Any:
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = max(1, int(threads))
        opts.inter_op_num_threads = 1  # one chain of ops: a second pool would only contend for cores
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = level
        opts.log_severity_level = 3  # onnxruntime's warnings go to stderr, bypassing logging
        return opts

    def session(source: Path, opts: Any) -> Any:
        return ort.InferenceSession(
            str(source), opts, providers=["CPUExecutionProvider"], disabled_optimizers=list(unfused)
        )

    levels = ort.GraphOptimizationLevel
    # Extended, not "all": the layout passes "all" adds are for convolutions and may tie a saved
    # graph to this CPU; a transformer runs as fast without them (measured).
    opts = options(levels.ORT_ENABLE_EXTENDED)
    if optimized_dir is None:
        return session(path, opts)
    copy = _optimized_copy(Path(path), Path(optimized_dir), ort.__version__, unfused)
    if copy.is_file():
        try:
            return session(copy, options(levels.ORT_DISABLE_ALL))
        except Exception:  # a damaged copy (onnxruntime's own exception types): make it again
            log.warning("optimized copy %s cannot be loaded; making it again", copy)
    tmp = copy.with_name(f".tmp-{os.getpid()}-{copy.name}")
    try:
        copy.parent.mkdir(parents=True, exist_ok=True)
        writable = os.access(copy.parent, os.W_OK)
    except OSError:
        writable = False
    if not writable:
        return session(path, opts)
    opts.optimized_model_filepath = str(tmp)
    try:
        made = session(path, opts)
        os.replace(tmp, copy)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    for stale in copy.parent.glob(glob.escape(copy.name.rsplit("-", 1)[0]) + "-*.onnx"):
        if stale != copy:
            with contextlib.suppress(OSError):
                stale.unlink()
    return made


def _optimized_copy(path: Path, folder: Path, ort_version: str, unfused: Sequence[str]) -> Path:
    """Where the optimized graph of the model file ``path`` is kept in ``folder``."""
    st = path.stat()
    made_with = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{ort_version}|{','.join(unfused)}"
    key = hashlib.sha256(made_with.encode()).hexdigest()[:16]
    return folder / f"{path.parent.name}-{path.stem}-{key}.onnx"


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
