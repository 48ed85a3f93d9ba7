"""Running import jobs: arq on Redis, or in-process; the global clone cap; upkeep."""
