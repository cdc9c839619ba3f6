"""inbox at scale: status counts kept by triggers, keyset indexes, the search index

Revision ID: c41d7a2e9b85
Revises: 5e1a7c3b9d20
Create Date: 2026-12-02 09:30:00

The SQL for the triggers and the search index is a frozen copy of coaching/inquiries/database_side.py as
it was when this was written (a migration never changes with the code); tests/test_migrations.py checks
that the two build the same database.

Counting existing inquiries and indexing their text reads the whole table once (on PostgreSQL the trigram
indexes take about 20 s for 100,000 long messages; FTS5's rebuild on SQLite about as long).
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = 'c41d7a2e9b85'
down_revision = '5e1a7c3b9d20'
branch_labels = None
depends_on = None

SQLITE_UPGRADE = [
    """CREATE TRIGGER inquiries_counted_insert AFTER INSERT ON inquiries BEGIN
    INSERT INTO inquiry_status_counts (status, total) VALUES (NEW.status, 1)
    ON CONFLICT (status) DO UPDATE SET total = total + 1;
END""",
    """CREATE TRIGGER inquiries_counted_update AFTER UPDATE OF status ON inquiries
WHEN OLD.status IS NOT NEW.status BEGIN
    UPDATE inquiry_status_counts SET total = total - 1 WHERE status = OLD.status;
    INSERT INTO inquiry_status_counts (status, total) VALUES (NEW.status, 1)
    ON CONFLICT (status) DO UPDATE SET total = total + 1;
END""",
    """CREATE TRIGGER inquiries_counted_delete AFTER DELETE ON inquiries BEGIN
    UPDATE inquiry_status_counts SET total = total - 1 WHERE status = OLD.status;
END""",
    """CREATE VIRTUAL TABLE inquiries_search USING fts5(
    name, email, message, content='inquiries', content_rowid='id', tokenize='trigram')""",
    """CREATE TRIGGER inquiries_search_insert AFTER INSERT ON inquiries BEGIN
    INSERT INTO inquiries_search (rowid, name, email, message) VALUES (NEW.id, NEW.name, NEW.email, NEW.message);
END""",
    """CREATE TRIGGER inquiries_search_update AFTER UPDATE OF name, email, message ON inquiries BEGIN
    INSERT INTO inquiries_search (inquiries_search, rowid, name, email, message)
    VALUES ('delete', OLD.id, OLD.name, OLD.email, OLD.message);
    INSERT INTO inquiries_search (rowid, name, email, message) VALUES (NEW.id, NEW.name, NEW.email, NEW.message);
END""",
    """CREATE TRIGGER inquiries_search_delete AFTER DELETE ON inquiries BEGIN
    INSERT INTO inquiries_search (inquiries_search, rowid, name, email, message)
    VALUES ('delete', OLD.id, OLD.name, OLD.email, OLD.message);
END""",
    "INSERT INTO inquiries_search (inquiries_search) VALUES ('rebuild')",
]
SQLITE_DOWNGRADE = [
    *(f"DROP TRIGGER IF EXISTS {name}" for name in (
        "inquiries_search_delete", "inquiries_search_update", "inquiries_search_insert",
        "inquiries_counted_delete", "inquiries_counted_update", "inquiries_counted_insert")),
    "DROP TABLE IF EXISTS inquiries_search",
]

POSTGRESQL_UPGRADE = [
    """CREATE FUNCTION inquiry_status_counts_follow() RETURNS trigger LANGUAGE plpgsql AS $$
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
    """CREATE TRIGGER inquiries_counted_insert AFTER INSERT ON inquiries REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION inquiry_status_counts_follow()""",
    """CREATE TRIGGER inquiries_counted_update AFTER UPDATE ON inquiries
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION inquiry_status_counts_follow()""",
    """CREATE TRIGGER inquiries_counted_delete AFTER DELETE ON inquiries REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION inquiry_status_counts_follow()""",
    """CREATE TRIGGER inquiries_counted_truncate AFTER TRUNCATE ON inquiries
FOR EACH STATEMENT EXECUTE FUNCTION inquiry_status_counts_follow()""",
    # pg_trgm is a trusted extension (PostgreSQL 13+): the database's owner may create it.
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    *(f"CREATE INDEX ix_inquiries_{column}_trigrams ON inquiries USING gin (lower({column}) gin_trgm_ops)"
      for column in ("name", "email", "message")),
]
POSTGRESQL_DOWNGRADE = [
    *(f"DROP INDEX IF EXISTS ix_inquiries_{column}_trigrams" for column in ("name", "email", "message")),
    "DROP EXTENSION IF EXISTS pg_trgm",  # fails, keeping it, if something else has come to use it
    *(f"DROP TRIGGER IF EXISTS inquiries_counted_{event} ON inquiries"
      for event in ("truncate", "delete", "update", "insert")),
    "DROP FUNCTION IF EXISTS inquiry_status_counts_follow()",
]

# The inquiries already stored, counted ("WHERE true": SQLite would read ON CONFLICT after FROM as a join's ON).
COUNT_EXISTING = """INSERT INTO inquiry_status_counts (status, total)
SELECT status, count(*) FROM inquiries WHERE true GROUP BY status
ON CONFLICT (status) DO UPDATE SET total = excluded.total"""


def upgrade():
    dialect = op.get_bind().dialect.name
    op.create_table('inquiry_status_counts',
    # The inquiries' own type: on PostgreSQL it exists already.
    sa.Column('status', postgresql.ENUM('new', 'read', 'replied', 'archived', 'spam', name='inquiry_status',
                                        create_type=False), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('status')
    )
    with op.batch_alter_table('inquiries', schema=None) as batch_op:
        batch_op.drop_index('ix_inquiries_status')
        batch_op.create_index('ix_inquiries_status_created_at_id', ['status', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_inquiries_listed_created_at_id', ['created_at', 'id'], unique=False,
                              sqlite_where=sa.text("status <> 'spam'"), postgresql_where=sa.text("status <> 'spam'"))
    # Triggers first, then the count: on PostgreSQL CREATE TRIGGER locks out writers until this commits,
    # and an inquiry stored in between on SQLite is counted by its trigger and then again, rightly, by the count.
    for statement in {"sqlite": SQLITE_UPGRADE, "postgresql": POSTGRESQL_UPGRADE}[dialect]:
        op.execute(statement)
    op.execute(COUNT_EXISTING)


def downgrade():
    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": SQLITE_DOWNGRADE, "postgresql": POSTGRESQL_DOWNGRADE}[dialect]:
        op.execute(statement)
    with op.batch_alter_table('inquiries', schema=None) as batch_op:
        batch_op.drop_index('ix_inquiries_listed_created_at_id')
        batch_op.drop_index('ix_inquiries_status_created_at_id')
        batch_op.create_index('ix_inquiries_status', ['status'], unique=False)
    op.drop_table('inquiry_status_counts')  # the inquiry_status type stays: inquiries still uses it
