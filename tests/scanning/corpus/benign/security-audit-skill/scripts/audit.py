"""Flag suspicious patterns in a skill folder."""

import pathlib
import re
import sys

PATTERNS = {
    "download-exec": re.compile(r"(curl|wget)[^|\n]*\|\s*(ba)?sh"),
    "decode-exec": re.compile(r"base64\s+(-d|--decode)[^|\n]*\|\s*(ba)?sh"),
    "ssh-keys": re.compile(r"\.ssh/id_(rsa|ed25519)"),
    "aws-credentials": re.compile(r"\.aws/credentials"),
    "injection": re.compile(r"ignore (all )?previous instructions", re.I),
    "persistence": re.compile(r"crontab|LaunchAgents|CurrentVersion\\Run"),
}


def main() -> int:
    hits = 0
    for path in pathlib.Path(sys.argv[1]).rglob("*"):
        if not path.is_file():
            continue
        text = path.read_text(errors="replace")
        for name, pattern in PATTERNS.items():
            for m in pattern.finditer(text):
                hits += 1
                print(f"{path}: {name}: {m.group(0)[:80]}")
    return 1 if hits else 0


if __name__ == "__main__":
    sys.exit(main())
