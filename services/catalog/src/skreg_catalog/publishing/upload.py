"""Reading a publish request body: a gzip'd bundle or a multipart form, never past the limit.

The size is checked against `Content-Length` before anything is read, and
counted again while streaming (a lying or absent `Content-Length` changes
nothing), so an oversized upload costs at most the limit in memory.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from litestar import Request
from multipart import (  # type: ignore[import-untyped]
    MultipartError,
    MultipartSegment,
    PushMultipartParser,
)
from skreg_common.errors import BadRequest, TooLarge, UnsupportedMediaType

from skreg_catalog.settings import MULTIPART_OVERHEAD_BYTES

GZIP_TYPES = frozenset({"application/gzip", "application/x-gzip", "application/x-tar+gzip"})
MULTIPART = "multipart/form-data"
BUNDLE_FIELD = "bundle"
TEXT_FIELDS = frozenset({"version", "namespace", "visibility"})
MAX_TEXT_FIELD = 256


@dataclass
class Upload:
    """The bundle bytes and the text fields that came with them (multipart only)."""

    data: bytes
    fields: dict[str, str] = field(default_factory=dict)


def _too_large(limit: int) -> TooLarge:
    return TooLarge(f"the bundle is larger than the {limit} byte limit")


def check_announced(request: Request[Any, Any, Any], ceiling: int, limit: int) -> None:
    raw = request.headers.get("content-length")
    if raw is None:
        return
    try:
        announced = int(raw)
    except ValueError:
        raise BadRequest("Content-Length is not a number") from None
    if announced > ceiling:
        raise _too_large(limit)


async def limited_chunks(
    request: Request[Any, Any, Any], ceiling: int, limit: int
) -> AsyncIterator[bytes]:
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > ceiling:
            raise _too_large(limit)
        if chunk:
            yield chunk


async def read_limited(request: Request[Any, Any, Any], limit: int) -> bytes:
    """The whole body, refused with 413 as soon as it is known to be over `limit` bytes."""
    check_announced(request, limit, limit)
    return b"".join([chunk async for chunk in limited_chunks(request, limit, limit)])


async def read_upload(request: Request[Any, Any, Any], limit: int) -> Upload:
    """The uploaded bundle (≤ `limit` bytes); 415 for other content types, 413 past the limit."""
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type in GZIP_TYPES:
        return Upload(data=await read_limited(request, limit))
    if media_type == MULTIPART:
        ceiling = limit + MULTIPART_OVERHEAD_BYTES
        check_announced(request, ceiling, limit)
        return await _read_multipart(request, ceiling, limit)
    raise UnsupportedMediaType(
        "send the bundle as application/gzip, or as the 'bundle' field of multipart/form-data"
    )


def _boundary(request: Request[Any, Any, Any]) -> str:
    _, options = request.content_type
    boundary = options.get("boundary")
    if not boundary:
        raise BadRequest("multipart/form-data without a boundary")
    return str(boundary)


class _Form:
    """Collects the parts we know, refusing oversized or repeated ones as they stream."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts: dict[str, bytearray] = {}
        self.current: bytearray | None = None
        self.current_cap = 0

    def start(self, segment: MultipartSegment) -> None:
        name = segment.name or ""
        if name in self.parts:
            raise BadRequest(f"the form field '{name}' appears more than once")
        if name == BUNDLE_FIELD or name in TEXT_FIELDS:
            self.current = self.parts[name] = bytearray()
            self.current_cap = self.limit if name == BUNDLE_FIELD else MAX_TEXT_FIELD
        else:
            self.current = None  # unknown fields are read past, not kept

    def data(self, chunk: bytes) -> None:
        if self.current is None:
            return
        self.current.extend(chunk)
        if len(self.current) > self.current_cap:
            if self.current_cap == self.limit:
                raise _too_large(self.limit)
            raise BadRequest(f"a form field is longer than {MAX_TEXT_FIELD} bytes")

    def upload(self) -> Upload:
        bundle = self.parts.pop(BUNDLE_FIELD, None)
        if bundle is None:
            raise BadRequest("the multipart form has no 'bundle' field")
        fields: dict[str, str] = {}
        for name, raw in self.parts.items():
            try:
                fields[name] = raw.decode("utf-8").strip()
            except UnicodeDecodeError:
                raise BadRequest(f"the form field '{name}' is not UTF-8 text") from None
        return Upload(data=bytes(bundle), fields=fields)


async def _read_multipart(request: Request[Any, Any, Any], ceiling: int, limit: int) -> Upload:
    form = _Form(limit)
    try:
        with PushMultipartParser(_boundary(request), max_segment_count=16) as parser:
            async for chunk in limited_chunks(request, ceiling, limit):
                _feed(parser, form, chunk)
            _feed(parser, form, b"")  # end of input: the parser checks the closing boundary
            if not parser.closed:
                raise BadRequest("the multipart form is truncated")
    except MultipartError as exc:
        raise BadRequest(f"invalid multipart/form-data: {exc}") from None
    return form.upload()


def _feed(parser: PushMultipartParser, form: _Form, chunk: bytes) -> None:
    for event in parser.parse(chunk):
        if isinstance(event, MultipartSegment):
            form.start(event)
        elif event:
            form.data(event)
