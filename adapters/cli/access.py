"""`kofu serve`, `kofu publish` and `kofu tokens issue|revoke|list`."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from adapters.cli.options import FormatOption
from adapters.common.formats import Format
from domain.roles import DEFAULT_TOKEN_DAYS, MAX_TOKEN_DAYS, ROLES

if TYPE_CHECKING:
    from adapters.kofu import Kofu
    from domain.ledger import Ledger, Result


def register(
    app: typer.Typer,
    handled: Callable[[Callable[..., None]], Callable[..., None]],
    ledger: Callable[[], AbstractContextManager[Ledger]],
    session: Callable[[], AbstractContextManager[Kofu]],
    console: Console,
    report: Callable[[Result, str], None],
) -> None:
    """Add the access commands to the CLI."""
    tokens = typer.Typer(help="Access tokens of the HTTP API.", no_args_is_help=True)
    app.add_typer(tokens, name="tokens")

    @app.command()
    @handled
    def serve(
        host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    ) -> None:
        """Serve the HTTP API (OpenAPI document at /openapi.json, docs at /docs).

        Its limits (body size, requests per token, as-of reads, timeouts) come from
        KOFU_* environment variables: docs/API.md.
        """
        from adapters.http.server import serve as run  # noqa: PLC0415

        run(host, port)

    @app.command()
    @handled
    def publish(
        run_id: Annotated[str, typer.Argument(help="The recorded run to publish.")],
        actor: Annotated[str, typer.Option(help="ministry:<staff id>")],
        announced_on: Annotated[
            str | None,
            typer.Option(
                "--announced-on",
                help="The announced date of the publication (YYYY-MM-DD; default: "
                "the day the ledger records it, never later).",
            ),
        ] = None,
        idempotency_key: Annotated[
            str | None, typer.Option("--idempotency-key")
        ] = None,
    ) -> None:
        """Publish an allocation run so readers may see it (公表; again: no-op)."""
        from domain.commands import PublishRun  # noqa: PLC0415

        cmd = PublishRun.checked(
            {
                "run_id": run_id,
                "actor": actor,
                "announced_on": announced_on,
                "idempotency_key": idempotency_key,
            },
            "publish",
        )
        with session() as kofu:
            report(kofu.execute(cmd), f"publish {run_id}")

    @tokens.command("issue")
    @handled
    def issue(
        role: Annotated[str, typer.Option(help=f"One of: {', '.join(ROLES)}.")],
        name: Annotated[str, typer.Option(help="Who holds it (ASCII).")],
        entity: Annotated[
            list[str] | None,
            typer.Option("--entity", "-e", help="LG code (insurer, prefecture)."),
        ] = None,
        actor: Annotated[str, typer.Option(help="Who issues it.")] = "system:cli",
        expires_in: Annotated[
            int,
            typer.Option(
                "--expires-in",
                min=1,
                max=MAX_TOKEN_DAYS,
                help="Days until it stops working (server clock).",
            ),
        ] = DEFAULT_TOKEN_DAYS,
    ) -> None:
        """Issue a token; its secret is shown this once and stored only hashed."""
        from domain.roles import Role  # noqa: PLC0415
        from domain.tokens import check_token_request  # noqa: PLC0415

        scope = tuple(entity or ())
        check_token_request(role, scope, name)
        chosen: Role = next(r for r in ROLES if r == role)
        with session() as kofu:
            issued = kofu.issue_token(chosen, scope, name, actor, expires_in)
            signed = kofu.signer() is not None
        console.print(
            f"token {issued.token_id} ({role} {name}) issued; "
            f"expires {issued.expires_at.isoformat()}."
        )
        if not signed:
            console.print(
                "no signing key: the token is recorded unsigned (未封印) and does not "
                "authenticate until a key signs (`kofu checkpoint`)"
            )
        console.print("Its secret, shown this once (keep it; only its hash is kept):")
        typer.echo(issued.secret)

    @tokens.command("revoke")
    @handled
    def revoke(
        token_id: Annotated[str, typer.Argument(help="The token's id.")],
        actor: Annotated[str, typer.Option(help="Who revokes it.")] = "system:cli",
    ) -> None:
        """Revoke a token: it stops working at once."""
        from domain.commands import RevokeToken  # noqa: PLC0415

        with session() as kofu:
            result = kofu.execute(RevokeToken(token_id=token_id, actor=actor))
        report(result, f"revoke {token_id}")

    @tokens.command("list")
    @handled
    def list_tokens(fmt: FormatOption = Format.table) -> None:
        """Every token issued (never a secret)."""
        from adapters.reports.output import render  # noqa: PLC0415
        from domain import clock  # noqa: PLC0415

        at = clock.now()
        with ledger() as opened:
            rows = [
                {
                    "token_id": t.token_id,
                    "role": t.role,
                    "name": t.name,
                    "scope": " ".join(t.scope),
                    "revoked": t.revoked,
                    "issued_at": t.created_on,
                    "expires_at": t.expires_at,
                    "expired": t.expired(at),
                }
                for t in opened.access_tokens()
            ]
        render(rows, fmt, "access tokens")


__all__ = ["register"]
