"""Run a build and SIGKILL this process at one named point of it (used by test_store's crash tests).

Usage: python -m tests.index.store.crash_build CONFIG POINT

Only the moment of death is arranged here; the build itself is the real engine writing real files.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys

from index import builder
from index.config import load_config
from index.engine import Engine
from index.store import folder as store


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def arm(point: str) -> None:
    if point == "embedding":
        original_embed = builder._embed_pending

        def embed_then_die(*args, **kwargs):
            original_embed(*args, **kwargs)
            die()

        builder._embed_pending = embed_then_die
    elif point == "files":
        original_fsync = store._fsync_file
        calls = []

        def fsync_then_die(path):
            original_fsync(path)
            calls.append(path)
            if len(calls) == 3:
                die()

        store._fsync_file = fsync_then_die
    elif point in ("manifest", "current"):
        original_write = store._write_synced
        target = "manifest.json" if point == "manifest" else "CURRENT.tmp"

        def write_then_die(path, data):
            original_write(path, data)
            if path.name == target:
                die()

        store._write_synced = write_then_die
    elif point in ("renamed", "published"):
        name = "rename" if point == "renamed" else "replace"
        original = getattr(store.os, name)

        class PatchedOs:
            def __getattr__(self, attr):
                return getattr(os, attr)

        def then_die(*args, **kwargs):
            original(*args, **kwargs)
            die()

        patched = PatchedOs()
        setattr(patched, name, then_die)
        store.os = patched  # type: ignore[assignment]
    elif point == "cleaning":

        class PatchedShutil:
            def __getattr__(self, attr):
                return getattr(shutil, attr)

            @staticmethod
            def rmtree(*args, **kwargs):
                die()

        store.shutil = PatchedShutil()  # type: ignore[assignment]
    else:
        raise SystemExit(f"unknown point {point}")


if __name__ == "__main__":
    config_path, point = sys.argv[1], sys.argv[2]
    arm(point)
    Engine(load_config(config_path)).rebuild()
    print("finished without being killed", file=sys.stderr)
    sys.exit(3)
