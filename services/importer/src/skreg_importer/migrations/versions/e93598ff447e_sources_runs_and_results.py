"""sources, runs and results

Revision ID: e93598ff447e
Revises: 
Create Date: 2026-11-22

The importer's own tables: Git sources, import runs (the source of truth for a
sync's state, with lease columns for worker heartbeats) and per-skill results.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from skreg_common.db import UTCDateTime
from alembic import op

revision: str = 'e93598ff447e'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table('importer_sources',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('url', sa.String(length=2048), nullable=False),
    sa.Column('ref', sa.String(length=255), nullable=True),
    sa.Column('subdirectory', sa.String(length=1024), nullable=True),
    sa.Column('namespace', sa.String(length=64), nullable=False),
    sa.Column('interval_seconds', sa.Integer(), nullable=True),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('webhook_secret_enc', sa.Text(), nullable=True),
    sa.Column('credentials_enc', sa.Text(), nullable=True),
    sa.Column('created_by', sa.String(length=64), nullable=True),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.Column('last_commit', sa.String(length=64), nullable=True),
    sa.Column('last_success_run_id', sa.String(length=32), nullable=True),
    sa.Column('last_synced_at', UTCDateTime(), nullable=True),
    sa.Column('next_sync_at', UTCDateTime(), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_importer_sources'))
    )
    with op.batch_alter_table('importer_sources', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_importer_sources_namespace'), ['namespace'], unique=False)
        batch_op.create_index(batch_op.f('ix_importer_sources_next_sync_at'), ['next_sync_at'], unique=False)

    op.create_table('importer_runs',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('source_id', sa.String(length=32), nullable=True),
    sa.Column('generation', sa.Integer(), nullable=True),
    sa.Column('trigger', sa.String(length=16), nullable=False),
    sa.Column('url', sa.String(length=2048), nullable=False),
    sa.Column('ref', sa.String(length=255), nullable=True),
    sa.Column('subdirectory', sa.String(length=1024), nullable=True),
    sa.Column('namespace', sa.String(length=64), nullable=False),
    sa.Column('owner', sa.String(length=64), nullable=True),
    sa.Column('credentials_enc', sa.Text(), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('job_id', sa.String(length=200), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('commit', sa.String(length=64), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('lease_owner', sa.String(length=128), nullable=True),
    sa.Column('lease_expires_at', UTCDateTime(), nullable=True),
    sa.Column('not_before', UTCDateTime(), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.Column('started_at', UTCDateTime(), nullable=True),
    sa.Column('finished_at', UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['source_id'], ['importer_sources.id'], name=op.f('fk_importer_runs_source_id_importer_sources'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_importer_runs')),
    sa.UniqueConstraint('source_id', 'generation', name=op.f('uq_importer_runs_source_id_generation'))
    )
    with op.batch_alter_table('importer_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_importer_runs_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_importer_runs_source_id'), ['source_id'], unique=False)
        batch_op.create_index('ix_importer_runs_state_created', ['state', 'created_at'], unique=False)

    op.create_table('importer_results',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('run_id', sa.String(length=32), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('path', sa.String(length=1024), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('version', sa.String(length=255), nullable=True),
    sa.Column('digest', sa.String(length=80), nullable=True),
    sa.Column('problems', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['importer_runs.id'], name=op.f('fk_importer_results_run_id_importer_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_importer_results'))
    )
    with op.batch_alter_table('importer_results', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_importer_results_run_id'), ['run_id'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('importer_results', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_importer_results_run_id'))

    op.drop_table('importer_results')
    with op.batch_alter_table('importer_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_importer_runs_state_created')
        batch_op.drop_index(batch_op.f('ix_importer_runs_source_id'))
        batch_op.drop_index(batch_op.f('ix_importer_runs_created_at'))

    op.drop_table('importer_runs')
    with op.batch_alter_table('importer_sources', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_importer_sources_next_sync_at'))
        batch_op.drop_index(batch_op.f('ix_importer_sources_namespace'))

    op.drop_table('importer_sources')

