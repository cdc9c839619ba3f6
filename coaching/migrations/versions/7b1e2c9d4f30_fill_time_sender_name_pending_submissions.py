"""fill time, sender name, pending submissions, spam digest and password reset emails

Revision ID: 7b1e2c9d4f30
Revises: 0cd295f5785c
Create Date: 2026-12-01 21:55:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7b1e2c9d4f30'
down_revision = '0cd295f5785c'
branch_labels = None
depends_on = None


def upgrade():
    # Autogenerate does not see a new value in an existing enum; PostgreSQL keeps enums as types.
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TYPE email_kind ADD VALUE IF NOT EXISTS 'spam_digest'")
        op.execute("ALTER TYPE email_kind ADD VALUE IF NOT EXISTS 'password_reset'")
    with op.batch_alter_table('inquiries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('fill_seconds', sa.Integer(), nullable=True))
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sender_name', sa.String(length=200), nullable=True))
    op.create_table('pending_submissions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('admin_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('endpoint', sa.String(length=100), nullable=False),
    sa.Column('view_args', sa.Text(), nullable=False),
    sa.Column('fields', sa.Text(), nullable=False),
    sa.Column('had_file', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['admin_id'], ['admin_users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('pending_submissions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pending_submissions_admin_id'), ['admin_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_pending_submissions_created_at'), ['created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('pending_submissions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pending_submissions_created_at'))
        batch_op.drop_index(batch_op.f('ix_pending_submissions_admin_id'))
    op.drop_table('pending_submissions')
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_column('sender_name')
    with op.batch_alter_table('inquiries', schema=None) as batch_op:
        batch_op.drop_column('fill_seconds')
