"""`kofu dossier`: one entity's year for an auditor, as HTML and a JSON/CSV bundle.

The bundle holds the audit trail, the explanation of each phase's amount (both
grants), the receipts of the runs explained, and a manifest: the SHA-256 of every
file, the verification of the whole history and the chain hash at its head, so the
bundle can be checked later without kofu. The explanations and receipts are read
from the runs' events; the trail is a read model, so its rows are recomputed from
the events and compared (`read_check`) before the dossier says `verified`: the
manifest's `checked` names what was (events, and the trail rows with their entity,
year and position), and any row that differs.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from adapters.common.writing import check_target, write_files
from adapters.queries.explain import explanation
from adapters.queries.runs import current_runs
from adapters.reports.dossier_proofs import dossier_proofs
from adapters.reports.output import templates, to_csv
from adapters.storage.integrity import Chain
from adapters.storage.projecting import catch_up
from adapters.storage.read_check import check_read_models
from adapters.storage.rebuilding import open_store
from domain.base import GRANTS
from domain.glossary import GRANT_JA, PHASE_JA, era
from domain.programme import PHASES
from projections.audit_trail import AUDIT_TRAIL

if TYPE_CHECKING:
    from domain.ledger import Ledger

DOSSIER_FILES = (
    "trail.json",
    "trail.csv",
    "explanations.json",
    "receipts.json",
    "proofs.json",
    "index.html",
)


def write_dossier(
    ledger: Ledger, lg_code: str, year: int, folder: Path, *, force: bool = False
) -> dict[str, Any]:
    """Write the dossier into `folder`; return its manifest.

    The files are written by `output.write_files`: none that exists is replaced
    and no link is followed unless `force`.

    Raises:
        InvalidInput: `folder` is not a folder, or a file cannot be written.
    """
    check_target(folder, folder=True)
    if folder.is_dir():  # a new folder is made when the files are written
        for name in (*DOSSIER_FILES, "manifest.json"):
            check_target(folder / name, force=force)
    details = ledger.entity(lg_code)
    tier = "municipal" if details.kind == "municipality" else "prefectural"
    chain = Chain(ledger)
    finding, checked = chain.verify()
    head = chain.head()[0] if finding is None else checked  # a read never extends
    store = open_store(ledger)
    catch_up(ledger, store)
    # The trail shown is the rows recomputed from the events and compared.
    shown = {"entity": lg_code, "grant_year": year}
    rows = check_read_models(ledger, tables=[AUDIT_TRAIL], where=shown)
    trail = store.rows("audit_trail", shown, ["position"], up_to=rows.position)
    explanations, receipts, runs = [], [], []
    for phase in PHASES:
        for grant in GRANTS:
            for run in current_runs(ledger, year, grant, tier, phase, None):
                explanations.append(explanation(ledger, run, lg_code))
                runs.append(run)
                inputs = run.calculated.inputs
                receipts.append(
                    {
                        "run_id": run.calculated.run_id,
                        "ledger_position": inputs.ledger_position,
                        "ledger_sha256": inputs.ledger_sha256,
                        "rule_id": inputs.rule_id,
                        "parameters_sha256": inputs.parameters_sha256,
                        "code_version": inputs.code_version,
                        "output_sha256": run.calculated.output_sha256,
                    }
                )
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "trail.json": orjson.dumps(trail, default=str, option=orjson.OPT_INDENT_2),
        "trail.csv": to_csv(trail).encode(),
        "explanations.json": orjson.dumps(
            explanations, default=str, option=orjson.OPT_INDENT_2
        ),
        "receipts.json": orjson.dumps(receipts, option=orjson.OPT_INDENT_2),
        # The trail's events and the runs' events, proved against a signed tree.
        "proofs.json": orjson.dumps(
            dossier_proofs(ledger, [int(r["position"]) for r in trail], runs),
            option=orjson.OPT_INDENT_2,
        ),
    }
    verified = finding is None and rows.intact
    if verified:
        verification = (
            f"intact: {checked} events verified, "
            f"chain hash at {head}: {chain.hash_at(head)}; "
            f"the {len(trail)} trail rows recomputed from the events and matched"
        )
    elif finding is None:
        verification = (
            f"NOT VERIFIED: {rows.count} audit-trail rows of {lg_code} are not what "
            "the events make them: " + "; ".join(str(d) for d in rows.differences[:10])
        )
    else:
        verification = (
            f"TAMPERED at position {finding.position} ({finding.kind}): "
            f"{finding.detail}"
        )
    files["index.html"] = page(
        details,
        year,
        explanations=explanations,
        verification=verification,
        verified=verified,
        trail=trail,
        receipts=receipts,
        head=head,
    ).encode()
    manifest = {
        "entity": lg_code,
        "grant_year": year,
        "generated_at": datetime.now(tz=UTC).isoformat(),
        "verified": verified,
        "verification": verification,
        "checked": {
            "events": checked,
            "read_models": {
                "audit_trail": {
                    "where": shown,
                    "up_to_position": rows.position,
                    "rows": rows.rows.get("audit_trail", 0),
                    "differing": rows.count,
                    "differences": [str(d) for d in rows.differences],
                }
            },
        },
        "chain_head": head,
        "chain_head_sha256": chain.hash_at(head) if finding is None else None,
        "files": {
            name: hashlib.sha256(content).hexdigest() for name, content in files.items()
        },
    }
    written = files | {
        "manifest.json": orjson.dumps(manifest, option=orjson.OPT_INDENT_2)
    }
    write_files(folder, written, force=force)
    return manifest


def page(
    details: Any,
    year: int,
    *,
    explanations: list[dict[str, Any]],
    verification: str,
    verified: bool,
    trail: list[dict[str, Any]] | None = None,
    receipts: list[dict[str, Any]] | None = None,
    head: int | None = None,
) -> str:
    """The printable HTML page (also `kofu explain --format html`)."""
    return (
        templates()
        .get_template("dossier.html.j2")
        .render(
            entity=details,
            year=year,
            era=era(year),
            trail=trail or [],
            explanations=explanations,
            receipts=receipts or [],
            verification=verification,
            verified=verified,
            head=head,
            hypothesis=any(x["hypothesis"] for x in explanations),
            generated_at=datetime.now(tz=UTC).isoformat(timespec="seconds"),
            phase_ja=PHASE_JA,
            grant_ja=GRANT_JA,
        )
    )
