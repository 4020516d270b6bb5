"""NATS_URL as one server or a cluster's seeds, and the streams' replica count."""

from __future__ import annotations

import pytest

from infra.nats import NatsUrlError, seed_urls
from infra.settings import Settings, SettingsError


def test_seed_urls_splits_a_cluster_in_order() -> None:
    assert seed_urls("nats://a:4222, nats://b:4222,tls://c:4222") == [
        "nats://a:4222", "nats://b:4222", "tls://c:4222"]


def test_seed_urls_takes_one_server() -> None:
    assert seed_urls("nats://127.0.0.1:4222") == ["nats://127.0.0.1:4222"]


@pytest.mark.parametrize(("url", "named"), [
    ("", "names no server"),
    ("nats://a:4222,,nats://b:4222", "server 2 of 3 is empty"),
    ("nats://a:4222,", "server 2 of 2 is empty"),
    ("nats://a:4222,b:4222", "server 2 ('b:4222') must start with"),
    ("nats://a:4222,nats://b:42x2", "server 2 ('nats://b:42x2') is not scheme://host"),
    ("nats://:4222", "server 1 ('nats://:4222') is not scheme://host"),
])
def test_seed_urls_names_the_bad_server(url: str, named: str) -> None:
    with pytest.raises(NatsUrlError, match=named.replace("(", r"\(").replace(")", r"\)")):
        seed_urls(url)


def _env(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/x")
    monkeypatch.setenv("NATS_URL", "nats://a:4222,nats://b:4222")
    monkeypatch.delenv("COMMONSHELF_NATS_REPLICAS", raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name, value)


def test_settings_default_to_one_replica(monkeypatch: pytest.MonkeyPatch) -> None:
    _env(monkeypatch)
    settings = Settings.from_env("/tmp/cs-unit")  # noqa: S108 (never created)
    assert settings.nats_replicas == 1
    assert settings.nats_url == "nats://a:4222,nats://b:4222"


def test_settings_read_the_replica_count(monkeypatch: pytest.MonkeyPatch) -> None:
    _env(monkeypatch, COMMONSHELF_NATS_REPLICAS="3")
    assert Settings.from_env("/tmp/cs-unit").nats_replicas == 3  # noqa: S108


@pytest.mark.parametrize(("raw", "named"), [
    ("0", "COMMONSHELF_NATS_REPLICAS must be 1 to 5, got 0"),
    ("7", "COMMONSHELF_NATS_REPLICAS must be 1 to 5, got 7"),
    ("three", "COMMONSHELF_NATS_REPLICAS must be a whole number"),
])
def test_settings_refuse_a_bad_replica_count(monkeypatch: pytest.MonkeyPatch, raw: str,
                                             named: str) -> None:
    _env(monkeypatch, COMMONSHELF_NATS_REPLICAS=raw)
    with pytest.raises(SettingsError, match=named):
        Settings.from_env("/tmp/cs-unit")  # noqa: S108


def test_settings_refuse_a_malformed_nats_url(monkeypatch: pytest.MonkeyPatch) -> None:
    _env(monkeypatch, NATS_URL="nats://a:4222;nats://b:4222")
    with pytest.raises(SettingsError, match=r"NATS_URL: server 1 .* is not scheme://host"):
        Settings.from_env("/tmp/cs-unit")  # noqa: S108
