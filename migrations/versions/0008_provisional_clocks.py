"""provisional clocks

Years confirmed by the admin (calendar_year), provisional deadlines of filings, the link from
a superseded filing to the later one, and holiday shifting of drill cycles' occurrences.
Existing cycles get shift_holidays NULL: they keep their dates until edited.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 20:30:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'calendar_year',
        sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('complete', sa.Boolean(), nullable=False),
        sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('completed_by_id', sa.Integer(), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['completed_by_id'], ['user_account.id'], name=op.f('fk_calendar_year_completed_by_id_user_account')),
        sa.PrimaryKeyConstraint('year', name=op.f('pk_calendar_year')),
    )
    with op.batch_alter_table('filing', schema=None) as batch_op:
        batch_op.add_column(sa.Column('submit_by_provisional_year', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('decide_by_provisional_year', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('superseded_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_filing_superseded_by_id_filing'), 'filing', ['superseded_by_id'], ['id'])
    with op.batch_alter_table('drill_cycle', schema=None) as batch_op:
        batch_op.add_column(sa.Column('shift_holidays', sa.Boolean(), nullable=True))
    with op.batch_alter_table('drill_occurrence', schema=None) as batch_op:
        batch_op.add_column(sa.Column('moved_from', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('provisional_year', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('drill_occurrence', schema=None) as batch_op:
        batch_op.drop_column('provisional_year')
        batch_op.drop_column('moved_from')
    with op.batch_alter_table('drill_cycle', schema=None) as batch_op:
        batch_op.drop_column('shift_holidays')
    with op.batch_alter_table('filing', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_filing_superseded_by_id_filing'), type_='foreignkey')
        batch_op.drop_column('superseded_by_id')
        batch_op.drop_column('decide_by_provisional_year')
        batch_op.drop_column('submit_by_provisional_year')
    op.drop_table('calendar_year')
