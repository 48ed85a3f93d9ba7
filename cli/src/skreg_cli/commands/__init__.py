"""The `skreg` subcommands, grouped by what they are for."""
