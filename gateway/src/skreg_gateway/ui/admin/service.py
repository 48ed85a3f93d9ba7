"""Shaping admin form input into the importer's and auth's request bodies."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

import msgspec
from skreg_proto.importer import SourceCreate, SourceUpdate
from skreg_proto.problems import FieldProblem

B = TypeVar("B", SourceCreate, SourceUpdate)

MAX_FIELD = 2048
MAX_GLOBS_TEXT = 50 * 260  # 50 globs of up to 256 characters, one per line
ACTIVE_STATES = ("queued", "running")
# Short labels for the select; the form's hint explains the rule they share.
VERSION_POLICIES = {
    "declared": "report a conflict (default)",
    "generate_on_conflict": "generate a new version",
    "generated": "always generate; ignore tags and metadata.version",
}


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
    include: str = ""  # globs, one per line
    exclude: str = ""
    version_policy: str = "declared"
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
            include=text(form, "include", MAX_GLOBS_TEXT),
            exclude=text(form, "exclude", MAX_GLOBS_TEXT),
            version_policy=text(form, "version_policy", 32) or "declared",
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
            include="\n".join(source.include),
            exclude="\n".join(source.exclude),
            version_policy=source.version_policy,
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
            "include": _lines(self.include),
            "exclude": _lines(self.exclude),
            "version_policy": self.version_policy,
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


def field_errors(problems: list[FieldProblem]) -> dict[str, str]:
    """The API's problems by form field: `exclude[2]` shows under `exclude` as "line 3"."""
    errors: dict[str, str] = {}
    for problem in problems:
        name, _, index = problem.path.rsplit(".", 1)[-1].partition("[")
        message = problem.message
        if index.rstrip("]").isdigit():
            message = f"line {int(index.rstrip(']')) + 1}: {message}"
        errors[name] = f"{errors[name]}; {message}" if name in errors else message
    return errors


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]


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
        "include": "Up to 50 globs, one per line, each up to 256 characters.",
        "exclude": "Up to 50 globs, one per line, each up to 256 characters.",
        "version_policy": f"One of: {', '.join(VERSION_POLICIES)}.",
    }
    return hints.get(field_name, message.split(" - at ")[0])
