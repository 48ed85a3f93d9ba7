"""`python -m skreg_catalog.signing`: make a signing key, or show a key file's key id.

Rotation: `generate-key NEW.pem`, point `SIGNING_KEY_FILE` at it (or replace the
secret file), restart. New versions are signed with the new key; the old public
key stays published as `retired`, so every signature it made stays verifiable.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from skreg_catalog.signing.keys import RegistrySigner, SigningKeyError, write_key_file


def main(argv: list[str] | None = None) -> int:
    """Run the command; the exit code."""
    parser = argparse.ArgumentParser(prog="python -m skreg_catalog.signing")
    commands = parser.add_subparsers(dest="command", required=True)
    generate = commands.add_parser("generate-key", help="write a new Ed25519 key (mode 0600)")
    generate.add_argument("path", type=Path)
    show = commands.add_parser("keyid", help="print the key id of a private key file")
    show.add_argument("path", type=Path)
    args = parser.parse_args(argv)
    try:
        if args.command == "generate-key":
            signer = write_key_file(args.path)
        else:
            signer = RegistrySigner.from_pem(args.path.read_bytes(), str(args.path))
    except FileExistsError:
        print(f"error: {args.path} exists; keys are never overwritten", file=sys.stderr)
        return 1
    except (OSError, SigningKeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(signer.keyid)
    return 0


if __name__ == "__main__":
    sys.exit(main())
