"""Namespace settings (owning organization, default visibility) and a skill's visibility."""
