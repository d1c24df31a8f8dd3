"""The HTTP server's limits, read from the environment (`KOFU_<NAME>`).

docs/API.md lists each with its default and how to change it.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Limits(BaseSettings):
    """The HTTP server's limits (environment variables `KOFU_<NAME>`)."""

    model_config = SettingsConfigDict(env_prefix="KOFU_", frozen=True)

    max_body_bytes: int = Field(default=1_048_576, ge=1_024)
    """Largest request body (bytes); a larger one is 413."""
    requests_per_token: int = Field(default=8, ge=1)
    """Requests one token may have in flight; the next is 429."""
    as_of_slots: int = Field(default=1, ge=1)
    """As-of read models built at the same time; the next is 429."""
    as_of_cache: int = Field(default=4, ge=0)
    """As-of read models kept for the next read at the same position."""
    header_timeout: float = Field(default=10.0, gt=0)
    """Seconds a connection may take to send a request's headers."""
    keep_alive_timeout: int = Field(default=5, ge=1)
    """Seconds an idle keep-alive connection stays open."""
    session_seconds: int = Field(default=8 * 3600, ge=60)
    """Max-Age of the login cookie (never past the token's expiry)."""
    trust_proxy: bool = False
    """Believe X-Forwarded-Proto/For from `forwarded_allow_ips` (a TLS proxy)."""
    forwarded_allow_ips: str = "127.0.0.1"
    """The proxies believed when `trust_proxy` is on."""
