"""What the database keeps in step with the inquiries by itself: the status counts and the search index.

Triggers do it, in the same transaction as the change, so no code path can forget it: an inquiry sent
through the form, a status button, "not spam", erasing one inquiry or an address, the retention purge,
or a statement typed into a database shell.

- Status counts: the inquiry_status_counts table (a model) holds how many inquiries have each status.
  On SQLite row triggers add and subtract; on PostgreSQL statement triggers add up each statement's
  changes per status and apply them in status order, so that two transactions never wait on each other.
- Search: on SQLite an FTS5 table with the trigram tokenizer indexes name, email and message (external
  content: the text stays in inquiries only); on PostgreSQL pg_trgm GIN indexes on lower(name),
  lower(email) and lower(message) serve the LIKE that the inbox's search already runs.

The migration (coaching/migrations/versions/c41d7a2e9b85_…) made these for existing databases with its
own frozen copy of this SQL; install() makes them when db.create_all() builds a database (the tests), and
tests/test_migrations.py checks that both give the same schema. No model declares the search table or
the trigram indexes, so autogenerate is told to leave them alone (declared_by_models).

A later migration that rebuilds the inquiries table on SQLite (batch_alter_table's "move and copy") drops
these triggers with the old table, and must create them again; the same test would notice.
"""

from __future__ import annotations

from sqlalchemy import Connection, event, text

from coaching.extensions import db

SEARCH_TABLE = "inquiries_search"
# FTS5 keeps its index in shadow tables named after the virtual table (external content: no _content).
UNDECLARED_TABLES = frozenset({SEARCH_TABLE, *(f"{SEARCH_TABLE}_{part}" for part in ("data", "idx", "docsize",
                                                                                    "config"))})
SEARCHED_COLUMNS = ("name", "email", "message")
UNDECLARED_INDEXES = frozenset(f"ix_inquiries_{column}_trigrams" for column in SEARCHED_COLUMNS)

SQLITE = [
    # Status counts.
    """CREATE TRIGGER IF NOT EXISTS inquiries_counted_insert AFTER INSERT ON inquiries BEGIN
    INSERT INTO inquiry_status_counts (status, total) VALUES (NEW.status, 1)
    ON CONFLICT (status) DO UPDATE SET total = total + 1;
END""",
    """CREATE TRIGGER IF NOT EXISTS inquiries_counted_update AFTER UPDATE OF status ON inquiries
WHEN OLD.status IS NOT NEW.status BEGIN
    UPDATE inquiry_status_counts SET total = total - 1 WHERE status = OLD.status;
    INSERT INTO inquiry_status_counts (status, total) VALUES (NEW.status, 1)
    ON CONFLICT (status) DO UPDATE SET total = total + 1;
END""",
    """CREATE TRIGGER IF NOT EXISTS inquiries_counted_delete AFTER DELETE ON inquiries BEGIN
    UPDATE inquiry_status_counts SET total = total - 1 WHERE status = OLD.status;
END""",
    # Search: the trigram index of name, email and message.
    f"""CREATE VIRTUAL TABLE IF NOT EXISTS {SEARCH_TABLE} USING fts5(
    name, email, message, content='inquiries', content_rowid='id', tokenize='trigram')""",
    f"""CREATE TRIGGER IF NOT EXISTS inquiries_search_insert AFTER INSERT ON inquiries BEGIN
    INSERT INTO {SEARCH_TABLE} (rowid, name, email, message) VALUES (NEW.id, NEW.name, NEW.email, NEW.message);
END""",
    f"""CREATE TRIGGER IF NOT EXISTS inquiries_search_update AFTER UPDATE OF name, email, message ON inquiries BEGIN
    INSERT INTO {SEARCH_TABLE} ({SEARCH_TABLE}, rowid, name, email, message)
    VALUES ('delete', OLD.id, OLD.name, OLD.email, OLD.message);
    INSERT INTO {SEARCH_TABLE} (rowid, name, email, message) VALUES (NEW.id, NEW.name, NEW.email, NEW.message);
END""",
    f"""CREATE TRIGGER IF NOT EXISTS inquiries_search_delete AFTER DELETE ON inquiries BEGIN
    INSERT INTO {SEARCH_TABLE} ({SEARCH_TABLE}, rowid, name, email, message)
    VALUES ('delete', OLD.id, OLD.name, OLD.email, OLD.message);
END""",
    f"INSERT INTO {SEARCH_TABLE} ({SEARCH_TABLE}) VALUES ('rebuild')",  # index rows already there
]

POSTGRESQL = [
    # Status counts: one function for every statement that adds, changes or removes inquiries.
    """CREATE OR REPLACE FUNCTION inquiry_status_counts_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        UPDATE inquiry_status_counts SET total = 0;
    ELSIF TG_OP = 'INSERT' THEN
        INSERT INTO inquiry_status_counts AS counts (status, total)
        SELECT status, count(*) FROM new_rows GROUP BY status ORDER BY status
        ON CONFLICT (status) DO UPDATE SET total = counts.total + excluded.total;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO inquiry_status_counts AS counts (status, total)
        SELECT status, -count(*) FROM old_rows GROUP BY status ORDER BY status
        ON CONFLICT (status) DO UPDATE SET total = counts.total + excluded.total;
    ELSE
        INSERT INTO inquiry_status_counts AS counts (status, total)
        SELECT status, sum(change) FROM (
            SELECT status, 1 AS change FROM new_rows
            UNION ALL SELECT status, -1 FROM old_rows
        ) AS moves GROUP BY status HAVING sum(change) <> 0 ORDER BY status
        ON CONFLICT (status) DO UPDATE SET total = counts.total + excluded.total;
    END IF;
    RETURN NULL;
END
$$""",
    "DROP TRIGGER IF EXISTS inquiries_counted_insert ON inquiries",
    """CREATE TRIGGER inquiries_counted_insert AFTER INSERT ON inquiries REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION inquiry_status_counts_follow()""",
    "DROP TRIGGER IF EXISTS inquiries_counted_update ON inquiries",
    """CREATE TRIGGER inquiries_counted_update AFTER UPDATE ON inquiries
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION inquiry_status_counts_follow()""",
    "DROP TRIGGER IF EXISTS inquiries_counted_delete ON inquiries",
    """CREATE TRIGGER inquiries_counted_delete AFTER DELETE ON inquiries REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION inquiry_status_counts_follow()""",
    "DROP TRIGGER IF EXISTS inquiries_counted_truncate ON inquiries",
    """CREATE TRIGGER inquiries_counted_truncate AFTER TRUNCATE ON inquiries
FOR EACH STATEMENT EXECUTE FUNCTION inquiry_status_counts_follow()""",
    # Search: trigram indexes for the LIKE on lower(column) that the search runs.
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    *(f"CREATE INDEX IF NOT EXISTS ix_inquiries_{column}_trigrams ON inquiries USING gin (lower({column}) gin_trgm_ops)"
      for column in SEARCHED_COLUMNS),
]

# The counts of the inquiries already stored (none in a new database), one row per status.
COUNT_EXISTING = [
    # ("WHERE true": SQLite would read ON CONFLICT straight after FROM … as a join's ON.)
    """INSERT INTO inquiry_status_counts (status, total)
SELECT status, count(*) FROM inquiries WHERE true GROUP BY status
ON CONFLICT (status) DO UPDATE SET total = excluded.total""",
]


def declared_by_models(name: str | None, type_: str, _parent_names: dict) -> bool:
    """alembic's include_name: False for the tables and indexes made here, which no model declares.

    Without it, autogenerate (`flask db migrate`) would write a migration that drops the search index.
    """
    if type_ == "table":
        return name not in UNDECLARED_TABLES
    if type_ == "index":
        return name not in UNDECLARED_INDEXES
    return True


def rewrite_search_index() -> None:
    """Rewrite SQLite's search index in one piece, so that the entries of erased inquiries leave it.

    FTS5 marks an erased row's entries deleted at once (no search finds it again) but keeps them in its file
    until its segments merge; this merges them all (about 3 s for 100,000 inquiries, so the nightly purge does
    it, not the coach's erase button). PostgreSQL's indexes shed dead entries when (auto)vacuum runs.
    """
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(text(f"INSERT INTO {SEARCH_TABLE} ({SEARCH_TABLE}) VALUES ('optimize')"))


def install(connection: Connection) -> None:
    """Create the triggers and the search index on this connection's database, and count what is there."""
    statements = {"sqlite": SQLITE, "postgresql": POSTGRESQL}.get(connection.dialect.name)
    if statements is None:
        raise RuntimeError(f"the inbox needs SQLite or PostgreSQL, not {connection.dialect.name}")
    for statement in (*statements, *COUNT_EXISTING):
        connection.execute(text(statement))


@event.listens_for(db.metadata, "after_create")
def _install_after_create_all(_metadata, connection: Connection, tables=(), **_kw) -> None:
    """db.create_all() builds what the migrations build: once it has made the inquiries table, add the rest."""
    if any(table.name == "inquiries" for table in tables):
        install(connection)
