"""drill calendar day index

A calendar day cell shows its first few occurrences by time, enterprise and id: one index
(due_on, scheduled_at, enterprise_id, id) serves that and the per-day totals, replacing the
plain due_on index (plans.drills.calendar_queries).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 14:35:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('drill_occurrence', schema=None) as batch_op:
        batch_op.create_index('ix_drill_occurrence_day', ['due_on', 'scheduled_at', 'enterprise_id', 'id'], unique=False)
        batch_op.drop_index('ix_drill_occurrence_due_on')


def downgrade():
    with op.batch_alter_table('drill_occurrence', schema=None) as batch_op:
        batch_op.create_index('ix_drill_occurrence_due_on', ['due_on'], unique=False)
        batch_op.drop_index('ix_drill_occurrence_day')
