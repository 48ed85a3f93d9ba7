"""API keys: `sr_<id>_<secret>`, scoped, stored as SHA-256, resolved by introspection."""
