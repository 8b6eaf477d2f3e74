"""What the bot remembers of threads: one conversation per thread, bounded, and which threads it started.

Nothing about users is kept: a conversation holds the thread's own questions and the sentences
quoted for them (see ``index.answer.conversation``), and expires by itself a day after its last turn.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

C = TypeVar("C")

MAX_THREADS = 1000  # conversations kept; the least recently used is dropped first
REFUSED_SECONDS = 3600.0  # after Discord refused a thread in a channel, replies there for this long


class ThreadMemory(Generic[C]):
    """Thread id -> its conversation, at most ``limit`` of them, the least recently used dropped first.

    Args:
        make: Makes an empty conversation (a thread the bot has not seen yet, or one it forgot).
        limit: How many threads are remembered.
    """

    def __init__(self, make: Callable[[], C], *, limit: int = MAX_THREADS) -> None:
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        self._make = make
        self._limit = limit
        self._threads: OrderedDict[int, tuple[C, bool]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._threads)

    def __contains__(self, thread_id: object) -> bool:
        return thread_id in self._threads

    def conversation(self, thread_id: int) -> C:
        """The thread's conversation, made empty when the thread is new or was forgotten."""
        entry = self._threads.get(thread_id)
        if entry is None:
            entry = (self._make(), False)
        self._keep(thread_id, entry)
        return entry[0]

    def adopt(self, thread_id: int, conversation: C, *, started: bool) -> None:
        """Remember ``conversation`` as the thread's (``started``: the bot started the thread)."""
        self._keep(thread_id, (conversation, started))

    def started(self, thread_id: int) -> bool:
        """Whether the bot started this thread (as far as it remembers)."""
        entry = self._threads.get(thread_id)
        return entry is not None and entry[1]

    def _keep(self, thread_id: int, entry: tuple[C, bool]) -> None:
        self._threads[thread_id] = entry
        self._threads.move_to_end(thread_id)
        while len(self._threads) > self._limit:
            self._threads.popitem(last=False)


class Refusals:
    """Channels where Discord refused to start a thread (no permission, a channel type without
    threads): answered with replies for a while instead of asking again on every question, since
    refused requests count towards Discord's invalid-request limit."""

    def __init__(self, *, seconds: float = REFUSED_SECONDS, limit: int = MAX_THREADS) -> None:
        self._seconds = seconds
        self._limit = limit
        self._until: dict[int, float] = {}

    def refused(self, channel_id: int) -> bool:
        until = self._until.get(channel_id)
        if until is None:
            return False
        if time.monotonic() >= until:
            del self._until[channel_id]
            return False
        return True

    def add(self, channel_id: int) -> None:
        now = time.monotonic()
        if len(self._until) >= self._limit:
            self._until = {k: v for k, v in self._until.items() if v > now}
            while len(self._until) >= self._limit:
                del self._until[next(iter(self._until))]
        self._until[channel_id] = now + self._seconds
