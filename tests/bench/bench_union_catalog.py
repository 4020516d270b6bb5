"""The union catalog at scale: clustering apply rate, rebuild time, lag and search latency.

Run: .venv/bin/python tests/bench/bench_union_catalog.py [--records N] [--tenants T]
     [--lag-seconds S] [--live-events E]      (DATABASE_URL/NATS_URL or embedded)

N member records (default 20,000; the issue's target is 1,000,000) over T tenants (20),
generated from real MARC templates (the labelled set's real records: pymarc's samples,
FOLIO mod-reservoir and its Gold Rush fixtures): each title is a template with its own
title word, ISBN and year; about 40% of titles are held by 2-5 members, their copies
varied the way union catalogs see them (ISBN-10 for 13, no identifiers, title case and
punctuation, subtitle dropped), some with an e-book twin or another edition (which must
stay apart); a tenth of the titles are Chinese (traditional), Japanese or Vietnamese.
Every record has one copy (Item.Added). The events are written to the tenants' event
stores by the eventsourcing recorder, then:

1. rebuild: `commonshelf projections rebuild union_catalog`'s code replays every store into
   a new generation (pages of 2,000 events per log): its time and events/s;
2. live apply: the same events, interleaved across tenants, applied as the follower does
   (batches of 256, one transaction each) into a fresh generation: events/s;
3. search: 30 queries (English, Chinese simplified for traditional, Japanese without
   spaces, Vietnamese without diacritics, ISBN, filtered) through the view, p50/p95, with
   facets too, beside a primary-key SELECT on the entries table in the same run;
4. lag: the relay and a projections worker running as their own processes, new records
   written at 500 events/s for S seconds: created -> applied in the union catalog, p50/p99.

Targets on the 2-core machine: apply >= 5,000 events/s, rebuild of 1 M records <= 10 min,
lag p99 < 1 s, search p95 < 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import secrets
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from bench_catalog_import import start_pipeline  # tests/bench, on the path as a script
from eventsourcing.persistence import StoredEvent
from psycopg import sql
from servers import bench_servers

sys.path.insert(0, str(Path(__file__).parents[1] / "unit" / "union_catalog"))
from labelled_set import labelled_set  # the real records the matcher is tested on

from domain.catalog.item import Item, ItemDetails, Location
from domain.catalog.record import Record
from domain.shared.description import isbn_forms
from infra.database import Database
from infra.eventstore import SchemaDatastore, TenantEventsRecorder
from infra.nats import connect
from projections.decoding import Decoder
from projections.framework import Delivery
from projections.postgres import active_generation, create_tracking
from projections.rebuild import rebuild
from projections.union_catalog.postgres import UnionCatalogTables
from projections.union_catalog.query import Filters
from projections.union_catalog.view import UnionCatalogView
from tenants.consortium import Consortium, log_name, tenant_schema
from tenants.directory.union_catalog import MembersUnionCatalog

NOW = datetime(2026, 11, 30, tzinfo=UTC)
SYLLABLES = ["ka", "lo", "mi", "ne", "su", "ta", "ri", "po", "de", "va", "zu", "ge", "fi",
             "ho", "ju", "be"]
HAN = "天地玄黃宇宙洪荒日月盈昃辰宿列張寒來暑往秋收冬藏閏餘成歲律呂調陽雲騰致雨露結為霜"
KANA = "あいうえおかきくけこさしすせそたちつてとなにぬねの"
CJK_TITLES = ("紅樓夢", "阿Q正傳", "西遊記", "三國演義")
JAPANESE_TITLES = ("日本の 茶書", "源氏物語", "枕草子")
VIETNAMESE_TITLES = ("Thư viện học", "Lịch sử Việt Nam", "Văn học dân gian")
ON_SHELF_BATCH = 256
LIVE_BATCH = 256


def word(n: int) -> str:
    """A made-up word, its own for each title number."""
    out = ""
    for _ in range(4):
        out += SYLLABLES[n % 16]
        n //= 16
    return out + SYLLABLES[n % 16]


def isbn13_of(n: int) -> str:
    """A valid ISBN-13 of the 979 range, its own for each number."""
    core = f"9798{n:08d}"
    check = (10 - sum((3 if i % 2 else 1) * int(c) for i, c in enumerate(core)) % 10) % 10
    return core + str(check)


def isbn10_of(n: int) -> str:
    """A valid ISBN-10 (the 978 range), its own for each number."""
    core = f"9{n:08d}"
    check = (11 - sum((10 - i) * int(c) for i, c in enumerate(core)) % 11) % 11
    return core + ("X" if check == 10 else str(check))


def templates() -> list[dict[str, Any]]:
    """One description of each real edition of the labelled set (printed books only: the
    generated copies vary what a book's copies vary)."""
    seen: set[str] = set()
    out = []
    for labelled in labelled_set():
        d = labelled.description
        if labelled.category is None and labelled.truth not in seen and d.get("title") and (
                d.get("record_type") in (None, "a")):
            seen.add(labelled.truth)
            out.append(d)
    return out


def _title(n: int, base: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """Title n: the template with its own title, ISBN and year (some in other scripts)."""
    # Titles of one template differ in their title word, year and extent, as different
    # books by one author and publisher do.
    d = {**base, "isbns": [isbn10_of(n)] if n % 2 else [isbn13_of(n)], "year": str(
        1950 + n % 70), "extent": f"{120 + (n * 37) % 600} pages", "cancelled_isbns": [],
        "system_numbers": [], "lccn": None,
        "publication_years": [], "fixed_dates": {}, "links": [], "isbn_qualifiers": [],
        "edition": None, "form_of_item": None, "title_parts": [], "part_number": None,
        "part_name": None, "host": None, "series_numbering": [], "record_status": None}
    kind = n % 30
    if kind == 0:
        han = "".join(HAN[(n // 7 ** i) % len(HAN)] for i in range(3))
        d.update(title=f"Hong lou meng {word(n)}", alt_titles=[
            f"{CJK_TITLES[n % len(CJK_TITLES)]}{han}"], languages=["chi"])
    elif kind == 1:
        kana = "".join(KANA[(n // 5 ** i) % len(KANA)] for i in range(3))
        d.update(title=f"Nihon no chasho {word(n)}", alt_titles=[
            f"{JAPANESE_TITLES[n % len(JAPANESE_TITLES)]} {kana}"], languages=["jpn"])
    elif kind == 2:
        d.update(title=f"{VIETNAMESE_TITLES[n % len(VIETNAMESE_TITLES)]} {word(n)}",
                 alt_titles=[], languages=["vie"])
    else:
        # A quarter of the titles start as their template does (a common start: "Python
        # programming ..."), the rest differ from the second word on.
        words = str(base.get("title") or "Untitled").split()
        title = " ".join([*words, word(n)] if n % 4 == 3 else [words[0], word(n), *words[1:]])
        d.update(title=title, alt_titles=[])
    if rng.random() < 0.3:
        d["subjects"] = [*(base.get("subjects") or []), "History"]
    return d


def _copy(d: dict[str, Any], n: int, variant: int) -> dict[str, Any]:
    """Another member's record of the same edition, varied."""
    if variant == 1:
        return {**d, "isbns": [f for i in d["isbns"] for f in isbn_forms(i)][-1:]}
    if variant == 2:
        return {**d, "isbns": [], "title": str(d["title"]).upper()}
    if variant == 3:
        return {**d, "subtitle": None, "title": str(d["title"]) + "."}
    return dict(d)


def generate(n_records: int, n_tenants: int, seed: int = 13) -> list[tuple[str, dict[
        str, Any]]]:
    """(tenant, description) of about n_records member records over the tenants."""
    rng = random.Random(seed)  # noqa: S311 (reproducible data, not secrets)
    bases = templates()
    tenants = [f"bench-{i:02d}" for i in range(n_tenants)]
    out: list[tuple[str, dict[str, Any]]] = []
    n = 0
    while len(out) < n_records:
        d = _title(n, bases[n % len(bases)], rng)
        holders = rng.sample(tenants, rng.randint(2, min(5, n_tenants))) if (
            rng.random() < 0.4) else [rng.choice(tenants)]
        out += [(t, _copy(d, n, i % 4)) for i, t in enumerate(holders)]
        if rng.random() < 0.03:  # an e-book of the same title: another entry
            out.append((rng.choice(tenants), {**d, "form_of_item": "o",
                                              "isbns": [isbn13_of(n + 50_000_000)]}))
        if rng.random() < 0.02:  # a later edition: another entry
            out.append((rng.choice(tenants), {**d, "edition": "2nd ed.", "year": str(
                int(d["year"]) + 5), "isbns": [isbn13_of(n + 80_000_000)]}))
        n += 1
    return out[:n_records]


def events_of(records: list[tuple[str, dict[str, Any]]]) -> dict[str, list[StoredEvent]]:
    """Each record catalogued with one copy added, as stored events, by tenant."""
    mapper = Decoder().mapper
    out: dict[str, list[StoredEvent]] = {}
    for i, (tenant, description) in enumerate(records):
        record = Record(identity=f"bench:{i}", description=description, original_format=None,
                        original=None, catalogued_at=NOW)
        item = Item.add(ItemDetails(barcode=f"B{i:09d}", record_id=record.id,
                                    location=Location("MAIN")), NOW)
        out.setdefault(tenant, []).extend(
            mapper.to_stored_event(e) for e in (*record.collect_events(),
                                                 *item.collect_events()))
    return out


def store(database: Database, stored: dict[str, list[StoredEvent]], chunk: int = 2000) -> None:
    """The events appended to their tenants' stores, a chunk at a time."""
    for tenant, events in stored.items():
        recorder = TenantEventsRecorder(SchemaDatastore(database, tenant_schema(tenant), 5))
        for i in range(0, len(events), chunk):
            recorder.insert_events(events[i:i + chunk])


def live_apply(url: str, stored: dict[str, list[StoredEvent]], limit: int) -> tuple[int, float]:
    """The events interleaved across tenants, applied in batches of 256 into a fresh
    generation as the follower would: (events, seconds)."""
    decoder = Decoder()
    queues = {t: list(enumerate(events, 1)) for t, events in stored.items()}
    arrival: list[Delivery] = []
    while len(arrival) < limit and any(queues.values()):
        for tenant, queue in queues.items():
            if queue:
                position, event = queue.pop(0)
                arrival.append(decoder.delivery(tenant, position, position - 1, event))
    projection = MembersUnionCatalog(generation=900 + secrets.randbelow(99))
    with psycopg.connect(url) as conn:
        with conn.transaction(), conn.cursor() as cur:
            projection.create_tables(cur)
        started = time.perf_counter()
        for i in range(0, len(arrival), LIVE_BATCH):
            with conn.transaction(), conn.cursor() as cur:
                projection.apply_batch(cur, [d for d in arrival[i:i + LIVE_BATCH]
                                             if projection.accepts(d)])
        elapsed = time.perf_counter() - started
        with conn.transaction(), conn.cursor() as cur:
            for table in projection.tables:
                cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(
                    sql.Identifier("projections", projection.table(table))))
    return len(arrival), elapsed


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) of the values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


@dataclass
class Asked:
    """A search of the benchmark: what it is, the query, the filters."""

    label: str
    query: str | None
    filters: Filters | None = None


def queries(records: list[tuple[str, dict[str, Any]]]) -> list[Asked]:
    """30 searches over the generated catalog."""
    rng = random.Random(5)  # noqa: S311 (reproducible data, not secrets)
    english = [d for _, d in records if (d.get("languages") or ["eng"])[0] not in (
        "chi", "jpn", "vie") and d.get("isbns")]
    asked = [Asked("english word", str(d["title"]).split()[-1]) for d in rng.sample(english, 5)]
    asked += [Asked("english words", " ".join(str(d["title"]).split()[:2]))
              for d in rng.sample(english, 3)]
    asked += [Asked("english common", "history"), Asked("english common", "the")]
    asked += [Asked("chinese simplified", q) for q in ("红楼梦", "阿Q正传", "西游记", "三国演义")]
    asked += [Asked("japanese", q) for q in ("日本の茶書", "源氏物語", "枕草子")]
    asked += [Asked("vietnamese", q) for q in ("thu vien hoc", "lich su viet nam",
                                               "văn học dân gian")]
    asked += [Asked("isbn", str(d["isbns"][0])) for d in rng.sample(english, 5)]
    tenant = records[0][0]
    asked += [Asked("filtered", "history", Filters(language="eng")),
              Asked("filtered", None, Filters(year_from=1990, year_to=1995)),
              Asked("filtered", "history", Filters(holding_library=tenant)),
              Asked("filtered", "history", Filters(available_now=True)),
              Asked("filtered", "thu vien", Filters(language="vie", year_from=1960))]
    return asked[:30]


def measure_search(url: str, asked: list[Asked]) -> None:
    """Search and facets latency, beside a primary-key SELECT on the entries table."""
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        view = UnionCatalogView.serving(cur)
        tables = UnionCatalogTables(view.generation)
        ids = [r[0] for r in cur.execute(sql.SQL(
            "SELECT id FROM {} TABLESAMPLE SYSTEM (1) LIMIT 30").format(
                tables.t["entries"])).fetchall()] or ["none"]
        for a in asked:  # warm the caches once, as a running service has them
            view.search(a.query, 20, 0, a.filters)
        searches, facets, keys, found = [], [], [], 0
        for a in asked:
            started = time.perf_counter()
            page = view.search(a.query, 20, 0, a.filters)
            searches.append(time.perf_counter() - started)
            found += bool(page.entries)
            started = time.perf_counter()
            view.facets(a.query, a.filters)
            facets.append(time.perf_counter() - started)
        for entry_id in ids * (30 // len(ids) + 1):
            started = time.perf_counter()
            tables.by_key(cur, "entries", entry_id)
            keys.append(time.perf_counter() - started)
    print(f"{'search over ' + str(len(asked)) + ' queries (ms)':<44}{'p50':>8}{'p95':>8}")
    for label, values in (("search (page of 20, with entries)", searches),
                          ("facets (counts over all found)", facets),
                          ("primary-key SELECT on entries (baseline)", keys)):
        print(f"  {label:<42}{percentile(values, 50) * 1000:>8.2f}"
              f"{percentile(values, 95) * 1000:>8.2f}")
    print(f"  ({found} of {len(asked)} queries found entries)")


def applied(url: str, name: str) -> dict[str, int]:
    """A read model's applied position per log, at its serving generation."""
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        return applied_on(cur, name)


def applied_on(cur: psycopg.Cursor[Any], name: str) -> dict[str, int]:
    """A read model's applied position per log, on an open connection."""
    generation = active_generation(cur, name)
    return {r[0]: int(r[1]) for r in cur.execute(
        "SELECT tenant, position FROM projections.tracking WHERE projection = %s "
        "AND generation = %s", (name, generation)).fetchall()}


def heads(url: str, tenants: list[str]) -> dict[str, int]:
    """Each tenant log's last position."""
    with psycopg.connect(url) as conn:
        return {t: int(conn.execute(sql.SQL(
            "SELECT coalesce(max(notification_id), 0) FROM {}").format(
                sql.Identifier(tenant_schema(t), "events"))).fetchone()[0])  # type: ignore[index]
                for t in tenants}


def wait_until(check: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Polls until check() holds."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"{what} did not happen within {timeout_s:.0f} s")
        time.sleep(0.05)


def measure_lag(url: str, nats_url: str, database: Database, tenants: list[str],
                seconds: float, rate: float, first_number: int) -> None:
    """Records written at `rate` events/s: created -> applied, p50/p99, in the union catalog
    and (the baseline, its own worker process) in the local catalog."""
    prefix = f"benchuc{secrets.token_hex(3)}"
    pipeline = start_pipeline(url, nats_url, prefix, "union_catalog")
    pipeline += start_pipeline(url, nats_url, prefix, "local_catalog", relay=False)
    names = ("union_catalog", "local_catalog")
    try:
        targets = heads(url, tenants)
        print(f"lag: waiting for the workers to pass the {sum(targets.values()):,} stored "
              "events ...", flush=True)
        wait_until(lambda: all(applied(url, name).get(t, 0) >= p for name in names
                               for t, p in targets.items()), 1800, "the workers catching up")
        mapper = Decoder().mapper
        recorders = {t: TenantEventsRecorder(SchemaDatastore(database, tenant_schema(t), 5))
                     for t in tenants}
        created: dict[tuple[str, int], float] = {}
        seen: dict[str, dict[tuple[str, int], float]] = {name: {} for name in names}
        done = threading.Event()

        def poll() -> None:
            with psycopg.connect(url, autocommit=True) as conn, conn.cursor() as cur:
                while not done.is_set() or any(len(s) < len(created) for s in seen.values()):
                    now = time.perf_counter()
                    for name in names:
                        positions = applied_on(cur, name)
                        for key in list(created):
                            if key not in seen[name] and positions.get(key[0], 0) >= key[1]:
                                seen[name][key] = now
                    time.sleep(0.002)

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        rng = random.Random(7)  # noqa: S311 (reproducible data, not secrets)
        bases = templates()
        started = time.perf_counter()
        count = int(seconds * rate)
        for i in range(count):
            due = started + i / rate
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            tenant = tenants[i % len(tenants)]
            n = first_number + i
            record = Record(identity=f"lag:{n}", description=_title(
                n, bases[n % len(bases)], rng), original_format=None, original=None,
                catalogued_at=NOW)
            [event] = record.collect_events()
            at = time.perf_counter()
            [position] = recorders[tenant].insert_events([mapper.to_stored_event(event)]) or [0]
            created[(tenant, position)] = at
        done.set()
        poller.join(timeout=120)
        for name in names:
            lags = [seen[name][k] - created[k] for k in created if k in seen[name]]
            print(f"lag in the {name} at {rate:,.0f} events/s for {seconds:.0f} s "
                  f"({len(lags)} of {count} seen): p50 {percentile(lags, 50) * 1000:.0f} ms, "
                  f"p99 {percentile(lags, 99) * 1000:.0f} ms"
                  + (" (target p99 < 1,000 ms)" if name == "union_catalog" else
                     " (baseline: the same path to another read model)"))
    finally:
        for process in pipeline:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
        asyncio.run(_delete_stream(nats_url, prefix.upper() + "_EVENTS"))


async def _delete_stream(nats_url: str, name: str) -> None:
    nc = await connect(nats_url)
    try:
        await nc.jetstream().delete_stream(name)
    finally:
        await nc.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--tenants", type=int, default=20)
    parser.add_argument("--lag-seconds", type=float, default=10.0)
    parser.add_argument("--lag-rate", type=float, default=500.0)
    parser.add_argument("--live-events", type=int, default=40_000,
                        help="how many events the live apply measures (interleaved)")
    args = parser.parse_args()
    with bench_servers() as (url, nats_url):
        database = Database(url, 4, name="cs-bench-union")
        consortium = Consortium(database)
        tenants = [f"bench-{i:02d}" for i in range(args.tenants)]
        for tenant in tenants:
            consortium.register_tenant(tenant, f"Bench library {tenant[-2:]}", None)
        with psycopg.connect(url) as conn, conn.cursor() as cur:
            create_tracking(cur)
        print(f"generating {args.records:,} records over {args.tenants} tenants ...",
              flush=True)
        records = generate(args.records, args.tenants)
        stored = events_of(records)
        total = sum(len(e) for e in stored.values())
        started = time.perf_counter()
        store(database, stored)
        print(f"stored {total:,} events ({len(records):,} records, one copy each) in "
              f"{time.perf_counter() - started:.1f} s", flush=True)

        started = time.perf_counter()
        _, replayed = rebuild(MembersUnionCatalog, url, log_name)
        took = time.perf_counter() - started
        with psycopg.connect(url, autocommit=True) as conn, conn.cursor() as cur:
            cur.execute("ANALYZE")  # what autovacuum does for a running service
            tables = UnionCatalogTables(active_generation(cur, "union_catalog"))
            entries = cur.execute(sql.SQL("SELECT count(*) FROM {}").format(
                tables.t["entries"])).fetchone()
        print(f"rebuild: {replayed:,} events in {took:.1f} s = {replayed / took:,.0f} "
              f"events/s ({len(records) / took:,.0f} records/s); {entries[0] if entries else 0:,}"
              f" entries (1 M records at this rate: {1e6 / (len(records) / took) / 60:.1f} "
              "min; target <= 10 min)", flush=True)

        events, elapsed = live_apply(url, stored, args.live_events)
        print(f"live apply (batches of {LIVE_BATCH}, interleaved): {events:,} events in "
              f"{elapsed:.1f} s = {events / elapsed:,.0f} events/s (target >= 5,000)",
              flush=True)

        measure_search(url, queries(records))
        measure_lag(url, nats_url, database, tenants, args.lag_seconds, args.lag_rate,
                    first_number=10_000_000)
        database.close()


if __name__ == "__main__":
    main()
