"""The one command pipeline: every GraphQL mutation, REST command and process manager's
reaction goes through it.

    the scope's answers → the idempotency key, bound to the operation and a fingerprint of
    its input → the use case, off the event loop and bounded → its events written with the
    receipt (its answer under the key) in one transaction → a wait, holding no thread,
    until the named read models show the command's own events → the answer

A retry with the same key and input gets the first answer and records nothing; the same key
with another operation or input is refused (IdempotencyKeyReusedError), never answered
with the first call's result. Of retries racing with one key, only the first records
anything: the others get its answer.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from starlette.concurrency import run_in_threadpool

from domain.shared.application import Receipt
from infra.command_metadata import command_metadata
from infra.eventstore import appends_of
from infra.idempotency import KeyReusedError
from infra.idempotency import Receipt as KeptAnswer
from infra.servers import patiently
from projections.watch import AppliedWatch
from tenants.errors import IdempotencyKeyInvalidError, IdempotencyKeyReusedError
from tenants.scope import Answers, log_name

R = TypeVar("R")
MAX_KEY_LENGTH = 200
# The read models a context's commands wait for (read-your-writes), by projection name.
CATALOG_VIEWS = ("local_catalog",)
CIRCULATION_VIEWS = ("circulation",)


class Scoped(Protocol):
    """What a command runs in: a tenant's scope or the office's."""

    @property
    def answers(self) -> Answers: ...

    def last_position(self) -> int: ...


@dataclass(frozen=True)
class Command(Generic[R]):
    """One command: what it is called, what the caller sent, the use case to run (given the
    receipt to save its events with), the answer kept under the key, and the read models
    that must show its events before the caller is answered."""

    operation: str
    input: Mapping[str, Any]
    run: Callable[[Receipt | None], R]
    answer: Callable[[R], dict[str, Any]]
    views: tuple[str, ...] = ()
    key_prefix: str = field(default="")  # a caller's own namespace in a shared log's answers
    actor: str | None = None  # who issues it (Principal.actor), kept beside its events


def fingerprint(operation: str, given: Mapping[str, Any]) -> str:
    """A stable digest of an operation and its input (keys sorted, ids and dates as text)."""
    canonical = json.dumps({"operation": operation, "input": given}, sort_keys=True,
                           default=str, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


class CommandPipeline:
    """Runs commands once per idempotency key and answers once their events are seen."""

    def __init__(self, watch: AppliedWatch, concurrency: int, read_your_writes_s: float) -> None:
        self.watch = watch
        self.concurrency = concurrency
        self.read_your_writes_s = read_your_writes_s
        self._slots: asyncio.Semaphore | None = None

    async def execute(self, scope: Scoped, key: str | None, command: Command[R]) -> dict[str, Any]:
        """Runs the command (or answers as its first run did); its answer."""
        if key is not None:
            key = check_key(key)
        answer, appended = await self._bounded(lambda: self._once(scope, key, command))
        if command.views:
            await self._seen(scope, command.views, appended)
        return answer

    def execute_here(self, scope: Scoped, key: str,
                     command: Command[R]) -> tuple[dict[str, Any], bool]:
        """Runs the command in this thread, once per key, without waiting for read models:
        a process manager's reaction, already off the event loop, keyed by its source
        event. Its answer, and whether this call recorded it (False: a first run had)."""
        answer, appended = self._once(scope, check_key(key), command)
        return answer, bool(appended)

    async def run_in_thread(self, work: Callable[[], R]) -> R:
        """Runs blocking work off the event loop, at most `concurrency` at once: more would
        queue on the pool while their threads fight over the GIL, and a thread holding a
        tenant's table lock would wait its turn behind them (a convoy)."""
        return await self._bounded(work)

    async def _bounded(self, work: Callable[[], R]) -> R:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.concurrency)
        async with self._slots:
            return await run_in_threadpool(work)

    def _once(self, scope: Scoped, key: str | None,
              command: Command[R]) -> tuple[dict[str, Any], dict[str, int]]:
        """In a thread: the first answer under the key, or the command run with its receipt;
        the answer and the positions the command appended at, per log."""
        with command_metadata(operation=command.operation, actor=command.actor):
            return self._recorded(scope, key, command)

    def _recorded(self, scope: Scoped, key: str | None,
                  command: Command[R]) -> tuple[dict[str, Any], dict[str, int]]:
        if key is None:
            result, appended = patiently(lambda: appends_of(lambda: command.run(None)))
            return command.answer(result), appended
        answers = scope.answers
        kept_key = command.key_prefix + key
        digest = fingerprint(command.operation, command.input)
        first = _first(answers, kept_key, command, digest)
        if first is not None:
            return first, {}
        made: list[KeptAnswer] = []

        def receipt(result: object) -> KeptAnswer:
            made.append(answers.receipt(kept_key, command.operation,
                                        command.answer(result), digest))  # type: ignore[arg-type]
            return made[-1]

        try:
            result, appended = patiently(lambda: appends_of(lambda: command.run(receipt)))
        except Exception:
            first = _first(answers, kept_key, command, digest)
            if first is None:
                raise
            return first, {}  # a retry with the same key won the race: its answer
        answer = command.answer(result)
        if not made or answers.schema not in appended:
            # Nothing recorded with the receipt (the command changed nothing): keep the
            # answer anyway, so the key stays bound to this operation and input.
            answers.keep(answers.receipt(kept_key, command.operation, answer, digest))
        return answer, appended

    async def _seen(self, scope: Scoped, views: tuple[str, ...],
                    appended: dict[str, int]) -> None:
        """Waits until every named read model shows what the command appended (a replayed
        or idle command: the scope's log as it is now)."""
        targets = {log_name(schema): position for schema, position in appended.items()}
        if not targets:
            targets = {scope.answers.log: await self._bounded(scope.last_position)}
        for view in views:
            for log, position in targets.items():
                await self.watch.wait_async(view, log, position, self.read_your_writes_s)


def _first(answers: Answers, key: str, command: Command[Any],
           digest: str) -> dict[str, Any] | None:
    try:
        return answers.answer(key, command.operation, digest)
    except KeyReusedError as error:
        raise IdempotencyKeyReusedError(str(error), error.first_operation) from None


def check_key(key: str) -> str:
    """An idempotency key as given: 1-200 printable characters."""
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise IdempotencyKeyInvalidError(
            f"idempotencyKey must be 1-{MAX_KEY_LENGTH} printable characters")
    return key
