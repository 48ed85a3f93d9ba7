"""Browsing: home, search, skill pages, file previews, and owners' yank/delete actions."""
