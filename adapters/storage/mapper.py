"""Storing pydantic events: a mapper that keeps the library's upcasting contract.

eventsourcing 9.5.6 ships no pydantic support (docs/EVENTSOURCING-9.5.md §1.6). This
mapper writes `model_dump(mode="json")` as canonical JSON (sorted keys, so the same
event always gives the same bytes, which the tamper-evidence chain relies on), stores
`class_version` when it is above 1, and on load applies `upcast_vN_vN1` in turn,
exactly as the library's own `Mapper.to_domain_event` does, before re-validating.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import Mapper, StoredEvent, Transcoder
from eventsourcing.utils import get_topic, resolve_topic
from pydantic import BaseModel


class CanonicalJSONTranscoder(Transcoder):
    """JSON with sorted keys; pydantic has already reduced values to JSON types."""

    def encode(self, obj: Any) -> bytes:
        """Encode to canonical JSON bytes."""
        return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)

    def decode(self, data: bytes) -> Any:
        """Decode JSON bytes."""
        return orjson.loads(data)


class PydanticMapper(Mapper[UUID]):
    """Maps pydantic domain events to stored events and back, with upcasting."""

    def to_stored_event(self, domain_object: Any) -> StoredEvent:
        """Serialise an event (or snapshot) for storage."""
        if not isinstance(domain_object, BaseModel):
            msg = f"{type(domain_object).__name__} is not a pydantic event"
            raise TypeError(msg)
        state = domain_object.model_dump(mode="json")
        originator_id = state.pop("originator_id")
        originator_version = state.pop("originator_version")
        version = getattr(type(domain_object), "class_version", 1)
        if version > 1:
            state["class_version"] = version
        data = self.transcoder.encode(state)
        if self.compressor:
            data = self.compressor.compress(data)
        if self.cipher:
            data = self.cipher.encrypt(data)
        return StoredEvent(
            originator_id=UUID(originator_id),
            originator_version=originator_version,
            topic=get_topic(type(domain_object)),
            state=data,
        )

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        """Deserialise a stored event, upcasting old versions first."""
        data = stored_event.state
        if self.cipher:
            data = self.cipher.decrypt(data)
        if self.compressor:
            data = self.compressor.decompress(data)
        state = self.transcoder.decode(data)
        cls = resolve_topic(stored_event.topic)
        version = state.pop("class_version", 1)
        while version < getattr(cls, "class_version", 1):
            getattr(cls, f"upcast_v{version}_v{version + 1}")(state)
            version += 1
        state["originator_id"] = stored_event.originator_id
        state["originator_version"] = stored_event.originator_version
        return cls.model_validate(state)
