"""`kofu load`: reference data into the ledger, in dependency order.

Every file is read and validated before anything is written; then entities,
designated-city insurers (from a wards file), other insurers, insured counts,
spending (事業費), required amounts (所要見込額), catalogues and programme years are
recorded. Loading the same files again is a no-op; loading different content for
something recorded is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import TYPE_CHECKING, TypeVar

from adapters.common.progress import progress
from adapters.inputs.files import designated_city_insurers, load_files
from domain.commands import (
    DeclareRequiredAmounts,
    DefineProgramme,
    PublishCatalogue,
    PublishRules,
    RecordExpenditures,
    RecordInsuredCounts,
    RegisterEntities,
    RegisterInsurers,
)
from domain.errors import LedgerError

if TYPE_CHECKING:
    from pathlib import Path

    from rich.console import Console

    from domain.ledger import Ledger, Result


T = TypeVar("T")


def _line(what: str, result: Result) -> str:
    if result.noop:
        return f"{what}: nothing new"
    return f"{what}: {result.events} events, last position {result.position}"


def load_reference(
    ledger: Ledger, files: list[Path], actor: str, console: Console
) -> Iterator[str]:
    """Load files; yield one line per kind of record loaded."""
    loaded = load_files(files)
    origins = loaded.origins
    if loaded.entities:
        with progress(console, "entities", len(loaded.entities)) as advance:
            result = ledger.register_entities(
                RegisterEntities(entities=loaded.entities), progress=advance
            )
        yield _line(f"entities ({len(loaded.entities)})", result)
    if loaded.wards:
        cities = designated_city_insurers(ledger.entities(), loaded.wards, "2000-04-01")
        yield _line(
            f"designated-city insurers ({len(cities)})",
            ledger.register_insurers(RegisterInsurers(insurers=cities)),
        )
    if loaded.insurers:
        yield _line(
            f"insurers ({len(loaded.insurers)})",
            ledger.register_insurers(RegisterInsurers(insurers=loaded.insurers)),
        )
    _registered(ledger, loaded.insured, origins)
    if loaded.insured:
        yield _line(
            f"insured counts ({len(loaded.insured)})",
            ledger.record_insured_counts(
                RecordInsuredCounts(counts=loaded.insured, actor=actor)
            ),
        )
    _registered(ledger, loaded.expenditures, origins)
    if loaded.expenditures:
        yield _line(
            f"spending records ({len(loaded.expenditures)})",
            ledger.record_expenditures(
                RecordExpenditures(expenditures=loaded.expenditures, actor=actor)
            ),
        )
    _registered(ledger, loaded.required, origins)
    if loaded.required:
        yield _line(
            f"required amounts ({len(loaded.required)})",
            ledger.declare_required_amounts(
                DeclareRequiredAmounts(amounts=loaded.required, actor=actor)
            ),
        )
    if loaded.rules:
        # An error names the file of the first rule (the ledger adds the origin).
        rules = PublishRules(
            rules=loaded.rules, actor=actor, origin=origins.get(id(loaded.rules[0]))
        )
        yield _line(f"rules ({len(loaded.rules)})", ledger.publish_rules(rules))
    for spec, reason in loaded.catalogues:
        catalogue = PublishCatalogue(
            spec=spec, reason=reason, origin=origins.get(id(spec))
        )
        yield _line(
            f"catalogue FY{spec.grant_year} {spec.tier} v{spec.version}",
            ledger.publish_catalogue(catalogue),
        )
    for programme, reason in loaded.programmes:
        defined = DefineProgramme(
            spec=programme,
            actor=actor,
            reason=reason,
            origin=origins.get(id(programme)),
        )
        yield _line(
            f"programme FY{programme.grant_year}", ledger.define_programme(defined)
        )


def _registered(
    ledger: Ledger, records: Sequence[tuple[str, object]], origins: dict[int, str]
) -> None:
    """Each record's entity is registered; an error names the record's file and line."""
    for lg_code, record in records:
        _named(partial(ledger.entity, lg_code), origins.get(id(record)))


def _named(step: Callable[[], T], origin: str | None) -> T:
    """Run a step, naming the file (and line) of its record in any error."""
    try:
        return step()
    except LedgerError as error:
        if origin and error.origin is None:
            error.origin = origin
        raise
