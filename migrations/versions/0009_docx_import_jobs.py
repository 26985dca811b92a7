"""docx import jobs

A Word import is a job: the uploaded file, its progress and the sections found, waiting for
the user's confirmation. Large files are read by the worker (issue 15).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 20:10:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('plan_import_job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('apply', sa.Boolean(), nullable=False),
    sa.Column('progress', sa.Integer(), nullable=False),
    sa.Column('paragraphs', sa.Integer(), nullable=False),
    sa.Column('sections', sa.JSON(), nullable=True),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['version_id'], ['plan_version.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('plan_import_job', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_import_job_version_id'), ['version_id'], unique=False)


def downgrade():
    with op.batch_alter_table('plan_import_job', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_import_job_version_id'))
    op.drop_table('plan_import_job')
