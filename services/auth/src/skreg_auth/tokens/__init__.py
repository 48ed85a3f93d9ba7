"""Access and service tokens: Ed25519 JWTs signed with a key derived from SECRET_KEY."""
