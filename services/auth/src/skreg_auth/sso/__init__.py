"""Single sign-on with an OpenID Connect provider (web UI and CLI)."""
