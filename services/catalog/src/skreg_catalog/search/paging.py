"""The cursor of a relevance-ranked page: its last row's position, and what it ranked with.

A relevance score depends on the terms' IDFs (corpus statistics) and on the
completions of an unfinished last word, and both move as skills are published.
The cursor carries the values page one used, so every later page scores every
skill exactly as page one did: positions never move under a client, and keyset
paging ("rows strictly after the cursor") has no duplicates and no gaps.
"""

from __future__ import annotations

from typing import Any

from skreg_common.errors import BadRequest
from skreg_proto.pagination import (
    InvalidCursor,
    cursor_int,
    cursor_text,
    decode_cursor,
    encode_cursor,
)

from skreg_catalog.search.lexical import COMPLETIONS, MAX_QUERY_TERMS, Candidate, Position, Ranking
from skreg_catalog.search.terms import MAX_TERM_LENGTH

_TAG = "relevance"
_MAX_IDFS = MAX_QUERY_TERMS + COMPLETIONS


def encode_position(last: Candidate, ranking: Ranking, tag: str = _TAG) -> str:
    """The cursor after `last` (`tag`: which ranking it pages, e.g. a hybrid one)."""
    idfs = sorted(ranking.idfs.items())
    return encode_cursor(
        [tag, last.exact, last.score, last.skill_id, list(ranking.completions), idfs]
    )


def cursor_tag(cursor: str) -> str | None:
    """The ranking a cursor pages (its tag), or None for a malformed cursor."""
    try:
        tagged = decode_cursor(cursor)
    except InvalidCursor:
        return None
    if isinstance(tagged, list) and tagged and isinstance(tagged[0], str):
        return tagged[0]
    return None


def decode_position(cursor: str, tag: str = _TAG) -> Position:
    """A cursor from `encode_position`, checked (a 400 for anything else)."""
    try:
        tagged = decode_cursor(cursor)
        if not isinstance(tagged, list) or len(tagged) != 6 or tagged[0] != tag:
            raise InvalidCursor("cursor belongs to another sort")
        _, exact, score, skill_id, completions, idfs = tagged
        if not isinstance(completions, list) or len(completions) > COMPLETIONS:
            raise InvalidCursor("malformed cursor")
        if not isinstance(idfs, list) or len(idfs) > _MAX_IDFS:
            raise InvalidCursor("malformed cursor")
        return Position(
            exact=cursor_int(exact, bits=2),
            score=cursor_int(score),
            skill_id=cursor_int(skill_id, bits=32),
            idfs=dict(_idf(pair) for pair in idfs),
            completions=tuple(cursor_text(c, MAX_TERM_LENGTH) for c in completions),
        )
    except (InvalidCursor, TypeError, ValueError) as exc:
        raise BadRequest("invalid cursor (it belongs to another query or was altered)") from exc


def _idf(pair: Any) -> tuple[str, int]:
    if not isinstance(pair, list) or len(pair) != 2:
        raise InvalidCursor("malformed cursor")
    value = cursor_int(pair[1], bits=32)
    if value < 1:
        raise InvalidCursor("malformed cursor")
    return cursor_text(pair[0], MAX_TERM_LENGTH), value
