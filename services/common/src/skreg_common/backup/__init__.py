"""Backups of the whole registry: one archive holds the database, its bundles and its schema.

Bundles live in the database (`catalog_blobs`, skreg_catalog.blobs), so the database is
all there is to keep; in the embedded mode the local secrets file beside the SQLite file
comes along too (without it the restored Git credentials and sessions could not be read).

An archive is a tar file:

- `manifest.json`: format version, backend, when, each service's Alembic revision, the
  row count of every table (taken in the same snapshot as the dump), and the SHA-256 of
  every other member;
- `database.pgdump` (PostgreSQL: `pg_dump --format=custom`, taken on an exported
  snapshot so the counts and the dump agree) or `database.sqlite3` (SQLite: its online
  backup API, consistent while the registry keeps writing), gzip-compressed for SQLite;
- `secrets.json` (SQLite only, when the embedded process made one).

Restoring checks the archive's digests, refuses a schema this release does not know or
a target whose schema differs (unless `--allow-schema-mismatch`), refuses a target that
holds rows (unless `--force`), replaces the target's tables, and then checks every
table's row count against the manifest. `python -m skreg_common.backup --help`.
"""
