"""Holding, reviewing and rescanning scanned versions (issue #15, "Hold and review").

- `policy`: what a scan report means for a new version under `SCAN_POLICY`;
- `visibility`: the one rule for who may see a version that is withheld;
- `service` / `routes`: the admin review queue, decisions and publisher disputes;
- `rescan`: the admin-triggered background job that rescans every stored version.
"""
