"""Mutations enter the one command pipeline here: the caller's input (every field but the
idempotency key) is what the key is bound to."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

from strawberry.types import Info

from api.graphql.context import Context
from domain.shared.application import Receipt
from tenants.commands import Command, Scoped

R = TypeVar("R")


def input_of(given: object) -> dict[str, Any]:
    """A mutation's input as its idempotency key is bound to: every field but the key."""
    data = dataclasses.asdict(given) if dataclasses.is_dataclass(given) else {}  # type: ignore[arg-type]
    data.pop("idempotency_key", None)
    return data


async def execute(info: Info[Context, None], scope: Scoped, operation: str, given: object, *,
                  run: Callable[[Receipt | None], R], answer: Callable[[R], dict[str, Any]],
                  views: tuple[str, ...], key_prefix: str = "") -> dict[str, Any]:
    """Runs a mutation's use case through the command pipeline; its answer (the first one,
    for a retry with the same idempotency key)."""
    key = getattr(given, "idempotency_key", None)
    command = Command(operation, input_of(given), run, answer, views, key_prefix,
                      actor=info.context.actor)
    return await info.context.services.pipeline.execute(scope, key, command)
