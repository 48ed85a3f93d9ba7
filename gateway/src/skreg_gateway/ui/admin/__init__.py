"""Admin pages: users, Git sources and import runs, skills, the audit log."""
