"""content version for the page cache

Revision ID: 5e1a7c3b9d20
Revises: 7b1e2c9d4f30
Create Date: 2026-12-02 02:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5e1a7c3b9d20'
down_revision = '7b1e2c9d4f30'
branch_labels = None
depends_on = None


def upgrade():
    content_version = op.create_table('content_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.bulk_insert(content_version, [{'id': 1, 'version': 1}])


def downgrade():
    op.drop_table('content_version')
