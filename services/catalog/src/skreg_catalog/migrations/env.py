"""Alembic environment for the catalog service (run through skreg_common.migrations)."""

from alembic import context
from skreg_common.migrations import run_env

run_env(context)
