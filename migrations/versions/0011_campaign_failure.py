"""campaign failure reason

A campaign whose fan-out fails for good ends as ``failed`` with the reason (issue 15). The new
campaign status ``failed`` and delivery status ``cancelled`` need no DDL: the enums are stored
as strings without a CHECK constraint.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 20:10:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failure_reason', sa.String(length=300), nullable=True))


def downgrade():
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.drop_column('failure_reason')
