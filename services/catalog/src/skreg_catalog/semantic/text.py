"""What a skill is embedded from: name, description, tags and the start of its body."""

from __future__ import annotations

import re

BODY_CHARS = 400  # the body's opening (title, "when to use"), as far as MAX_TOKENS reaches
_SPACE = re.compile(r"\s+")
_MARKUP = re.compile(r"[#*`>|_\[\]()]+")


def embedding_text(name: str, description: str, tags: str, body: str) -> str:
    """One line of prose for the model: markup and runs of spaces removed."""
    words = name.replace("-", " ").replace("_", " ")
    opening = _MARKUP.sub(" ", body[:BODY_CHARS])
    parts = [f"{words}: {description}", f"Tags: {tags}" if tags else "", opening]
    return _SPACE.sub(" ", " ".join(p for p in parts if p)).strip()
