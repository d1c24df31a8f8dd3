"""As-of reads, bounded (`?as_of=` on scores and submissions).

At most `as_of_slots` read-model sets are built at a time, the next is answered 429
at once, and the last `as_of_cache` built are kept (on disk) for the next read at
the same position.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from adapters.http.errors import ApiError

if TYPE_CHECKING:
    from adapters.kofu import Kofu, ReadModels


@dataclass
class _Built:
    stack: ExitStack
    store: ReadModels
    readers: int = 0


class AsOfBusyError(ApiError):
    """Every as-of slot is building: 429, answered at once."""

    def __init__(self, slots: int) -> None:
        super().__init__(
            429,
            f"{slots} as_of read(s) are being built already; try again shortly "
            "(or read without as_of)",
            "as_of",
        )


class AsOfStores:
    """Read models as they stood at a position: built `slots` at a time, cached."""

    def __init__(self, slots: int, keep: int) -> None:
        self.slots = slots
        self.keep = keep
        self._free = threading.BoundedSemaphore(slots)
        self._lock = threading.Lock()
        self._built: OrderedDict[int, _Built] = OrderedDict()
        self.builds = 0

    @contextmanager
    def reading(self, kofu: Kofu, position: int) -> Iterator[ReadModels]:
        """The read models at `position` (AsOfBusyError when every slot is taken).

        Raises:
            AsOfBusyError: no slot is free and `position` is not cached.
        """
        built = self._cached(position)
        if built is None:
            built = self._build(kofu, position)
        try:
            yield built.store
        finally:
            with self._lock:
                built.readers -= 1
                self._evict()

    def _cached(self, position: int) -> _Built | None:
        with self._lock:
            built = self._built.get(position)
            if built is not None:
                built.readers += 1
                self._built.move_to_end(position)
            return built

    def _build(self, kofu: Kofu, position: int) -> _Built:
        if not self._free.acquire(blocking=False):
            raise AsOfBusyError(self.slots)
        try:
            again = self._cached(position)  # built while this one waited
            if again is not None:
                return again
            stack = ExitStack()
            try:
                store = stack.enter_context(kofu.stood_at(position))
            except BaseException:
                stack.close()
                raise
            built = _Built(stack, store, readers=1)
            with self._lock:
                self.builds += 1
                self._built[position] = built
                self._evict()
            return built
        finally:
            self._free.release()

    def _evict(self) -> None:
        # Under the lock: close the oldest unread stores beyond `keep`.
        while len(self._built) > self.keep:
            idle = next((p for p, b in self._built.items() if b.readers == 0), None)
            if idle is None:
                return
            self._built.pop(idle).stack.close()

    def close(self) -> None:
        """Close every cached store."""
        with self._lock:
            while self._built:
                self._built.popitem()[1].stack.close()
