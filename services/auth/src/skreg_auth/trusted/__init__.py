"""Trusted publishing: CI jobs trade their OIDC ID token for a short-lived publish token."""
