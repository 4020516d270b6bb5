"""Which errors a follower retries without end (transient) and which it parks (poison)."""

from __future__ import annotations

import eventsourcing.persistence as es
import psycopg
import pytest

from infra.follower import error_text, transient


@pytest.mark.parametrize("error", [
    ConnectionError("connection reset"), TimeoutError(), psycopg.OperationalError("gone"),
    psycopg.errors.SerializationFailure(), psycopg.InterfaceError("closed"),
    es.OperationalError("gone"), es.ConnectionUnavailableError("pool"),
])
def test_lost_connections_and_timeouts_are_transient(error: Exception) -> None:
    assert transient(error)


@pytest.mark.parametrize("error", [
    ValueError("bad"), KeyError("field"), psycopg.DataError("NUL byte"),
    psycopg.errors.NumericValueOutOfRange(), es.DataError("bad"),
])
def test_errors_in_the_event_or_the_code_are_poison(error: Exception) -> None:
    assert not transient(error)


def test_the_error_text_names_type_and_message_bounded() -> None:
    assert error_text(ValueError("cannot read")) == "ValueError: cannot read"
    assert len(error_text(ValueError("x" * 10_000))) == 500
