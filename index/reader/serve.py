"""Serving the reader: an int8 ONNX cross-encoder run with onnxruntime, no torch.

The reader scores (question, candidate sentence with its neighbours) pairs: "does this sentence
answer the question?". Training (:mod:`index.reader.train`) encodes its pairs with
:func:`encode_pairs` below, so what the model saw in training and what it sees when serving are the
same word pieces by construction, not by two implementations kept in step.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from index.embed.onnx import cpu_session, file_sha256
from index.errors import ReaderModelError

log = logging.getLogger(__name__)

MODEL_DIR = Path(__file__).resolve().parent / "model"
ONNX_FILE = "reader.onnx"
TOKENIZER_FILE = "tokenizer.json"
META_FILE = "meta.json"
READER_FORMAT = 1
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
OUTPUT_NAME = "logits"

# Word-piece budget of one pair, [CLS] and the four [SEP]s included. 128 holds a typical question
# (~12 pieces), a news sentence (~30) and most of both neighbours; attention cost grows with the
# square of it, and training time on 2 cores was the constraint.
MAX_LENGTH = 128
# A question longer than this is cut: questions past 40 pieces are rare and the sentence matters more.
MAX_QUESTION_PIECES = 40
# Pieces kept for the neighbours even when the sentence is long: a pronoun's referent is usually
# at the end of the previous sentence.
MIN_CONTEXT_PIECES = 16

Candidate = tuple[str, str, str]
"""(sentence, previous sentence, next sentence); a missing neighbour is ""."""


def encode_pairs(
    tokenizer: Any, question: str, candidates: Sequence[Candidate], max_length: int = MAX_LENGTH
) -> dict[str, np.ndarray]:
    """Lay out each (question, candidate) pair as the model reads it, padded to the longest pair.

    Layout: ``[CLS] question [SEP] sentence [SEP] previous-tail [SEP] next-head [SEP]``. The
    sentence comes right after the question, so truncation never cuts it before the context; the
    previous sentence keeps its end and the next one its start, the parts nearest the sentence.
    Segment ids are 0 up to the first [SEP], 1 after it, as BERT's pair encoding gives.

    Args:
        tokenizer: A ``tokenizers.Tokenizer`` (the shipped tokenizer.json); its padding and
            truncation settings are not used, special tokens are added here.
        question: The question text.
        candidates: n (sentence, previous, next) triples.
        max_length: Most word pieces per pair.

    Returns:
        ``input_ids``, ``attention_mask``, ``token_type_ids``: int64 arrays of shape (n, width),
        width the longest pair's length.
    """
    cls_id, sep_id, pad_id = (_token_id(tokenizer, t) for t in ("[CLS]", "[SEP]", "[PAD]"))
    texts = [question]
    for sentence, previous, following in candidates:
        texts.extend((sentence, previous, following))
    pieces = [e.ids for e in tokenizer.encode_batch(texts, add_special_tokens=False)]
    q = pieces[0][:MAX_QUESTION_PIECES]
    rows: list[list[int]] = []
    for i in range(len(candidates)):
        sent, prev, nxt = pieces[1 + 3 * i], pieces[2 + 3 * i], pieces[3 + 3 * i]
        room = max_length - len(q) - 5  # [CLS] + 4 x [SEP]
        sent = sent[: max(1, room - min(MIN_CONTEXT_PIECES, len(prev) + len(nxt)))]
        left = max(0, room - len(sent))
        # Half each; what one neighbour does not use goes to the other.
        keep_prev = min(len(prev), max(left // 2, left - len(nxt)))
        keep_next = min(len(nxt), left - keep_prev)
        prev_tail = prev[len(prev) - keep_prev :] if keep_prev else []
        rows.append([cls_id, *q, sep_id, *sent, sep_id, *prev_tail, sep_id, *nxt[:keep_next], sep_id])
    width = max((len(r) for r in rows), default=0)
    n = len(rows)
    input_ids = np.full((n, width), pad_id, dtype=np.int64)
    mask = np.zeros((n, width), dtype=np.int64)
    types = np.zeros((n, width), dtype=np.int64)
    first_segment = len(q) + 2  # [CLS] question [SEP]
    for r, row in enumerate(rows):
        input_ids[r, : len(row)] = row
        mask[r, : len(row)] = 1
        types[r, first_segment : len(row)] = 1
    return {"input_ids": input_ids, "attention_mask": mask, "token_type_ids": types}


def load_tokenizer(path: Path) -> Any:
    """The word-piece tokenizer, with the file's own padding and truncation switched off."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.no_padding()  # pairs are padded per batch by encode_pairs
    tokenizer.no_truncation()  # and cut part by part there
    return tokenizer


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function, float32, without overflow warnings for large negative logits."""
    x = np.asarray(x, dtype=np.float32)
    return np.asarray(0.5 * (1.0 + np.tanh(0.5 * x)), dtype=np.float32)


class Reader:
    """Scores candidate sentences for a question with the shipped cross-encoder.

    Only onnxruntime, tokenizers and numpy are used: loading and scoring never import torch.
    """

    def __init__(
        self,
        model_dir: Path,
        *,
        threads: int = 1,
        verify: bool = True,
        max_length: int | None = None,
        optimized_dir: Path | None = None,
        parallel: int = 1,
    ) -> None:
        """Load a reader folder (reader.onnx, tokenizer.json, meta.json).

        Args:
            model_dir: The folder.
            threads: onnxruntime intra-op threads; 1 when answering questions, so the other core
                stays free for the bot and the index.
            verify: Check the ONNX file's sha256 against meta.json (about 30 ms for 23 MB).
            max_length: Word pieces per pair read, at most the trained length (None: that length);
                shorter keeps less of the neighbours (experiments: what reading less costs).
            optimized_dir: Where the optimized graph is kept between processes
                (:func:`index.embed.onnx.cpu_session`); None: optimized at every load.
            parallel: Candidates read at the same time (each still alone, on one thread): 2 reads
                a close call's four in about two candidates' time on two cores.

        Raises:
            ReaderModelError: Missing or unreadable files, another format, or a model file whose
                sha256 differs from the one meta.json records.
        """

        model_dir = Path(model_dir)
        try:
            meta = json.loads((model_dir / META_FILE).read_text())
        except (OSError, ValueError) as exc:
            raise ReaderModelError(f"no usable reader model at {model_dir}: cannot read {META_FILE} ({exc})") from exc
        if meta.get("format") != READER_FORMAT:
            raise ReaderModelError(
                f"reader model at {model_dir} has format {meta.get('format')}, expected {READER_FORMAT}"
            )
        onnx_path = model_dir / meta.get("onnx_file", ONNX_FILE)
        if not onnx_path.is_file():
            raise ReaderModelError(f"reader model file {onnx_path} is missing; reinstall citebot or train the reader")
        if verify:
            digest = file_sha256(onnx_path)
            if digest != meta.get("onnx_sha256"):
                raise ReaderModelError(
                    f"reader model file {onnx_path} is damaged: sha256 {digest[:12]}… does not match "
                    f"{str(meta.get('onnx_sha256'))[:12]}… in {META_FILE}"
                )
        try:
            self._session = cpu_session(onnx_path, threads, optimized_dir=optimized_dir)
            self._tokenizer = load_tokenizer(model_dir / meta.get("tokenizer_file", TOKENIZER_FILE))
        except Exception as exc:  # onnxruntime and tokenizers raise their own exception types
            raise ReaderModelError(f"reader model at {model_dir} cannot be loaded ({exc})") from exc
        self.model_dir = model_dir
        self.meta: dict[str, Any] = meta
        trained = int(meta.get("max_length", MAX_LENGTH))
        self.max_length = trained if max_length is None else max(MAX_QUESTION_PIECES + 8, min(trained, max_length))
        self._inputs = {i.name for i in self._session.get_inputs()}
        self.parallel = max(1, int(parallel))
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    @classmethod
    def load(
        cls,
        model_dir: Path | None = None,
        *,
        threads: int = 1,
        max_length: int | None = None,
        optimized_dir: Path | None = None,
        parallel: int = 1,
    ) -> Reader:
        """The reader shipped with citebot (``index/reader/model``), or the one in ``model_dir``."""
        folder = MODEL_DIR if model_dir is None else Path(model_dir)
        return cls(folder, threads=threads, max_length=max_length, optimized_dir=optimized_dir, parallel=parallel)

    def logits(self, question: str, candidates: Sequence[Candidate]) -> np.ndarray:
        """Raw scores (before the sigmoid), float32 (n,), one session call per candidate.

        The int8 graph quantises its activations with one scale per call, so a row scored in a batch
        would depend on the other rows; alone, a candidate's score is the same whatever else is
        read with it (the fit and the pipeline read different sets of candidates), and no row pays
        for another's padding. Measured per row against batches of 5: the same time within noise.
        With ``parallel`` > 1 the rows run on that many threads at once (onnxruntime lets go of the
        GIL while it runs): the same numbers, sooner.
        """
        out = np.zeros(len(candidates), dtype=np.float32)
        if len(candidates) == 0:
            return out
        feed = encode_pairs(self._tokenizer, question, candidates, self.max_length)
        lengths = feed["attention_mask"].sum(axis=1)

        def one(row: int) -> float:
            inputs = {k: v[row : row + 1, : lengths[row]] for k, v in feed.items() if k in self._inputs}
            return float(np.asarray(self._session.run([OUTPUT_NAME], inputs)[0]).reshape(-1)[0])

        rows = range(len(candidates))
        out[:] = list(self._threads().map(one, rows)) if self.parallel > 1 and len(rows) > 1 else [one(r) for r in rows]
        return out

    def _threads(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.parallel, thread_name_prefix="citebot-reader")
            return self._pool

    def score(self, question: str, candidates: Sequence[Candidate]) -> np.ndarray:
        """Probability that each candidate sentence answers the question.

        Args:
            question: The question as the user typed it.
            candidates: n (sentence, previous sentence, next sentence) triples; "" for a missing
                neighbour.

        Returns:
            float32 array (n,) of probabilities in (0, 1), candidates[i] -> out[i].

        Each candidate is scored alone (see :meth:`logits`), so its score does not depend on the
        others.
        """
        return sigmoid(self.logits(question, candidates))


def _token_id(tokenizer: Any, token: str) -> int:
    found = tokenizer.token_to_id(token)
    if found is None:
        raise ReaderModelError(f"reader tokenizer has no {token} token")
    return int(found)
