"""A live projection in a thread, and the read models exported for comparison.

Shared by tests/integration/test_projections.py and test_read_model_builds.py,
tests/trials/test_concurrency.py and scripts/fault_suite.py.
"""

from __future__ import annotations

import json
import threading
from typing import Any, Self

from adapters.storage.bootstrap import open_ledger
from adapters.storage.projecting import follow
from adapters.storage.read_store import ReadStore
from adapters.storage.rebuilding import open_store
from projections.read_models import TABLES


def export(store: ReadStore) -> str:
    """Every read-model row, in key order, as canonical JSON."""
    content: dict[str, list[dict[str, Any]]] = {}
    for table in TABLES:
        content[table.name] = store.rows(table.name, {}, list(table.key))
    return json.dumps(content, sort_keys=True, default=str, ensure_ascii=False)


class Follower:
    """A live projection in a thread, as `kofu projections follow` runs it."""

    def __init__(self, url: str) -> None:
        self.ledger = open_ledger(url)
        self.store = open_store(self.ledger)
        self.done = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            follow(self.ledger, self.store, interval=0.05, until=self.done.is_set)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.done.set()
        self.thread.join(timeout=60)
        self.ledger.close()
