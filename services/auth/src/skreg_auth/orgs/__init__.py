"""Organizations and their members: who owns a namespace together, and with which role."""
