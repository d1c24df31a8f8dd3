"""Reading catalogue lineage files (data/catalogues/lineage/fyN-fyN+1.yaml).

A lineage file holds, per tier, what became of each item between two consecutive
years' catalogues (domain/lineage.py). Reading one validates its shape; `check_file`
also checks it against the two catalogues it links (the shipped ones, or those given),
so that every item of year N is carried, changed or retired and every item of year
N+1 carried, changed or new. Errors name the file and the tier.
"""

from __future__ import annotations

from pathlib import Path

from adapters.inputs.files import load_files, read_document, validate
from adapters.inputs.paths import data_dir
from domain.catalogue import CatalogueSpec
from domain.errors import InvalidInput
from domain.lineage import CatalogueLineage


def lineage_dir() -> Path:
    """The folder of shipped lineage files."""
    return data_dir() / "catalogues" / "lineage"


def read_lineage(path: Path) -> list[CatalogueLineage]:
    """The lineages of one file, one per tier.

    Raises:
        InvalidInput: the file is not a lineage document or does not validate.
    """
    document = read_document(path)
    where = str(path)
    if not isinstance(document, dict) or document.get("kind") != "catalogue_lineage":
        msg = "expected a mapping with `kind: catalogue_lineage`"
        raise InvalidInput(msg, field=where)
    tiers = document.get("tiers")
    if not isinstance(tiers, dict) or not tiers:
        msg = "a lineage document has a mapping `tiers` (municipal, prefectural)"
        raise InvalidInput(msg, field=where)
    shared = {
        key: document[key]
        for key in ("from_year", "to_year", "source")
        if key in document
    }
    lineages = []
    for tier, body in tiers.items():
        if not isinstance(body, dict):
            msg = f"tiers.{tier} must be a mapping"
            raise InvalidInput(msg, field=where)
        lineages.append(
            validate(
                CatalogueLineage,
                {**shared, **body, "tier": tier},
                f"{where}: tiers.{tier}",
            )
        )
    return lineages


def shipped_catalogue(grant_year: int, tier: str, version: int = 1) -> CatalogueSpec:
    """A shipped catalogue version (data/catalogues/fyN-<tier>-vV.yaml).

    Raises:
        InvalidInput: no such file, or it does not validate.
    """
    path = data_dir() / "catalogues" / f"fy{grant_year}-{tier}-v{version}.yaml"
    if not path.is_file():
        msg = f"no shipped catalogue FY{grant_year} {tier} v{version}"
        raise InvalidInput(msg, field=str(path))
    return load_files([path]).catalogues[0][0]


def check_file(path: Path) -> list[CatalogueLineage]:
    """Read a lineage file and check each tier against the shipped catalogues.

    Raises:
        InvalidInput: as `read_lineage`, or an item is unsorted, sorted twice, or
            carried though changed (the message names the file and tier).
    """
    lineages = read_lineage(path)
    for lineage in lineages:
        before = shipped_catalogue(
            lineage.from_year, lineage.tier, lineage.from_version
        )
        after = shipped_catalogue(lineage.to_year, lineage.tier, lineage.to_version)
        try:
            lineage.check(before, after)
        except InvalidInput as error:
            error.origin = f"{path}: tiers.{lineage.tier}"
            raise
    return lineages
