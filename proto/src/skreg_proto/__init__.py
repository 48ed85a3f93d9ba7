"""Contracts shared by every Skills Registry process, and the Agent Skills format.

Pure: bytes in, values out. No I/O beyond what a caller hands in, no framework
imports beyond msgspec and PyYAML.
"""
