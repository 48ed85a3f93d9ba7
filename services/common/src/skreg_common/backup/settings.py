"""What the backup command reads besides the database: where archives go, how often, how many."""

from __future__ import annotations

from skreg_common.settings import ServiceSettings


class BackupSettings(ServiceSettings, frozen=True, kw_only=True):
    """`BACKUP_DIR`, `BACKUP_INTERVAL` (seconds) and `BACKUP_KEEP` (archives kept)."""

    backup_dir: str = "backups"
    backup_interval: float = 86400.0
    backup_keep: int = 7
