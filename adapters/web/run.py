"""The run page: a run's receipt and what changed against the run before it.

The run before is the one it superseded (same grant, tier and phase); for the
first run of a phase, the run in force of the phase before it, so the page shows
what moved between phases. The diff is `kofu diff`'s, attributed so it adds up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from adapters.queries.recompute import run_diff
from adapters.web.formatting import japan_time
from domain.programme import PHASES

if TYPE_CHECKING:
    from domain.allocation_run import AllocationRun
    from domain.ledger import Ledger


def receipt(run: AllocationRun) -> list[tuple[str, object]]:
    """(label, value) lines of the receipt: what the run read and produced."""
    c = run.calculated
    inputs = c.inputs
    return [
        ("算定ID run", c.run_id),
        ("記録日時 recorded", japan_time(run.created_on)),
        ("実施者 actor", c.actor),
        ("台帳位置 ledger position", inputs.ledger_position),
        ("台帳 SHA-256 ledger prefix", inputs.ledger_sha256 or "—"),
        ("調査票 catalogue version", inputs.catalogue_version),
        ("算定規則 rule", inputs.rule_id),
        ("規則の状態 rule status", inputs.rule_status),
        ("パラメータ SHA-256 parameters", inputs.parameters_sha256),
        ("交付対象規則 eligibility rule", inputs.eligibility_rule_id or "—"),
        ("被保険者数 SHA-256 insured counts", inputs.insured_sha256),
        (
            "被保険者数の基準日 insured as of",
            ", ".join(d.isoformat() for d in inputs.insured_as_of) or "—",
        ),
        (
            "規模区分 size bands (lower bounds)",
            ", ".join(f"{b:,}" for b in inputs.size_bands),
        ),
        ("コード版 code version", inputs.code_version or "—"),
        ("出力 SHA-256 output", c.output_sha256 or "—"),
    ]


SAME_PHASE = "同じ段階の前回の算定 previous run of this phase"
PREVIOUS_PHASE = "前の段階の算定 run in force of the previous phase"


def previous(ledger: Ledger, run: AllocationRun) -> tuple[AllocationRun, str] | None:
    """The run to compare with, and what it is to this one."""
    c = run.calculated
    if c.supersedes:
        return ledger.run(c.supersedes), SAME_PHASE
    earlier = PHASES[: PHASES.index(c.phase)]
    for phase_runs in reversed(ledger.phase_runs(c.grant_year)):
        same = (phase_runs.grant, phase_runs.tier) == (c.grant, c.tier)
        if same and phase_runs.phase in earlier and phase_runs.current:
            return ledger.run(phase_runs.current), PREVIOUS_PHASE
    return None


def changes(
    ledger: Ledger, before: AllocationRun, after: AllocationRun
) -> list[dict[str, Any]]:
    """Per entity whose score or amount changed: the attributed change (`kofu diff`)."""
    return run_diff(ledger, before, after)
