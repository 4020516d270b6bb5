"""A JetStream work queue: jobs published once (by message id), each taken by one worker,
handed to another when its worker dies (ack wait), kept alive while a long job runs."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any

import nats
import psycopg
from nats.aio.client import Client
from nats.js.api import AckPolicy, ConsumerConfig, RetentionPolicy, StreamConfig
from nats.js.errors import FetchTimeoutError

from infra.nats import connect, ensure_replicated, log_error

log = logging.getLogger(__name__)


class JobDone(Exception):  # noqa: N818 (a signal, not a failure)
    """A job found already done (by another worker): acked without work."""


class WorkQueue:
    """One work queue: its stream, its subject, its durable consumer."""

    def __init__(self, nats_url: str, stream: str, subject: str, durable: str,
                 ack_wait_s: float, *, replicas: int = 1) -> None:
        self.nats_url = nats_url
        self.stream = stream
        self.subject = subject
        self.durable = durable
        self.ack_wait_s = ack_wait_s
        self.replicas = replicas  # of the queue's stream (3 on a 3-node cluster)

    async def ensure_stream(self, js: Any) -> None:
        """The queue's stream (work-queue retention: an acked job is gone), with the
        configured replicas."""
        await ensure_replicated(js, StreamConfig(name=self.stream, subjects=[self.subject],
                                                 retention=RetentionPolicy.WORK_QUEUE,
                                                 num_replicas=self.replicas))

    async def publish(self, client: Client | None, job: dict[str, Any], job_id: str) -> None:
        """Queues a job once: the same id again within the stream's window is dropped."""
        if client is None or not client.is_connected:
            raise ConnectionError("NATS is not reachable")
        js = client.jetstream()
        await self.ensure_stream(js)
        await js.publish(self.subject, json.dumps(job).encode(),
                         headers={"Nats-Msg-Id": job_id})

    async def serve(self, stop: asyncio.Event, work: Callable[[dict[str, Any]], None],
                    failed: Callable[[dict[str, Any]], None]) -> None:
        """Takes jobs one at a time until `stop` is set, reconnecting through outages. A job
        whose work raises unexpectedly is reported through `failed` and acked (a bug must not
        stop the queue); one cut by an outage is handed back."""
        while not stop.is_set():
            try:
                await self._consume(stop, work, failed)
            except (OSError, psycopg.OperationalError, nats.errors.Error) as error:
                log.warning("work queue %s interrupted (%s); retrying", self.stream, error)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 1)

    async def _consume(self, stop: asyncio.Event, work: Callable[[dict[str, Any]], None],
                       failed: Callable[[dict[str, Any]], None]) -> None:
        nc = await connect(self.nats_url, connect_timeout=2, allow_reconnect=False,
                           error_cb=log_error)
        try:
            js = nc.jetstream()
            await self.ensure_stream(js)
            sub = await js.pull_subscribe(
                self.subject, durable=self.durable, stream=self.stream,
                config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT,
                                      ack_wait=self.ack_wait_s))
            while not stop.is_set():
                try:
                    [msg] = await sub.fetch(1, timeout=1)
                except (FetchTimeoutError, TimeoutError):
                    continue
                job = json.loads(msg.data)
                working = asyncio.create_task(asyncio.to_thread(work, job))
                while not working.done():  # tell JetStream the job is alive
                    await asyncio.wait({working}, timeout=self.ack_wait_s / 3)
                    if not working.done():
                        await msg.in_progress()
                try:
                    working.result()
                except (psycopg.OperationalError, OSError):
                    await msg.nak(delay=5)
                    raise
                except JobDone:
                    log.info("job %s was finished by another worker", job)
                except Exception:
                    log.exception("job %s failed", job)
                    await asyncio.to_thread(failed, job)
                await msg.ack()
        finally:
            await nc.close()
