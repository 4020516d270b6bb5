"""A robot's scan of one shelf: uploaded, localized (every tag's place) or failed."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.inventory.errors import ScanStateError

_NAMESPACE = uuid5(NAMESPACE_URL, "commonshelf:inventory-scan")
ACCEPTED, LOCALIZING, DONE, FAILED = "accepted", "localizing", "done", "failed"


class InventoryScan(Aggregate):
    """One batch a robot uploaded; its id follows from the batch id (uploads are
    idempotent)."""

    class Uploaded(Aggregate.Created):
        batch_id: str
        robot: str
        shelf: str
        layer: int
        blob: str  # the stored batch's content address
        reads: int
        tags: int
        uploaded_at: datetime

    class LocalizationStarted(Aggregate.Event):
        worker: str
        started_at: datetime

    class Localized(Aggregate.Event):
        tags: list[dict[str, Any]]  # epc, x, y, reads, confidence, localized
        engine: str
        seconds: float
        localized_at: datetime

    class Failed(Aggregate.Event):
        reason: str
        failed_at: datetime

    @staticmethod
    def create_id(batch_id: str) -> UUID:
        """The same batch id names the same scan."""
        return uuid5(_NAMESPACE, batch_id)

    @event(Uploaded)
    def __init__(self, *, batch_id: str, robot: str, shelf: str, layer: int, blob: str,
                 reads: int, tags: int, uploaded_at: datetime) -> None:
        self.batch_id, self.robot, self.shelf, self.layer = batch_id, robot, shelf, layer
        self.blob, self.reads, self.tags = blob, reads, tags
        self.uploaded_at = uploaded_at
        self.status = ACCEPTED
        self.located: list[dict[str, Any]] = []
        self.reason: str | None = None

    def start(self, worker: str, at: datetime) -> None:
        """A worker took the job (again, after a worker died)."""
        if self.status in (DONE, FAILED):
            raise ScanStateError(f"scan {self.id} is already {self.status}")
        self._started(worker, at)

    @event(LocalizationStarted)
    def _started(self, worker: str, started_at: datetime) -> None:
        self.status = LOCALIZING

    def localize(self, tags: list[dict[str, Any]], engine: str, seconds: float,
                 at: datetime) -> None:
        """Records where every tag was found."""
        if self.status in (DONE, FAILED):
            raise ScanStateError(f"scan {self.id} is already {self.status}")
        self._localized(tags, engine, seconds, at)

    @event(Localized)
    def _localized(self, tags: list[dict[str, Any]], engine: str, seconds: float,
                   localized_at: datetime) -> None:
        self.status = DONE
        self.located = tags

    def fail(self, reason: str, at: datetime) -> None:
        """The batch could not be localized (the reason says why)."""
        if self.status == DONE:
            raise ScanStateError(f"scan {self.id} is already done")
        self._failed(reason, at)

    @event(Failed)
    def _failed(self, reason: str, failed_at: datetime) -> None:
        self.status = FAILED
        self.reason = reason
