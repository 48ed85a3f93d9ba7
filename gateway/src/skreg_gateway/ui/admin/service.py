"""Shaping admin form input into the importer's and auth's request bodies."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

import msgspec
from skreg_proto.importer import SourceCreate, SourceUpdate

B = TypeVar("B", SourceCreate, SourceUpdate)

MAX_FIELD = 2048
ACTIVE_STATES = ("queued", "running")


def text(form: Any, name: str, limit: int = MAX_FIELD) -> str:
    """A trimmed text field ('' when missing)."""
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


@dataclass
class SourceForm:
    """The add/edit source form as typed, and what is wrong with it."""

    url: str = ""
    namespace: str = ""
    ref: str = ""
    subdirectory: str = ""
    interval_minutes: str = ""
    enabled: bool = True
    webhook_secret: str = ""
    token: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_form(cls, form: Any) -> SourceForm:
        """Read the posted fields."""
        return cls(
            url=text(form, "url"),
            namespace=text(form, "namespace", 64),
            ref=text(form, "ref", 255),
            subdirectory=text(form, "subdirectory", 1024),
            interval_minutes=text(form, "interval_minutes", 10),
            enabled=form.get("enabled") in ("on", "true", "1"),
            webhook_secret=text(form, "webhook_secret", 256),
            token=text(form, "token", 4096),
        )

    @classmethod
    def from_source(cls, source: Any) -> SourceForm:
        """Prefill from an existing source (secrets are never shown, only replaced)."""
        minutes = "" if source.interval is None else str(max(1, source.interval // 60))
        return cls(
            url=source.url,
            namespace=source.namespace,
            ref=source.ref or "",
            subdirectory=source.subdirectory or "",
            interval_minutes=minutes,
            enabled=source.enabled,
        )

    def _interval(self) -> int | None:
        if not self.interval_minutes:
            return None
        if not self.interval_minutes.isdigit():
            self.errors["interval_minutes"] = "Whole minutes, or empty for the default."
            return None
        return int(self.interval_minutes) * 60

    def fields(self) -> dict[str, Any]:
        """The JSON fields common to create and update (secrets only when typed)."""
        values: dict[str, Any] = {
            "url": self.url,
            "namespace": self.namespace,
            "ref": self.ref or None,
            "subdirectory": self.subdirectory or None,
            "interval": self._interval(),
            "enabled": self.enabled,
        }
        if self.webhook_secret:
            values["webhook_secret"] = self.webhook_secret
        if self.token:
            values["credentials"] = {"token": self.token}
        if not self.url:
            self.errors["url"] = "A Git URL is required."
        if not self.namespace:
            self.errors["namespace"] = "A namespace is required."
        return values

    def create_request(self) -> SourceCreate | None:
        """The create body, or None (with `errors` filled) when the form is wrong."""
        return self._convert(SourceCreate)

    def update_request(self) -> SourceUpdate | None:
        """The update body, or None (with `errors` filled) when the form is wrong."""
        return self._convert(SourceUpdate)

    def _convert(self, kind: type[B]) -> B | None:
        values = self.fields()
        if self.errors:
            return None
        try:
            return msgspec.convert(values, kind)
        except msgspec.ValidationError as exc:
            self.errors[_field_of(str(exc))] = _readable(str(exc))
            return None


def _field_of(message: str) -> str:
    # msgspec: "Expected `str` matching regex ... - at `$.namespace`"
    if "`$." in message:
        return message.rsplit("`$.", 1)[1].split("`")[0].split(".")[0].split("[")[0]
    return "form"


def _readable(message: str) -> str:
    field_name = _field_of(message)
    hints = {
        "namespace": "Lowercase letters, digits, '-' and '_', starting with a letter or digit.",
        "interval": "Between 1 minute and 30 days.",
        "webhook_secret": "At least 8 characters.",
        "url": "Up to 2048 characters.",
    }
    return hints.get(field_name, message.split(" - at ")[0])
