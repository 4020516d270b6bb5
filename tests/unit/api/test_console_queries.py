"""Every GraphQL document the console sends is valid against the service's schema (the
committed SDL); a query of a feature the schema does not have yet (the console checks for
its field first) is checked once the schema has that field."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import pytest
from graphql import build_schema, parse, validate

STATIC = Path(str(resources.files("api") / "static" / "console"))
SDL = Path(__file__).resolve().parents[3] / "docs" / "schema.graphql"
CONSTANT = re.compile(r"const (\w+) = (?:`([^`]*)`|\"([^\"]*)\");", re.S)
DOCUMENT = re.compile(r"^\s*(query|mutation|\{)")
# Fields the console asks for only once the schema has them (union.js, figures.js,
# acquisition.js, ill.js).
LATER = {"unionCatalog", "unionCatalogEntry", "unionEntry", "consortiumFigures",
         "acquisitionCandidates", "lendingRequests"}


def console_documents() -> list[tuple[str, str, str]]:
    """(module, constant name, document) for every GraphQL constant of the console."""
    found = []
    for module in sorted(STATIC.glob("*.js")):
        constants = {name: backticked or quoted for name, backticked, quoted
                     in CONSTANT.findall(module.read_text(encoding="utf-8"))}
        for name, text in constants.items():
            resolved = re.sub(r"\$\{(\w+)\}", lambda m, known=constants: known.get(m[1], m[0]),
                              text)
            if DOCUMENT.match(resolved):
                found.append((module.name, name, resolved))
    return found


def test_the_console_has_graphql_documents_to_check() -> None:
    names = {name for _, name, _ in console_documents()}
    assert {"SEARCH", "RECORD", "CHECK_OUT", "CHECK_IN", "REGISTER", "SCAN", "CREATE",
            "REQUEST_LOAN", "RESPOND", "SHIP", "RECEIVE", "RETURN", "COMPLETE", "RECALL", "CANCEL",
            "CANCEL_ORDER", "RECEIVE_ORDER", "MERGE", "SPLIT", "DETAIL", "STAFF_USER"} <= names


@pytest.mark.parametrize(("module", "name", "document"), console_documents(),
                         ids=lambda v: v if isinstance(v, str) and len(v) < 40 else "")
def test_console_query_is_valid_against_the_schema(module: str, name: str, document: str) -> None:
    sdl = SDL.read_text(encoding="utf-8")
    later = [field for field in LATER if re.search(rf"\b{field}\b", document)]
    if later and not all(re.search(rf"^\s*{field}\W", sdl, re.M) for field in later):
        pytest.skip(f"{module} {name}: the schema has no {later} yet (the console checks first)")
    errors = validate(build_schema(sdl), parse(document))
    assert not errors, f"{module} {name}: {[e.message for e in errors]}"
