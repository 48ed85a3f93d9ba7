"""Talking to Git safely: URL policy, the hardened git runner, clones and `ls-remote`."""
