"""An imported record's control characters are removed and reported, never recorded: a NUL
in an event would stop the read models that store it."""

from __future__ import annotations

import io

import pymarc

from domain.catalog.application import Catalog
from domain.catalog.record import Record
from domain.shared.description import identity_of
from tenants.imports import MarcImport


def _iso2709(title: str) -> bytes:
    record = pymarc.Record(force_utf8=True)
    record.add_field(pymarc.Field(tag="001", data="ctl0001"))
    record.add_field(pymarc.Field(tag="003", data="CSTEST"))
    record.add_field(pymarc.Field(tag="245", indicators=["1", "0"], subfields=[
        pymarc.Subfield("a", title)]))
    data: bytes = record.as_marc()
    return data


def test_control_characters_in_an_imported_title_are_removed_and_reported() -> None:
    catalog = Catalog()
    summary = MarcImport(catalog).run(io.BytesIO(_iso2709("Moby\x01Dick\x07")), "marc21")
    assert (summary.created, summary.skipped) == (1, 0)
    assert summary.warnings == [{
        "record": 1, "offset": 0, "field": "title", "occurrence": None,
        "reason": "control characters removed (they cannot be kept or searched)"}]
    record = catalog.get_record(Record.create_id(identity_of(
        {"control_number": "ctl0001", "control_source": "CSTEST"})))
    assert record.description["title"] == "MobyDick"
