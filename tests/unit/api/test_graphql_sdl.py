"""docs/schema.graphql is the schema the service runs; `commonshelf schema --graphql` prints it."""

from __future__ import annotations

from pathlib import Path

import pytest

from api import cli
from api.graphql.schema import sdl

COMMITTED = Path(__file__).parents[3] / "docs" / "schema.graphql"


def test_committed_sdl_matches_the_running_schema() -> None:
    assert COMMITTED.read_text() == sdl(), (
        "docs/schema.graphql differs from the running GraphQL schema: run `make schema` "
        "and commit docs/schema.graphql")


def test_cli_prints_the_sdl(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["schema", "--graphql"]) == 0
    assert capsys.readouterr().out == sdl()


def test_cli_schema_without_a_kind_says_which_to_give(capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    assert cli.main(["schema"]) == 1
    assert "commonshelf schema --graphql" in capsys.readouterr().err


def test_sdl_names_queries_and_mutations_as_clients_send_them() -> None:
    text = sdl()
    assert "type Query {" in text
    assert "type Mutation {" in text
    assert "inventoryScans(" in text  # camelCase, as clients write it
