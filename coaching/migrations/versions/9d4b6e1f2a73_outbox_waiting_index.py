"""an index of the outbox messages still to send

Revision ID: 9d4b6e1f2a73
Revises: c41d7a2e9b85
Create Date: 2026-12-02 06:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9d4b6e1f2a73'
down_revision = 'c41d7a2e9b85'
branch_labels = None
depends_on = None

WAITING = "status IN ('pending', 'sending')"  # frozen copy of coaching.mail.models.WAITING_SQL


def upgrade():
    op.create_index('ix_outbox_messages_waiting', 'outbox_messages', ['next_attempt_at', 'id'], unique=False,
                    sqlite_where=sa.text(WAITING), postgresql_where=sa.text(WAITING))


def downgrade():
    op.drop_index('ix_outbox_messages_waiting', table_name='outbox_messages')
