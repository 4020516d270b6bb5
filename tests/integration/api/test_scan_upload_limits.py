"""A scan upload is checked as it streams in: a batch past the read limit, a gzip body that
inflates like a bomb, or data after the gzip stream is refused naming what and where, and
nothing is stored (issue 12, finding 8)."""

from __future__ import annotations

import dataclasses
import gzip
import json
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.dependencies import Services
from domain.inventory.errors import ScanNotFoundError
from domain.inventory.scan import InventoryScan
from tests.integration.conftest import token_for

pytestmark = [pytest.mark.postgres, pytest.mark.nats]
READ = {"t": 0.5, "epc": "E2801160600002", "phase": 1.25, "rssi": -55.0, "freq": 902750000.0,
        "ax": 0.1, "ay": -0.2, "az": 0.3}


@pytest.fixture
def robot(http: TestClient, admin_headers: dict[str, str], unique_slug: str) -> str:
    """A robot's token of a new library."""
    http.post("/admin/tenants", json={"slug": unique_slug, "name": "Limits Library"},
              headers=admin_headers)
    client = http.post(f"/admin/tenants/{unique_slug}/clients", headers=admin_headers, json={
        "name": "robot", "scopes": ["inventory:upload"]}).json()
    return token_for(http, client["client_id"], client["client_secret"])


def _batch(batch_id: str, reads: int) -> bytes:
    header = {"type": "header", "batch_id": batch_id, "robot": "r1", "shelf": "B-02",
              "layer": 1}
    lines = [json.dumps(header)]
    lines += [json.dumps({**READ, "t": round(0.01 * n, 2)}) for n in range(reads)]
    return ("\n".join(lines) + "\n").encode()


def _upload(http: TestClient, token: str, body: bytes, gzipped: bool = True) -> Any:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"}
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    return http.post("/robots/scans", content=body, headers=headers)


def _stored(services: Services, slug: str, batch_id: str) -> bool:
    """Whether the library recorded a scan of this batch (from its own events)."""
    try:
        services.consortium.scope(slug).inventory.get(InventoryScan.create_id(batch_id))
    except ScanNotFoundError:
        return False
    return True


def test_a_batch_over_the_read_limit_is_refused_naming_the_limit_and_line(
        http: TestClient, services: Services, robot: str, unique_slug: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services, "settings",
                        dataclasses.replace(services.settings, max_scan_reads=5))
    assert _upload(http, robot, gzip.compress(_batch(f"{unique_slug}-5", 5))
                   ).status_code == 202
    refused = _upload(http, robot, gzip.compress(_batch(f"{unique_slug}-6", 6)))
    assert refused.status_code == 413
    body = refused.json()
    assert (body["code"], body["limit"], body["max"], body["line"]) == (
        "TOO_LARGE", "COMMONSHELF_MAX_SCAN_READS", 5, 7)  # line 1 is the header
    assert "line 7" in body["detail"]
    assert _stored(services, unique_slug, f"{unique_slug}-5")
    assert not _stored(services, unique_slug, f"{unique_slug}-6")


def test_data_after_the_gzip_stream_is_refused(http: TestClient, services: Services,
                                               robot: str, unique_slug: str) -> None:
    body = gzip.compress(_batch(f"{unique_slug}-t", 3)) + b"PK\x03\x04 not gzip"
    refused = _upload(http, robot, body)
    assert refused.status_code == 422
    assert (refused.json()["code"], refused.json()["field"]) == ("INVALID_SCAN", "body")
    assert "trailing data after the end of the gzip stream" in refused.json()["detail"]
    assert not _stored(services, unique_slug, f"{unique_slug}-t")


def test_a_second_gzip_member_is_part_of_the_batch(http: TestClient, services: Services,
                                                   robot: str, unique_slug: str) -> None:
    whole = _batch(f"{unique_slug}-m", 4)
    cut = whole.index(b"\n", len(whole) // 2) + 1
    answer = _upload(http, robot, gzip.compress(whole[:cut]) + gzip.compress(whole[cut:]))
    assert answer.status_code == 202, answer.text
    scan = services.consortium.scope(unique_slug).inventory.get(uuid.UUID(
        answer.json()["scan_id"]))
    assert (scan.reads, scan.tags) == (4, 1)


def test_a_gzip_bomb_of_valid_reads_is_refused_as_it_inflates(
        http: TestClient, services: Services, robot: str, unique_slug: str) -> None:
    line = json.dumps(READ).encode() + b"\n"
    header = _batch(f"{unique_slug}-b", 0)
    bomb = gzip.compress(header + line * (1_900_000 // len(line)), 9)  # under the byte limit
    assert len(bomb) < 20_000
    refused = _upload(http, robot, bomb)
    assert refused.status_code == 413, refused.text
    assert refused.json()["limit"] == "the expansion limit"
    assert "inflates more than 100 times" in refused.json()["detail"]
    assert not _stored(services, unique_slug, f"{unique_slug}-b")


def test_a_truncated_gzip_body_is_refused(http: TestClient, robot: str,
                                          unique_slug: str) -> None:
    body = gzip.compress(_batch(f"{unique_slug}-c", 50))
    refused = _upload(http, robot, body[: len(body) // 2])
    assert refused.status_code == 400
    assert "ends early" in refused.json()["detail"]


def test_an_encoding_other_than_gzip_is_unsupported(http: TestClient, robot: str,
                                                    unique_slug: str) -> None:
    refused = http.post("/robots/scans", content=_batch(f"{unique_slug}-e", 2), headers={
        "Authorization": f"Bearer {robot}", "Content-Encoding": "br",
        "Content-Type": "application/x-ndjson"})
    assert refused.status_code == 415
    assert "'br'" in refused.json()["detail"]
