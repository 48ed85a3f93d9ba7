"""The one place that turns Structs into bytes and back (JSON for HTTP, msgpack for jobs).

Decoders are cached per type: building one is the expensive part.
"""

from __future__ import annotations

from collections.abc import Hashable
from functools import cache
from typing import Any, TypeVar, cast

import msgspec

T = TypeVar("T")

_json_encoder = msgspec.json.Encoder()
_msgpack_encoder = msgspec.msgpack.Encoder()


def to_json(value: Any) -> bytes:
    """Encode any msgspec-supported value as JSON bytes."""
    return _json_encoder.encode(value)


def to_msgpack(value: Any) -> bytes:
    """Encode any msgspec-supported value as msgpack bytes (job payloads; never pickle)."""
    return _msgpack_encoder.encode(value)


@cache
def _json_decoder(type_: Hashable) -> msgspec.json.Decoder[Any]:
    return msgspec.json.Decoder(type_)


@cache
def _msgpack_decoder(type_: Hashable) -> msgspec.msgpack.Decoder[Any]:
    return msgspec.msgpack.Decoder(type_)


def from_json(data: bytes | str, type_: type[T]) -> T:
    """Decode JSON into `type_`, validating it; raises `msgspec.ValidationError`."""
    decoder: msgspec.json.Decoder[T] = _json_decoder(cast(Hashable, type_))
    return decoder.decode(data)


def from_msgpack(data: bytes, type_: type[T]) -> T:
    """Decode msgpack into `type_`, validating it; raises `msgspec.ValidationError`."""
    decoder: msgspec.msgpack.Decoder[T] = _msgpack_decoder(cast(Hashable, type_))
    return decoder.decode(data)
