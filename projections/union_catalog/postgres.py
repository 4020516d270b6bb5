"""The union catalog read model's tables and SQL.

- records: every member record with the description it is matched by (its own, or the
  shared record's it shows) and its entry; filed: the match keys each record is filed
  under (a B-tree: a batch's candidates in one index lookup per key); edges: the accepted
  matches between records (both ways), so a change compares only the records it touches;
- entries: one per edition, with what it shows and its search text: `heading` (titles and
  authors) and `body` (the rest), each with a pg_trgm GIN index, and `grams` (whole words
  and CJK character pairs, GIN) for terms too short for trigrams;
- shared: the office's shared records (what a linked record shows);
- items and lendings: each member's copies and what circulation says of them (no patron);
- members: each member's name and status (a suspended or archived member's rows stay, out
  of sight, so reactivating it brings them back without a rebuild);
- links: the office's decisions, a pair of records at a time (must or cannot share an
  entry); a later decision on a pair replaces the earlier one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from psycopg import Cursor, sql
from psycopg.types.json import Jsonb

from projections.framework import table_name
from projections.postgres import SCHEMA
from projections.union_catalog.query import Query

NAME = "union_catalog"
TABLES = ("records", "filed", "entries", "edges", "shared", "items", "lendings", "members",
          "links")
ENTRY_COLUMNS = ("id", "members", "title", "alt_titles", "authors", "isbns", "issns", "year",
                 "language", "format", "edition", "joins")
ACTIVE = "active"
_ON_SHELF = "available"


@dataclass
class Neighbourhood:
    """What surrounds some records: their accepted matches (record, other, score, reasons),
    the office's decisions about them (a, b, must), their entries and those entries'
    members."""

    edges: list[tuple[str, str, float, list[str]]] = field(default_factory=list)
    links: set[tuple[str, str, bool]] = field(default_factory=set)
    entries: set[str] = field(default_factory=set)
    mates: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class StoredRecord:
    """A member record as the read model holds it."""

    key: str
    tenant: str
    record_id: UUID
    own: dict[str, Any]
    shared_id: UUID | None
    description: dict[str, Any]
    entry_id: str | None


_LONGEST_KEY = 400  # a B-tree entry must stay well under PostgreSQL's ~2,700 bytes


def bounded_key(key: str) -> str:
    """A match key as the `filed` table holds it: a long one (a title of thousands of
    characters) cut, with a digest of the whole so that only the same key meets it."""
    if len(key) <= _LONGEST_KEY:
        return key
    return key[:_LONGEST_KEY] + "#" + hashlib.sha256(key.encode()).hexdigest()[:32]


def _like(term: str) -> str:
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class UnionCatalogTables:
    """The union catalog's tables of one generation."""

    def __init__(self, generation: int) -> None:
        self.table_names = {base: table_name(NAME, generation, base) for base in TABLES}
        self.t = {base: sql.Identifier(SCHEMA, name) for base, name in self.table_names.items()}

    def _index(self, base: str, suffix: str) -> sql.Identifier:
        return sql.Identifier(self.table_names[base] + "_" + suffix)

    def _sql(self, text: str) -> sql.Composed:
        """SQL with {records}, {entries}... naming this generation's tables."""
        return sql.SQL(text).format(**self.t)

    def create(self, cur: Cursor[Any]) -> None:
        """The tables and their indexes (pg_trgm and GIN for search, B-trees elsewhere)."""
        cur.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        cur.execute(self._sql(
            "CREATE TABLE IF NOT EXISTS {records} (key text PRIMARY KEY, tenant text NOT NULL, "
            "record_id uuid NOT NULL, own jsonb, shared_id uuid, "
            "description jsonb NOT NULL, stamp text NOT NULL, entry_id text)"))
        cur.execute(self._sql(
            "CREATE TABLE IF NOT EXISTS {filed} (k text NOT NULL, record text NOT NULL, "
            "PRIMARY KEY (k, record))"))
        cur.execute(self._sql(
            "CREATE TABLE IF NOT EXISTS {entries} (id text PRIMARY KEY, members text[] NOT NULL, "
            "title text NOT NULL, alt_titles text[] NOT NULL, authors text[] NOT NULL, "
            "isbns text[] NOT NULL, issns text[] NOT NULL, year int, language text, "
            "format text NOT NULL, edition text, joins jsonb NOT NULL, heading text NOT NULL, "
            "body text NOT NULL, grams text[] NOT NULL, sort_key text NOT NULL)"))
        cur.execute(self._sql(
            "CREATE TABLE IF NOT EXISTS {edges} (a text NOT NULL, b text NOT NULL, "
            "score double precision NOT NULL, reasons text[] NOT NULL, PRIMARY KEY (a, b))"))
        cur.execute(self._sql(
            "CREATE TABLE IF NOT EXISTS {shared} (id uuid PRIMARY KEY, "
            "description jsonb NOT NULL, merged_into uuid)"))
        cur.execute(self._sql(
            "CREATE TABLE IF NOT EXISTS {items} (tenant text NOT NULL, item_id uuid NOT NULL, "
            "record_id uuid NOT NULL, withdrawn boolean NOT NULL DEFAULT false, "
            "PRIMARY KEY (tenant, item_id))"))
        cur.execute(self._sql(
            "CREATE TABLE IF NOT EXISTS {lendings} (tenant text NOT NULL, "
            "item_id uuid NOT NULL, lending_id uuid NOT NULL, status text NOT NULL, "
            "lendable boolean NOT NULL DEFAULT true, PRIMARY KEY (tenant, item_id))"))
        cur.execute(self._sql(
            "CREATE TABLE IF NOT EXISTS {members} (id uuid PRIMARY KEY, slug text NOT NULL "
            "UNIQUE, name text NOT NULL, status text NOT NULL)"))
        cur.execute(self._sql(
            "CREATE TABLE IF NOT EXISTS {links} (a text NOT NULL, b text NOT NULL, "
            "must boolean NOT NULL, PRIMARY KEY (a, b))"))
        for base, suffix, how in (
                ("filed", "record", "(record)"),
                ("records", "record", "(tenant, record_id)"),
                ("records", "entry", "(entry_id)"),
                ("records", "shared", "(shared_id)"),
                ("entries", "heading", "USING gin (heading gin_trgm_ops)"),
                ("entries", "body", "USING gin (body gin_trgm_ops)"),
                ("entries", "grams", "USING gin (grams)"),
                ("entries", "isbns", "USING gin (isbns)"),
                ("entries", "sort", "(sort_key, id)"),
                ("items", "record", "(tenant, record_id)"),
                ("lendings", "lending", "(tenant, lending_id)"),
                ("links", "b", "(b)")):
            cur.execute(sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} {}").format(
                self._index(base, suffix), self.t[base], sql.SQL(how)))

    # Records and their entries (the projection's).

    def analyze(self, cur: Cursor[Any]) -> None:
        """Fresh planner statistics of the tables a batch reads by key."""
        for base in ("records", "filed", "entries", "edges"):
            cur.execute(sql.SQL("ANALYZE {}").format(self.t[base]))

    def stored_records(self, cur: Cursor[Any], keys: Iterable[str]) -> dict[str, StoredRecord]:
        """These records as stored (those not stored are left out)."""
        chosen = sorted(set(keys))
        if not chosen:
            return {}
        rows = cur.execute(self._sql(
            "SELECT key, tenant, record_id, own, shared_id, description, entry_id "
            "FROM {records} WHERE key = ANY(%s)"), [chosen]).fetchall()
        return {r[0]: StoredRecord(r[0], r[1], r[2], dict(r[3] if r[3] is not None else r[5]),
                                   r[4], dict(r[5]), r[6]) for r in rows}

    def descriptions(self, cur: Cursor[Any], keys: Iterable[str]) -> dict[str, tuple[
            str, str]]:
        """The descriptions these records are matched by: (stamp of the write, JSON)."""
        return {k: (stamp, d) for k, stamp, d in cur.execute(self._sql(
            "SELECT key, stamp, description::text FROM {records} WHERE key = ANY(%s)"),
            [sorted(set(keys))]).fetchall()}

    def linked_to(self, cur: Cursor[Any], shared_ids: Iterable[UUID]) -> list[str]:
        """The records that show one of these shared records."""
        return [r[0] for r in cur.execute(self._sql(
            "SELECT key FROM {records} WHERE shared_id = ANY(%s)"),
            [sorted(set(shared_ids))]).fetchall()]

    def save_records(self, cur: Cursor[Any], rows: Sequence[tuple[str, str, UUID, dict[
            str, Any], UUID | None, dict[str, Any], str, list[str]]],
                     known: Iterable[str]) -> None:
        """Records (key, tenant, record id, own, shared id, description, stamp, the keys it
        is filed under), upserted (`known`: those stored before, filed under older keys)."""
        if not rows:
            return
        cur.executemany(self._sql(
            "INSERT INTO {records} (key, tenant, record_id, own, shared_id, description, stamp) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (key) DO UPDATE SET "
            "own = EXCLUDED.own, shared_id = EXCLUDED.shared_id, "
            "description = EXCLUDED.description, stamp = EXCLUDED.stamp"),
            # a record's own description is kept apart only while it shows a shared one
            [(k, t, r, Jsonb(own) if shared is not None else None, shared, Jsonb(d), stamp)
             for k, t, r, own, shared, d, stamp, _ in rows])
        refiled = sorted(set(known) & {row[0] for row in rows})
        if refiled:
            cur.execute(self._sql("DELETE FROM {filed} WHERE record = ANY(%s)"), [refiled])
        with cur.copy(self._sql("COPY {filed} (k, record) FROM STDIN")) as copy:
            for row in rows:
                for k in row[7]:
                    copy.write_row((k, row[0]))

    def filed_under(self, cur: Cursor[Any], keys: Iterable[str]) -> dict[str, tuple[
            list[str], str, str]]:
        """The records filed under any of these keys: (those of the keys they are filed
        under, stamp, JSON)."""
        out: dict[str, tuple[list[str], str, str]] = {}
        for k, key, stamp, text in cur.execute(self._sql(
                "SELECT f.k, r.key, r.stamp, r.description::text FROM {filed} f "
                "JOIN {records} r ON r.key = f.record WHERE f.k = ANY(%s)"),
                [sorted(set(keys))]).fetchall():
            out.setdefault(key, ([], stamp, text))[0].append(k)
        return out

    def edges_of(self, cur: Cursor[Any], keys: Iterable[str]) -> list[tuple[
            str, str, float, list[str]]]:
        """The accepted matches of these records: (record, other, score, reasons)."""
        return [(r[0], r[1], float(r[2]), list(r[3])) for r in cur.execute(self._sql(
            "SELECT a, b, score, reasons FROM {edges} WHERE a = ANY(%s)"),
            [sorted(set(keys))]).fetchall()]

    def replace_edges(self, cur: Cursor[Any], keys: Iterable[str],
                      edges: Sequence[tuple[str, str, float, list[str]]]) -> None:
        """New accepted matches (stored both ways), in place of those of these records."""
        chosen = sorted(set(keys))
        if chosen:
            cur.execute(self._sql("DELETE FROM {edges} WHERE a = ANY(%s) OR b = ANY(%s)"),
                        [chosen, chosen])
        if not edges:
            return
        both = {(a, b): (s, r) for a, b, s, r in edges} | {
            (b, a): (s, r) for a, b, s, r in edges}
        with cur.copy(self._sql("COPY {edges} (a, b, score, reasons) FROM STDIN")) as copy:
            for (a, b), (score, reasons) in sorted(both.items()):
                copy.write_row([a, b, score, reasons])

    def neighbourhood(self, cur: Cursor[Any], keys: Iterable[str]) -> Neighbourhood:
        """In one query: these records' accepted matches, the office's decisions about them,
        and the entries they are in now with all their members."""
        chosen = sorted(set(keys))
        found = Neighbourhood()
        for kind, a, b, score, reasons, must in cur.execute(self._sql(
                "SELECT 'edge', a, b, score, reasons, NULL::boolean FROM {edges} "
                "WHERE a = ANY(%(k)s) "
                "UNION ALL SELECT 'link', a, b, NULL, NULL, must FROM {links} "
                "WHERE a = ANY(%(k)s) OR b = ANY(%(k)s) "
                "UNION ALL SELECT 'mate', e.id, m, NULL, NULL, NULL FROM {entries} e, "
                "unnest(e.members) m WHERE e.id IN "
                "(SELECT entry_id FROM {records} WHERE key = ANY(%(k)s))"),
                {"k": chosen}).fetchall():
            if kind == "edge":
                found.edges.append((a, b, float(score), list(reasons)))
            elif kind == "link":
                found.links.add((a, b, bool(must)))
            else:
                found.entries.add(a)
                found.mates.add(b)
        return found

    def exists(self, cur: Cursor[Any]) -> bool:
        """Whether this generation's tables were made."""
        row = cur.execute("SELECT to_regclass(%s) IS NOT NULL", [
            f"{SCHEMA}.{self.table_names['records']}"]).fetchone()
        return bool(row and row[0])

    def records_of_tenant(self, cur: Cursor[Any], tenant: str) -> list[str]:
        """The keys of a member's records."""
        return [str(r[0]) for r in cur.execute(self._sql(
            "SELECT key FROM {records} WHERE tenant = %s ORDER BY key"), [tenant]).fetchall()]

    def forget_records(self, cur: Cursor[Any], tenant: str, keys: list[str],
                       entries: Iterable[str]) -> int:
        """A member's records, copies and loans gone with their keys, matches, the office's
        decisions about them and these entries; how many rows went."""
        gone = 0
        for statement, args in (
                ("DELETE FROM {filed} WHERE record = ANY(%s)", [keys]),
                ("DELETE FROM {edges} WHERE a = ANY(%s) OR b = ANY(%s)", [keys, keys]),
                ("DELETE FROM {links} WHERE a = ANY(%s) OR b = ANY(%s)", [keys, keys]),
                ("DELETE FROM {entries} WHERE id = ANY(%s)", [sorted(set(entries))]),
                ("DELETE FROM {records} WHERE tenant = %s", [tenant]),
                ("DELETE FROM {items} WHERE tenant = %s", [tenant]),
                ("DELETE FROM {lendings} WHERE tenant = %s", [tenant])):
            gone += cur.execute(self._sql(statement), args).rowcount
        return gone

    def decide(self, cur: Cursor[Any], pairs: Iterable[tuple[str, str, bool]]) -> None:
        """The office's decisions about pairs (a < b): each replaces the one before."""
        cur.executemany(self._sql(
            "INSERT INTO {links} (a, b, must) VALUES (%s, %s, %s) "
            "ON CONFLICT (a, b) DO UPDATE SET must = EXCLUDED.must"), list(pairs))

    def replace_entries(self, cur: Cursor[Any], gone: Iterable[str],
                        entries: list[dict[str, Any]]) -> None:
        """Entries as computed now; the entries they replace go, and the records point at
        their new entries."""
        if gone:
            cur.execute(self._sql("DELETE FROM {entries} WHERE id = ANY(%s)"),
                        [sorted(set(gone))])
        if not entries:
            return
        columns = ("id", "members", "title", "alt_titles", "authors", "isbns", "issns", "year",
                   "language", "format", "edition", "joins", "heading", "body", "grams",
                   "sort_key")
        with cur.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(
                self.t["entries"], sql.SQL(", ").join(map(sql.Identifier, columns)))) as copy:
            for entry in entries:
                copy.write_row([Jsonb(entry[c]) if c == "joins" else entry[c] for c in columns])
        cur.execute(self._sql(
            "UPDATE {records} r SET entry_id = m.entry_id FROM unnest(%s::text[], %s::text[]) "
            "AS m(key, entry_id) WHERE r.key = m.key AND r.entry_id IS DISTINCT FROM m.entry_id"),
            [[k for e in entries for k in e["members"]],
             [e["id"] for e in entries for _ in e["members"]]])

    # Shared records.

    def save_shared(self, cur: Cursor[Any], shared_id: UUID, description: dict[str, Any] | None,
                    merged_into: UUID | None) -> None:
        """A shared record's description (None: unchanged) and what it was merged into."""
        cur.execute(self._sql(
            "INSERT INTO {shared} (id, description, merged_into) VALUES (%s, %s, %s) "
            "ON CONFLICT (id) DO UPDATE SET description = coalesce(%s, {shared}.description), "
            "merged_into = EXCLUDED.merged_into"),
            [shared_id, Jsonb(description or {}), merged_into,
             Jsonb(description) if description is not None else None])

    def shared_description(self, cur: Cursor[Any], shared_id: UUID) -> dict[str, Any] | None:
        """What a record linked to this shared record shows (a merged one: its survivor's)."""
        seen: set[UUID] = set()
        current: UUID | None = shared_id
        while current is not None and current not in seen:
            seen.add(current)
            row = cur.execute(self._sql(
                "SELECT description, merged_into FROM {shared} WHERE id = %s"),
                [current]).fetchone()
            if row is None:
                return None
            if row[1] is None:
                return dict(row[0])
            current = row[1]
        return None

    def shared_descriptions(self, cur: Cursor[Any], ids: Iterable[UUID]) -> dict[
            UUID, dict[str, Any]]:
        """What records linked to these shared records show."""
        out = {}
        for shared_id in sorted(set(ids)):
            found = self.shared_description(cur, shared_id)
            if found is not None:
                out[shared_id] = found
        return out

    def merged_away(self, cur: Cursor[Any], survivor: UUID) -> list[UUID]:
        """The shared records merged into this one, directly or not."""
        rows = cur.execute(self._sql(
            "WITH RECURSIVE m(id) AS (SELECT id FROM {shared} WHERE merged_into = %s UNION "
            "SELECT s.id FROM {shared} s JOIN m ON s.merged_into = m.id) SELECT id FROM m"),
            [survivor]).fetchall()
        return [r[0] for r in rows]

    # Items, lendings, members.

    def add_items(self, cur: Cursor[Any], rows: Sequence[tuple[str, UUID, UUID]]) -> None:
        """Copies (tenant, item id, record id)."""
        if not rows:
            return
        cur.executemany(self._sql(
            "INSERT INTO {items} (tenant, item_id, record_id) VALUES (%s, %s, %s) "
            "ON CONFLICT (tenant, item_id) DO UPDATE SET record_id = EXCLUDED.record_id"),
            list(rows))

    def withdraw_item(self, cur: Cursor[Any], tenant: str, item_id: UUID) -> None:
        """A copy withdrawn from the collection."""
        cur.execute(self._sql(
            "UPDATE {items} SET withdrawn = true WHERE tenant = %s AND item_id = %s"),
            [tenant, item_id])

    def set_lending(self, cur: Cursor[Any], tenant: str, lending_id: UUID, *,
                    item_id: UUID | None = None, status: str | None = None,
                    lendable: bool | None = None) -> None:
        """What circulation says of a copy (its lending id names it when the item id is not
        given): its status, whether the catalog lets it circulate."""
        if item_id is not None:
            cur.execute(self._sql(
                "INSERT INTO {lendings} (tenant, item_id, lending_id, status, lendable) "
                "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (tenant, item_id) DO UPDATE SET "
                "status = coalesce(%s, {lendings}.status), "
                "lendable = coalesce(%s, {lendings}.lendable)"),
                [tenant, item_id, lending_id, status or _ON_SHELF,
                 True if lendable is None else lendable, status, lendable])
            return
        cur.execute(self._sql(
            "UPDATE {lendings} SET status = coalesce(%s, status), "
            "lendable = coalesce(%s, lendable) WHERE tenant = %s AND lending_id = %s"),
            [status, lendable, tenant, lending_id])

    def save_member(self, cur: Cursor[Any], member_id: UUID, *, slug: str | None = None,
                    name: str | None = None, status: str | None = None) -> str | None:
        """A member's slug and name (when registered), name, status; its slug (None for a
        member not registered here)."""
        if slug is not None:
            cur.execute(self._sql(
                "INSERT INTO {members} (id, slug, name, status) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT (id) DO UPDATE SET slug = EXCLUDED.slug, name = EXCLUDED.name, "
                "status = EXCLUDED.status"), [member_id, slug, name or slug, status or ACTIVE])
            return slug
        row = cur.execute(self._sql(
            "UPDATE {members} SET name = coalesce(%s, name), status = coalesce(%s, status) "
            "WHERE id = %s RETURNING slug"), [name, status, member_id]).fetchone()
        return str(row[0]) if row else None

    def out_of_sight(self, cur: Cursor[Any], keys: Iterable[str]) -> set[str]:
        """Those of these records whose member is suspended or archived."""
        return {str(r[0]) for r in cur.execute(self._sql(
            "SELECT r.key FROM {records} r JOIN {members} m ON m.slug = r.tenant "
            "WHERE r.key = ANY(%s) AND m.status <> %s"), [sorted(set(keys)), ACTIVE]).fetchall()}

    def leave_entries(self, cur: Cursor[Any], keys: Iterable[str]) -> None:
        """These records in no entry (their member is out of sight)."""
        cur.execute(self._sql("UPDATE {records} SET entry_id = NULL WHERE key = ANY(%s) "
                              "AND entry_id IS NOT NULL"), [sorted(set(keys))])

    # Reads (the view's).

    def _visible(self, alias: str) -> sql.Composed:
        """The condition that a record (by its alias) belongs to a member in sight."""
        return sql.SQL("{}.tenant NOT IN (SELECT slug FROM {} WHERE status <> %s)").format(
            sql.Identifier(alias), self.t["members"])

    def entry(self, cur: Cursor[Any], entry_id: str) -> tuple[Any, ...] | None:
        """One entry's row (ENTRY_COLUMNS), or None when it has no member record in sight."""
        row: tuple[Any, ...] | None = cur.execute(sql.SQL(
            "SELECT {} FROM {} e WHERE e.id = %s AND EXISTS (SELECT 1 FROM {} r "
            "WHERE r.entry_id = e.id AND {})").format(
                _columns("e", ENTRY_COLUMNS), self.t["entries"], self.t["records"],
                self._visible("r")), [entry_id, ACTIVE]).fetchone()
        return row

    def entries(self, cur: Cursor[Any], entry_ids: Sequence[str]) -> list[tuple[Any, ...]]:
        """These entries' rows (ENTRY_COLUMNS), in the order asked, those in sight only."""
        rows = cur.execute(sql.SQL(
            "SELECT {} FROM {} e WHERE e.id = ANY(%s) AND EXISTS (SELECT 1 FROM {} r "
            "WHERE r.entry_id = e.id AND {})").format(
                _columns("e", ENTRY_COLUMNS), self.t["entries"], self.t["records"],
                self._visible("r")), [list(entry_ids), ACTIVE]).fetchall()
        found = {r[0]: tuple(r) for r in rows}
        return [found[i] for i in entry_ids if i in found]

    def entry_of_record(self, cur: Cursor[Any], tenant: str, record_id: UUID) -> str | None:
        """The entry a member record is in (None: unknown, or its member out of sight)."""
        row = cur.execute(sql.SQL(
            "SELECT r.entry_id FROM {} r WHERE r.tenant = %s AND r.record_id = %s AND {}").format(
                self.t["records"], self._visible("r")), [tenant, record_id, ACTIVE]).fetchone()
        return str(row[0]) if row and row[0] else None

    def records_of(self, cur: Cursor[Any], entry_ids: Sequence[str]) -> list[tuple[
            str, str, str, UUID]]:
        """(entry id, tenant, member name, record id) of the records in sight, by tenant."""
        return [(r[0], r[1], r[2], r[3]) for r in cur.execute(sql.SQL(
            "SELECT r.entry_id, r.tenant, coalesce(m.name, r.tenant), r.record_id FROM {} r "
            "LEFT JOIN {} m ON m.slug = r.tenant WHERE r.entry_id = ANY(%s) AND {} "
            "ORDER BY r.entry_id, r.tenant, r.record_id").format(
                self.t["records"], self.t["members"], self._visible("r")),
            [list(entry_ids), ACTIVE]).fetchall()]

    def holdings(self, cur: Cursor[Any], entry_ids: Sequence[str]) -> list[tuple[
            str, str, str, int, int]]:
        """(entry id, tenant, member name, items held, items on the shelf and lendable) per
        member in sight with a record in the entry, by tenant."""
        return [(r[0], r[1], r[2], int(r[3]), int(r[4])) for r in cur.execute(sql.SQL(
            "SELECT r.entry_id, r.tenant, coalesce(m.name, r.tenant), "
            "count(i.item_id) FILTER (WHERE NOT i.withdrawn), "
            "count(i.item_id) FILTER (WHERE NOT i.withdrawn AND coalesce(l.status, %s) = %s "
            "AND coalesce(l.lendable, true)) "
            "FROM {} r LEFT JOIN {} m ON m.slug = r.tenant "
            "LEFT JOIN {} i ON i.tenant = r.tenant AND i.record_id = r.record_id "
            "LEFT JOIN {} l ON l.tenant = i.tenant AND l.item_id = i.item_id "
            "WHERE r.entry_id = ANY(%s) AND {} GROUP BY r.entry_id, r.tenant, m.name "
            "ORDER BY r.entry_id, r.tenant").format(
                self.t["records"], self.t["members"], self.t["items"], self.t["lendings"],
                self._visible("r")),
            [_ON_SHELF, _ON_SHELF, list(entry_ids), ACTIVE]).fetchall()]


    # The search.

    def _available(self) -> sql.Composed:
        """The condition that entry `e` has a copy on the shelf and lendable now, at a
        member in sight."""
        return sql.SQL(
            "EXISTS (SELECT 1 FROM {records} ar JOIN {items} ai ON ai.tenant = ar.tenant "
            "AND ai.record_id = ar.record_id LEFT JOIN {lendings} al ON al.tenant = ai.tenant "
            "AND al.item_id = ai.item_id WHERE ar.entry_id = e.id AND NOT ai.withdrawn "
            "AND coalesce(al.status, {shelf}) = {shelf} AND coalesce(al.lendable, true) "
            "AND ar.tenant NOT IN (SELECT slug FROM {members} WHERE status <> {active}))"
        ).format(shelf=sql.Literal(_ON_SHELF), active=sql.Literal(ACTIVE), **self.t)

    def _held_by(self, tenant: str | None) -> sql.Composed:
        """The condition that entry `e` has a record of a member in sight (this one)."""
        return sql.SQL(
            "EXISTS (SELECT 1 FROM {records} hr WHERE hr.entry_id = e.id {tenant} AND "
            "hr.tenant NOT IN (SELECT slug FROM {members} WHERE status <> {active}))").format(
                tenant=sql.SQL("AND hr.tenant = {}").format(sql.Literal(tenant))
                if tenant is not None else sql.SQL(""),
                active=sql.Literal(ACTIVE), **self.t)

    def _where(self, query: Query) -> tuple[sql.Composable, list[Any]]:
        """The conditions of a search: every term found, the filters, a member in sight."""
        conditions: list[sql.Composable] = [self._held_by(query.filters.holding_library)]
        params: list[Any] = []
        if query.isbns:
            conditions.append(sql.SQL("e.isbns && %s::text[]"))
            params.append(list(query.isbns))
        for term in query.long_terms:
            conditions.append(sql.SQL("(e.heading LIKE %s OR e.body LIKE %s)"))
            params += [_like(term), _like(term)]
        if query.gram_terms:
            conditions.append(sql.SQL("e.grams @> %s::text[]"))
            params.append(list(query.gram_terms))
        f = query.filters
        for column, value in (("language", f.language), ("format", f.format)):
            if value is not None:
                conditions.append(sql.SQL("e.{} = %s").format(sql.Identifier(column)))
                params.append(value)
        if f.year_from is not None:
            conditions.append(sql.SQL("e.year >= %s"))
            params.append(f.year_from)
        if f.year_to is not None:
            conditions.append(sql.SQL("e.year <= %s"))
            params.append(f.year_to)
        if f.available_now is not None:
            available = self._available()
            conditions.append(available if f.available_now else sql.SQL("NOT {}").format(
                available))
        return sql.SQL(" AND ").join(conditions), params

    @staticmethod
    def _rank(query: Query, title: str) -> tuple[sql.Composable, list[Any]]:
        """Relevance: an exact ISBN first, then the title asked for, then terms found in
        titles and authors (2 each) above those found in the rest (1 each)."""
        parts: list[sql.Composable] = [sql.SQL("(e.sort_key = %s)::int * 10")]
        params: list[Any] = [title]
        if query.isbns:
            parts.append(sql.SQL("(e.isbns && %s::text[])::int * 1000"))
            params.append(list(query.isbns))
        for term in query.long_terms:
            parts.append(sql.SQL("(e.heading LIKE %s)::int"))
            params.append(_like(term))
        for term in query.gram_terms:
            parts.append(sql.SQL("(strpos(e.heading, %s) > 0)::int"))
            params.append(term)
        return sql.SQL(" + ").join(parts), params

    def search(self, cur: Cursor[Any], query: Query, title: str, first: int,
               offset: int) -> list[str]:
        """The ids of a page of entries found, the most relevant first (up to first + 1)."""
        where, params = self._where(query)
        order, rank_params = self._rank(query, title)
        order = sql.SQL("{} DESC, e.sort_key, e.id").format(order)
        if not (query.isbns or query.long_terms or query.gram_terms):
            order, rank_params = sql.SQL("e.sort_key, e.id"), []  # browsing: by its index
        rows = cur.execute(sql.SQL(
            "SELECT e.id FROM {} e WHERE {} ORDER BY {} LIMIT %s OFFSET %s").format(
                self.t["entries"], where, order),
            [*params, *rank_params, first + 1, offset]).fetchall()
        return [str(r[0]) for r in rows]

    def facets(self, cur: Cursor[Any], query: Query) -> list[tuple[str, str | None, int]]:
        """Counts over every entry found: (facet, value, entries) for language, format,
        decade, holding library, available now, total, and the first and last year."""
        where, params = self._where(query)
        rows = cur.execute(sql.SQL(
            "WITH m AS MATERIALIZED (SELECT e.id, e.language, e.format, e.year FROM {entries} e "
            "WHERE {where}), "
            "held AS MATERIALIZED (SELECT r.entry_id, r.tenant, r.record_id FROM m "
            "JOIN {records} r ON r.entry_id = m.id WHERE r.tenant NOT IN "
            "(SELECT slug FROM {members} WHERE status <> {active})) "
            "SELECT 'language', language, count(*) FROM m GROUP BY language "
            "UNION ALL SELECT 'format', format, count(*) FROM m GROUP BY format "
            "UNION ALL SELECT 'decade', (year / 10 * 10)::text, count(*) FROM m "
            "WHERE year IS NOT NULL GROUP BY year / 10 "
            "UNION ALL SELECT 'library', tenant, count(DISTINCT entry_id) FROM held "
            "GROUP BY tenant "
            "UNION ALL SELECT 'available', NULL, count(DISTINCT h.entry_id) FROM held h "
            "JOIN {items} i ON i.tenant = h.tenant AND i.record_id = h.record_id "
            "LEFT JOIN {lendings} l ON l.tenant = i.tenant AND l.item_id = i.item_id "
            "WHERE NOT i.withdrawn AND coalesce(l.status, {shelf}) = {shelf} "
            "AND coalesce(l.lendable, true) "
            "UNION ALL SELECT 'total', NULL, count(*) FROM m "
            "UNION ALL SELECT 'first year', min(year)::text, count(year) FROM m "
            "UNION ALL SELECT 'last year', max(year)::text, count(year) FROM m").format(
                where=where, active=sql.Literal(ACTIVE), shelf=sql.Literal(_ON_SHELF),
                **self.t), params).fetchall()
        return [(str(r[0]), r[1], int(r[2])) for r in rows]

    def member_names(self, cur: Cursor[Any], slugs: Iterable[str]) -> dict[str, str]:
        """Members' names by slug (those registered)."""
        return {r[0]: r[1] for r in cur.execute(self._sql(
            "SELECT slug, name FROM {members} WHERE slug = ANY(%s)"),
            [sorted(set(slugs))]).fetchall()}

    def by_key(self, cur: Cursor[Any], table: str, key: str) -> tuple[Any, ...] | None:
        """A row of one of the tables by its first column (the bench's baseline: a primary
        key lookup)."""
        column = "key" if table == "records" else "id"
        row: tuple[Any, ...] | None = cur.execute(sql.SQL("SELECT * FROM {} WHERE {} = %s").format(
            self.t[table], sql.Identifier(column)), [key]).fetchone()
        return row

    # Reads for shared acquisition and the consortium figures.

    def entry_with_isbns(self, cur: Cursor[Any], isbns: Sequence[str]) -> str | None:
        """The first entry in sight (by id) filed under any of these ISBNs, or None."""
        row = cur.execute(sql.SQL(
            "SELECT e.id FROM {} e WHERE e.isbns && %s AND EXISTS (SELECT 1 FROM {} r "
            "WHERE r.entry_id = e.id AND {}) ORDER BY e.id LIMIT 1").format(
                self.t["entries"], self.t["records"], self._visible("r")),
            [list(isbns), ACTIVE]).fetchone()
        return str(row[0]) if row else None

    def entries_of_records(self, cur: Cursor[Any], records: Sequence[tuple[str, UUID]]
                           ) -> dict[tuple[str, UUID], str]:
        """The entries of these member records (tenant, record id) that are in sight."""
        rows = cur.execute(sql.SQL(
            "SELECT r.tenant, r.record_id, r.entry_id FROM {} r JOIN unnest(%s::text[], "
            "%s::uuid[]) AS w(tenant, record_id) ON r.tenant = w.tenant AND r.record_id = "
            "w.record_id WHERE r.entry_id IS NOT NULL AND {}").format(
                self.t["records"], self._visible("r")),
            [[t for t, _ in records], [r for _, r in records], ACTIVE]).fetchall()
        return {(str(r[0]), r[1]): str(r[2]) for r in rows}

    def holder_sets(self, cur: Cursor[Any]) -> list[list[str]]:
        """For every entry, the members in sight holding a copy (an item not withdrawn)."""
        return [list(r[0]) for r in cur.execute(sql.SQL(
            "SELECT array_agg(DISTINCT r.tenant) FROM {} r JOIN {} i ON i.tenant = r.tenant "
            "AND i.record_id = r.record_id AND NOT i.withdrawn WHERE r.entry_id IS NOT NULL "
            "AND {} GROUP BY r.entry_id").format(
                self.t["records"], self.t["items"], self._visible("r")), [ACTIVE]).fetchall()]

def _columns(alias: str, names: Iterable[str]) -> sql.Composable:
    return sql.SQL(", ").join(sql.Identifier(alias, n) for n in names)
