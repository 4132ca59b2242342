"""Bounded queues between stages, each with a named policy for when it is full.

* ``drop_oldest``: live video. A detector that falls behind must see the newest frame, not a
  backlog; the oldest waiting frame is discarded and counted.
* ``block``: scanned pages. A page is never dropped; the producer waits (intake slows down).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Generic, Literal, TypeVar

T = TypeVar("T")
Policy = Literal["drop_oldest", "block"]


class Closed(Exception):
    """The queue was closed and is empty: the consumer should stop."""


class StageQueue(Generic[T]):
    """A bounded FIFO with a drop policy, depth and drop counters (for health)."""

    def __init__(self, name: str, maxsize: int, policy: Policy) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be >= 1")
        if policy not in ("drop_oldest", "block"):
            raise ValueError(f"unknown drop policy {policy!r}")
        self.name = name
        self.maxsize = maxsize
        self.policy: Policy = policy
        self.dropped = 0
        self.put_count = 0
        self._items: deque[T] = deque()
        self._cond = threading.Condition()
        self._closed = False

    def put(self, item: T, timeout: float | None = None) -> bool:
        """Add ``item``. drop_oldest never waits; block waits for room (False on timeout)."""
        with self._cond:
            if self._closed:
                raise Closed(self.name)
            if len(self._items) >= self.maxsize:
                if self.policy == "drop_oldest":
                    self._items.popleft()
                    self.dropped += 1
                else:
                    end = None if timeout is None else time.monotonic() + timeout
                    while len(self._items) >= self.maxsize and not self._closed:
                        left = None if end is None else end - time.monotonic()
                        if left is not None and left <= 0:
                            return False
                        self._cond.wait(left)
                    if self._closed:
                        raise Closed(self.name)
            self._items.append(item)
            self.put_count += 1
            self._cond.notify_all()
            return True

    def get(self, timeout: float | None = None) -> T | None:
        """The oldest item; None on timeout; raises Closed once closed and drained."""
        with self._cond:
            end = None if timeout is None else time.monotonic() + timeout
            while not self._items:
                if self._closed:
                    raise Closed(self.name)
                left = None if end is None else end - time.monotonic()
                if left is not None and left <= 0:
                    return None
                self._cond.wait(left)
            item = self._items.popleft()
            self._cond.notify_all()
            return item

    def close(self) -> None:
        """No more puts; consumers drain what is left and then get Closed."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def __len__(self) -> int:
        with self._cond:
            return len(self._items)
