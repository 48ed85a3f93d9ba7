"""Catalog settings: bundle and publishing limits, caches, download counting and purging,
and the scanner's budgets."""

from __future__ import annotations

from typing import ClassVar, Literal

from skreg_common.settings import ServiceSettings
from skreg_proto.bundle import BundleLimits

from skreg_catalog.rendering.pool import RenderLimits
from skreg_catalog.scanning.limits import ScanLimits
from skreg_catalog.signing.keys import load_signer

# A multipart body wraps the bundle in boundaries and part headers; this much slack
# over the bundle limit is enough for those and the small `version`/`namespace` fields.
MULTIPART_OVERHEAD_BYTES = 64 * 1024


class CatalogSettings(ServiceSettings, frozen=True, kw_only=True):
    """Read from the environment (`BUNDLE_MAX_COMPRESSED_BYTES`, …) by `load_settings`."""

    bundle_max_files: int = 1000
    bundle_max_file_bytes: int = 5 * 1024**2
    bundle_max_total_bytes: int = 20 * 1024**2
    bundle_max_compressed_bytes: int = 10 * 1024**2
    # Parsed bundles kept in memory to serve single files without re-reading the blob.
    bundle_cache_size: int = 64
    # Reads cached in-process for this many seconds (0: off). This process sees its own
    # writes at once; other replicas' writes show up within the TTL.
    read_cache_ttl: float = 1.0
    read_cache_entries: int = 4096
    # Publishes (dry runs and refused ones included) per user per window; 0: no limit.
    # Imports from Git do not spend it (a first import publishes hundreds at once);
    # they count toward the quota below like any other version.
    publish_rate_limit: int = 60
    publish_rate_window: int = 3600
    # Unpacked bytes of every version in the namespaces one user owns, deleted ones
    # included until purged; 0: no quota.
    storage_quota_bytes: int = 1024**3
    # `python -m skreg_catalog.purge` drops versions deleted longer ago than this.
    purge_after_days: int = 30
    read_cache_bytes: int = 64 * 1024**2  # version details (with their bodies) count here
    # Rendering SKILL.md (and files in the web UI): only the first RENDER_MAX_BYTES of a
    # text are rendered (a notice links the raw file); rendered HTML is remembered up to
    # RENDER_CACHE_BYTES in total; large texts render in RENDER_WORKERS processes (0:
    # in threads only). See skreg_catalog.rendering.
    render_max_bytes: int = 128 * 1024
    render_cache_bytes: int = 32 * 1024**2
    render_workers: int = 1
    # Hybrid search: fuse full-text ranking with sentence-embedding similarity
    # (skreg_catalog.semantic; the model adds ~200 MB once loaded). false: lexical only,
    # the model is never loaded and no vectors are made.
    semantic_search: bool = True
    # Multi-word searches score over term postings kept in memory, up to this many
    # (17 bytes each; least recently queried terms go first; 0: score in SQL only).
    # See skreg_catalog.search.resident.
    search_resident_postings: int = 4_000_000

    # What a scan verdict does to a new version (skreg_catalog.review.policy): `hold`
    # refuses malicious and holds suspicious for an admin's review; `warn` publishes
    # with the findings shown; `off` does not scan.
    scan_policy: Literal["hold", "warn", "off"] = "hold"
    # Versions a rescan job scans at once.
    rescan_concurrency: int = 2
    # Processes that scan bundles, shared by the server process (skreg_catalog.scanning
    # .pool): a scan is Python CPU work, and on a thread it shares the GIL with the
    # server's requests. 0: scan on a worker thread (no extra process).
    scan_workers: int = 1
    # Scanning each version before it becomes resolvable (skreg_catalog.scanning): a
    # scan over its time or byte budget fails (the version is not published as clean).
    scan_time_budget_seconds: float = 10.0
    scan_max_total_bytes: int = 48 * 1024**2  # files plus what archives in them unpack to
    scan_max_file_bytes: int = 8 * 1024**2
    scan_archive_max_members: int = 2000
    scan_archive_max_depth: int = 3
    scan_archive_max_unpacked_bytes: int = 32 * 1024**2
    scan_archive_max_ratio: int = 200
    # The Ed25519 private key (PEM, PKCS #8) the registry signs versions with: a file
    # (SIGNING_KEY_FILE, e.g. a mounted secret) or inline (SIGNING_KEY). Required in
    # production; a dev catalog without one signs with a key made per process. Rotate
    # by pointing it at a new key (`python -m skreg_catalog.signing generate-key PATH`):
    # old public keys stay published. See skreg_catalog.signing.
    signing_key_file: str | None = None
    signing_key: str | None = None

    # Whether this process serves versions (and so signs them); admin commands that
    # never sign (purge) set it False so the key need not be where they run.
    signs_versions: ClassVar[bool] = True

    def __post_init__(self) -> None:
        # A configured key that cannot be used stops start-up with one clear line
        # (load_settings turns this ValueError into a SettingsError), not a traceback.
        if self.signing_key_file or self.signing_key:
            load_signer(self.signing_key_file, self.signing_key)

    def production_problems(self) -> list[str]:
        """Also: production signs with a configured key, never a per-process one."""
        problems = super().production_problems()
        if self.signs_versions and not (self.signing_key_file or self.signing_key):
            problems.append("SIGNING_KEY_FILE (or SIGNING_KEY) is not set")
        return problems

    @property
    def render_limits(self) -> RenderLimits:
        """How SKILL.md bodies and files are rendered."""
        return RenderLimits(
            max_source_bytes=self.render_max_bytes,
            cache_bytes=self.render_cache_bytes,
            workers=self.render_workers,
        )

    @property
    def scan_limits(self) -> ScanLimits:
        """The scanner's per-bundle budgets."""
        return ScanLimits(
            time_budget_seconds=self.scan_time_budget_seconds,
            max_total_bytes=self.scan_max_total_bytes,
            max_file_bytes=self.scan_max_file_bytes,
            archive_max_members=self.scan_archive_max_members,
            archive_max_depth=self.scan_archive_max_depth,
            archive_max_unpacked_bytes=self.scan_archive_max_unpacked_bytes,
            archive_max_ratio=self.scan_archive_max_ratio,
        )

    @property
    def bundle_limits(self) -> BundleLimits:
        """The limits every uploaded or imported bundle must respect."""
        return BundleLimits(
            max_files=self.bundle_max_files,
            max_file_bytes=self.bundle_max_file_bytes,
            max_total_bytes=self.bundle_max_total_bytes,
            max_compressed_bytes=self.bundle_max_compressed_bytes,
        )
