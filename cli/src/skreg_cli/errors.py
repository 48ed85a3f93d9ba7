"""The CLI's one error type and its exit codes (documented in `skreg --help` and the README).

Every failure a user can cause or meet ends as a `CliError`: one line saying
what went wrong, one line of hint, a stable exit code for scripts, and details
shown only with `--verbose`.
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """Process exit codes; scripts may rely on them."""

    OK = 0
    FAILED = 1  # problems found (validate/publish), or any other error
    USAGE = 2  # bad arguments (click's own code)
    NETWORK = 3  # registry unreachable, timed out, or failing (5xx)
    UNAUTHENTICATED = 4  # 401: no credential, or a rejected one
    FORBIDDEN = 5  # 403: the credential may not do this
    NOT_FOUND = 6  # 404: no such skill or version
    CONFLICT = 7  # 409, a locally modified copy, or a lockfile that would change under --frozen
    REJECTED = 8  # 413 / 422: the registry refused the input
    RATE_LIMITED = 9  # 429: wait Retry-After seconds
    INTEGRITY = 10  # digest or signature mismatch, or an unsafe bundle: nothing was installed


EXIT_CODE_HELP: tuple[tuple[ExitCode, str], ...] = (
    (ExitCode.OK, "success"),
    (ExitCode.FAILED, "problems found (validate, publish, verify) or another error"),
    (ExitCode.USAGE, "bad arguments"),
    (ExitCode.NETWORK, "registry unreachable, timed out or failing (5xx)"),
    (ExitCode.UNAUTHENTICATED, "not signed in, or the credential was rejected (401)"),
    (ExitCode.FORBIDDEN, "not allowed (403)"),
    (ExitCode.NOT_FOUND, "no such skill or version (404)"),
    (ExitCode.CONFLICT, "conflict: 409, a locally modified copy, --frozen lock change or yank"),
    (ExitCode.REJECTED, "the registry rejected the input (413, 422)"),
    (ExitCode.RATE_LIMITED, "rate limited (429): wait Retry-After and retry"),
    (ExitCode.INTEGRITY, "digest or signature mismatch, unsafe bundle (verify: drift)"),
)


class CliError(Exception):
    """A failure to report as `skreg: <message>` plus a hint; never a traceback."""

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        code: ExitCode = ExitCode.FAILED,
        details: list[str] | None = None,
        verbose_details: list[str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.code = code
        # Always shown (e.g. the list of 422 problems) ...
        self.details = details or []
        # ... and only with --verbose (the raw response, the request).
        self.verbose_details = verbose_details or []
