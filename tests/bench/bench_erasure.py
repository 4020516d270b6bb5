"""What an erasure costs now that it rewrites the library's key table (so the patron's
wrapped key leaves the table's pages at once), beside the plain delete it replaced.

Run: .venv/bin/python tests/bench/bench_erasure.py [N ...]   (DATABASE_URL or embedded)
Baseline, measured in the same run on the same table: the plain DELETE of the vault's row.
"""

from __future__ import annotations

import secrets
import statistics
import sys
import time
import uuid

from psycopg import sql
from servers import bench_servers  # tests/bench, on the path when run as a script

from infra.database import Database
from infra.kek import KeyEncryptionKey
from infra.vault import PatronVault

ERASURES = 20


def measure(url: str, patrons: int) -> None:
    database = Database(url, 2, name="cs-bench-erasure")
    vault = PatronVault(database, KeyEncryptionKey(secrets.token_bytes(32)))
    schema = f"t_erase_{patrons}"
    database.create_schema(schema)
    ids = [uuid.uuid4() for _ in range(patrons)]
    for i, patron_id in enumerate(ids):
        vault.create(schema, patron_id, f"B{i}")
    erase, plain = [], []
    for patron_id in ids[:ERASURES]:
        started = time.perf_counter()
        vault.destroy(schema, patron_id)
        erase.append(time.perf_counter() - started)
    table = sql.Identifier(schema, "patron_keys")
    for patron_id in ids[ERASURES:2 * ERASURES]:
        started = time.perf_counter()
        with database.connection() as conn:
            conn.execute(sql.SQL("DELETE FROM {} WHERE patron_id = %s").format(table),
                         (patron_id,))
        plain.append(time.perf_counter() - started)
    database.close()
    print(f"{patrons:>7,} patrons: erasure median {statistics.median(erase) * 1000:6.1f} ms, "
          f"max {max(erase) * 1000:6.1f} ms | baseline plain delete median "
          f"{statistics.median(plain) * 1000:5.1f} ms")


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [1_000, 10_000]
    with bench_servers() as (url, _):
        for patrons in sizes:
            measure(url, patrons)


if __name__ == "__main__":
    main()
