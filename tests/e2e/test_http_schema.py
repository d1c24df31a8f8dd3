"""Schemathesis against the OpenAPI document: no generated input makes a 5xx, and
every refusal is a JSON error body. Seeded (derandomized) and kept small for CI."""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings

from adapters.http.app import create_app
from tests.conftest import Api

# The document is the same whatever the ledger: read it from an app never opened.
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app("sqlite:///-"))

# The token each generated request carries: the role that gets past the role check,
# so the generated parameters and bodies reach the handlers.
BY_PATH = {"/api/submissions": "insurer", "/api/confirmations": "prefecture"}


@schema.parametrize()
@settings(
    max_examples=12,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_generated_request_makes_a_server_error(case: Any, api: Api) -> None:
    holder = BY_PATH.get(case.path, "ministry") if case.method == "POST" else "ministry"
    request = case.as_transport_kwargs(
        base_url="http://testserver", headers=api.headers(holder)
    )
    request.pop("cookies", None)
    response = api.client.request(**request)
    assert response.status_code < 500, (request, response.text)
    if response.status_code >= 400:
        assert set(response.json()) == {"error", "field"}
        assert "Traceback" not in response.text
