"""delivery claim token

Each claim of a delivery writes a token naming the claiming process; reconciliation leaves a
delivery alone while that process runs, and every write of an attempt is conditional on its
token (issue 11: exactly once under load).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 09:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sender', sa.String(length=100), nullable=True))


def downgrade():
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.drop_column('sender')
