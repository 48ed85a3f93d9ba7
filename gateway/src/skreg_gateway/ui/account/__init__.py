"""Accounts: sign in, register, sign out, the profile with API keys and password change."""
