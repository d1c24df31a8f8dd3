"""JSON request bodies read by the CLI's strict parser.

One rule for input files and HTTP: duplicate keys, NaN, huge integers and hidden
characters are refused (422, naming the field).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from adapters.common.parsing import parse_json
from adapters.http.errors import ApiError
from domain.errors import InvalidInput


class StrictJSONRequest(Request):
    """A request whose JSON body is read by the CLI's strict parser.

    A key given twice, NaN or Infinity, a 5,000-digit integer or a string holding
    a hidden character (`domain.base.HIDDEN_CHARACTERS`) is refused (422) as it is
    in a file given to the CLI, naming the field.
    """

    async def json(self) -> Any:
        """The body, parsed strictly (ApiError 422 naming the field)."""
        if not hasattr(self, "_json"):
            raw = await self.body()
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                msg = f"the body is not UTF-8 (byte {exc.start + 1})"
                raise ApiError(422, msg, "body") from None
            try:
                self._json = parse_json(text, "body", decimals=False, by_field=True)
            except InvalidInput as exc:
                raise ApiError(422, exc.message, exc.field) from None
        return self._json


class StrictJSONRoute(APIRoute):
    """A route whose JSON body is parsed by `StrictJSONRequest`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The route's handler, handed the strict request."""
        handler = super().get_route_handler()

        async def strict(request: Request) -> Response:
            return await handler(StrictJSONRequest(request.scope, request.receive))

        return strict
