"""The plain-Python checks: what needs context or combinations, not just a byte pattern.

Each check reads one `FileText` and reports through `Reporter.add`, which turns a rule
id, a line and the matched text into a `Finding` with the severity the context gives
it (see `Reporter.severity`). The rules' ids, messages, severities, patterns and lists
all live in `rules/checks.toml`.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterator
from functools import cache
from typing import Any

from skreg_catalog.scanning.report import Finding, Severity
from skreg_catalog.scanning.ruleset import FastPattern, RuleMeta, Ruleset, ascii_lower, lower
from skreg_catalog.scanning.text import FileText, excerpt

MAX_FINDINGS_PER_RULE = 20  # per file: a report stays readable and bounded
# Matches of one pattern looked at per file. Many matches on one line are deduplicated
# by line, so without this a line of repeated trigger words costs work per match.
MAX_MATCHES_PER_PATTERN = 500


class Reporter:
    """Collects a file's findings, applying context to each rule's base severity."""

    def __init__(self, ruleset: Ruleset, text: FileText | None, path: str) -> None:
        self.ruleset = ruleset
        self.text = text
        self.path = path
        self.findings: list[Finding] = []
        self._counts: dict[str, int] = defaultdict(int)
        self._seen: set[tuple[str, int]] = set()

    def severity(self, meta: RuleMeta, line: int, *, offset: int = -1) -> Severity:
        """The rule's severity here: lower where the line discusses or quotes the pattern
        (security-audit docs, detection regexes), higher in a hidden HTML comment."""
        text = self.text
        if text is None:
            return meta.severity
        base = meta.doc_severity if text.is_doc else meta.severity
        if line and text.discusses(line):
            return lower(base, 2)
        if offset >= 0 and text.in_comment(offset):
            return lower(base, -1)
        return base

    def full(self, rule_id: str) -> bool:
        """Whether `rule_id` has reported as many findings in this file as it may."""
        return self._counts[rule_id] >= MAX_FINDINGS_PER_RULE

    def add(
        self,
        rule_id: str,
        line: int,
        matched: str,
        *,
        offset: int = -1,
        severity: Severity | None = None,
        message: str | None = None,
    ) -> Finding | None:
        meta = self.ruleset.meta[rule_id]
        if (rule_id, line) in self._seen or self._counts[rule_id] >= MAX_FINDINGS_PER_RULE:
            return None
        self._seen.add((rule_id, line))
        self._counts[rule_id] += 1
        finding = Finding(
            rule=meta.id,
            family=meta.family,
            severity=severity or self.severity(meta, line, offset=offset),
            file=self.path,
            line=line,
            excerpt=excerpt(matched),
            message=message or meta.message,
        )
        self.findings.append(finding)
        return finding


# ------------------------------------------------------------------ line rules


def line_rules(text: FileText, report: Reporter) -> None:
    for rule in report.ruleset.line_rules:
        if rule.scope != "all" and rule.scope != text.kind:
            continue
        for count, match in enumerate(rule.pattern.finditer(text.lowered)):
            if count >= MAX_MATCHES_PER_PATTERN:
                break
            line = text.line_of(match.start())
            if rule.unless is not None and rule.unless.search(text.lowered_line(line)):
                continue
            added = report.add(rule.meta.id, line, text.line(line), offset=match.start())
            if added is None and report.full(rule.meta.id):
                break


_AGENT_WORDS = FastPattern(
    r"\b(ai|assistant|agent|claude|llm|model|gpt|copilot|cursor)\b[^\n]{0,200}?\b(must|should|"
    r"always|never|ignore|execute|run|send|upload|do not|don't|instead)\b"
)


def hidden_comments(text: FileText, report: Reporter) -> None:
    """HTML comments in Markdown that address the agent: invisible to a human reader."""
    for start, end in text.comments()[:200]:
        body = text.text[start:end][:4096]
        if _AGENT_WORDS.search(text.lowered, start, min(end, start + 4096)):
            line = text.line_of(start)
            report.add("pi.hidden-comment", line, body)


# ------------------------------------------------------------------ hidden unicode

_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff\u180e")
_HIDDEN_RE = re.compile(
    "[\u200b-\u200d\u2060\ufeff\u180e\u202a-\u202e\u2066-\u2069\U000e0000-\U000e007f\U000e0100-\U000e01ef]"
)
_RTL_RE = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff]")


def _is_emoji_part(char: str) -> bool:
    code = ord(char)
    return (
        code >= 0x1F000
        or 0x2190 <= code <= 0x2BFF
        or code in (0xFE0F, 0x20E3)
        or unicodedata.category(char) == "So"
    )


def _is_non_latin_letter(char: str) -> bool:
    return ord(char) > 0x24F and (char.isalpha() or unicodedata.category(char) in ("Mn", "Mc"))


def _allowed_invisible(text: str, at: int) -> bool:
    """Zero-width characters real text needs: joiners in emoji sequences, joiners and
    non-joiners in Persian, Arabic and Indic scripts, word breaks in Thai or CJK, a BOM."""
    char = text[at]
    before = text[at - 1] if at > 0 else ""
    after = text[at + 1] if at + 1 < len(text) else ""
    if char == "\ufeff":
        return at == 0
    if char == "\u200d" and (_is_emoji_part(before) if before else False):
        return True
    return bool(before and after and _is_non_latin_letter(before) and _is_non_latin_letter(after))


def hidden_unicode(text: FileText, report: Reporter) -> None:
    zero_width: list[int] = []
    source = text.text
    for match in _HIDDEN_RE.finditer(source):
        at = match.start()
        char = source[at]
        code = ord(char)
        if 0xE0000 <= code <= 0xE01EF:
            # Subdivision flags (🏴 + tags + cancel tag) are emoji; anything else hides text.
            if 0xE0000 <= code <= 0xE007F and _in_flag_sequence(source, at):
                continue
            if code >= 0xE0100 and _short_selector_run(source, at):
                continue
            line = text.line_of(at)
            report.add("unicode.tag-characters", line, text.line(line))
        elif char in _BIDI:
            line = text.line_of(at)
            if text.is_doc and _RTL_RE.search(text.line(line)[:4096]):
                continue  # right-to-left prose uses these to lay out mixed text
            report.add("unicode.bidi-control", line, text.line(line), offset=at)
        elif not _allowed_invisible(source, at):
            zero_width.append(at)
        if len(zero_width) > 1000:
            break
    if zero_width:
        line = text.line_of(zero_width[0])
        meta = report.ruleset.meta["unicode.zero-width"]
        # One stray zero-width space is usually a copy-paste accident; several hide text.
        severity = report.severity(meta, line) if len(zero_width) >= 3 else "low"
        report.add(
            "unicode.zero-width",
            line,
            text.line(line),
            severity=severity,
            message=f"{len(zero_width)} zero-width character(s) inside words; {meta.message}",
        )


def _in_flag_sequence(source: str, at: int) -> bool:
    start = at
    while start > 0 and 0xE0020 <= ord(source[start - 1]) <= 0xE007F and at - start < 8:
        start -= 1
    return start > 0 and source[start - 1] == "\U0001f3f4"


def _short_selector_run(source: str, at: int) -> bool:
    """One or two supplementary variation selectors after a character are ideographic
    variants; long runs encode hidden bytes ("emoji smuggling")."""
    run = 0
    for char in source[max(0, at - 4) : at + 5]:
        run = run + 1 if 0xE0100 <= ord(char) <= 0xE01EF else 0
        if run > 2:
            return False
    return True


# ------------------------------------------------------------------ URLs

_URL = FastPattern(r"\b(?:https?|ftp|wss?)://([^\s/\"'<>()\[\]{}`\\|]{1,255})")
# A fetch command up to 200 characters before a bare IPv4 address on the same line.
# Searched from each address backwards (not from each command forwards: a line of
# repeated "curl" would cost 200 steps per word).
_BARE_IP = re.compile(r"(?<![\w.])(\d{1,3}(?:\.\d{1,3}){3})(?![\w.])")
_FETCH_WORD = FastPattern(r"\b(?:curl|wget|nc|ncat|invoke-webrequest|iwr|irm|scp)\b")
_FETCH_REACH = 200
_QUOTED_IP = re.compile(r"[\"'](\d{1,3}(?:\.\d{1,3}){3})[\"']")
_PRIVATE = tuple(
    ipaddress.ip_network(n)
    for n in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "0.0.0.0/8",
        "224.0.0.0/3",
        "169.254.0.0/16",
    )
)
_WELL_KNOWN_RESOLVERS = frozenset({"1.1.1.1", "1.0.0.1", "8.8.8.8", "8.8.4.4", "9.9.9.9"})
_METADATA = frozenset({"169.254.169.254", "metadata.google.internal", "fd00:ec2::254"})


@cache
def _host_sets(
    ruleset: Ruleset,
) -> tuple[frozenset[str], frozenset[str], frozenset[str], re.Pattern[str]]:
    lists = ruleset.lists
    return (
        frozenset(lists["paste_hosts"]),
        frozenset(lists["shorteners"]),
        frozenset(lists["exfil_hosts"]),
        re.compile("|".join(lists["exfil_paths"]), re.IGNORECASE),
    )


def _public_ip(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if host in _WELL_KNOWN_RESOLVERS or address.version != 4:
        return address.version == 6 and address.is_global
    return not any(address in network for network in _PRIVATE)


def _matches_host(host: str, names: frozenset[str]) -> bool:
    parts = host.split(".")
    return any(".".join(parts[i:]) in names for i in range(len(parts) - 1))


def urls(text: FileText, report: Reporter) -> None:
    paste, shorteners, exfil, exfil_paths = _host_sets(report.ruleset)
    source = text.lowered
    for match in _URL.finditer(source):
        authority = match.group(1)
        host = authority.rsplit("@", 1)[-1]
        if host.startswith("[") and "]" in host:
            host = host[1 : host.index("]")]
        else:
            host = host.split(":", 1)[0]
        host = host.rstrip(".,;")
        rule = None
        if host in _METADATA:
            rule = "url.cloud-metadata"
        elif _public_ip(host):
            rule = "url.raw-ip"
        elif _matches_host(host, exfil):
            rule = "url.exfil-endpoint"
        elif _matches_host(host, paste):
            rule = "url.paste-site"
        elif _matches_host(host, shorteners):
            rule = "url.shortener"
        elif exfil_paths.match(source, match.start(1)):
            rule = "url.exfil-endpoint"
        if rule:
            line = text.line_of(match.start())
            report.add(rule, line, text.line(line), offset=match.start())
    for count, match in enumerate(_BARE_IP.finditer(source)):
        if count >= MAX_MATCHES_PER_PATTERN:
            break
        at = match.start(1)
        line_start = source.rfind("\n", max(0, at - _FETCH_REACH - 20), at) + 1
        reach = max(line_start, at - _FETCH_REACH - 20)
        if _FETCH_WORD.search(source, reach, at):
            _report_ip(text, report, match.group(1), at)
    if not text.is_doc:
        # A quoted address in code is only a destination when the line connects to it
        # (tests and configs quote addresses all the time).
        network = _credential_patterns(report.ruleset)[3]
        for count, match in enumerate(_QUOTED_IP.finditer(source)):
            if count >= MAX_MATCHES_PER_PATTERN:
                break
            line = text.line_of(match.start(1))
            if network.search(text.lowered_line(line)) or _CONNECT.search(text.lowered_line(line)):
                _report_ip(text, report, match.group(1), match.start(1))


_CONNECT = re.compile(r"\.connect(_ex)?\s{0,4}\(|create_connection|\bhost\s{0,4}[=:]")


def _report_ip(text: FileText, report: Reporter, host: str, offset: int) -> None:
    if host in _METADATA:
        rule = "url.cloud-metadata"
    elif _public_ip(host):
        rule = "url.raw-ip"
    else:
        return
    line = text.line_of(offset)
    report.add(rule, line, text.line(line), offset=offset)


# ------------------------------------------------------------------ credentials


@cache
def _credential_patterns(ruleset: Ruleset) -> tuple[FastPattern, ...]:
    lists = ruleset.lists
    return (
        FastPattern("|".join(lists["secret_stores"])),
        FastPattern("|".join(lists["tool_credentials"])),
        FastPattern("|".join(lists["env_dump"])),
        FastPattern("|".join(lists["network"])),
    )


_ACCESS_VERB = FastPattern(
    r"\b(cat|read|open|copy|cp|upload|send|include|attach|base64|tar|zip|collect|grab|exfiltrate|"
    r"type|get-content|readfile|readfilesync|curl)\b"
)


def credentials(text: FileText, report: Reporter) -> None:
    """Credential stores read in a file that also talks to the network.

    Same line (`cat ~/.aws/credentials | curl -d @- …`): critical anywhere. Code:
    a secret store (SSH keys, browser, keychain, wallets) with any network call is
    critical, a tool's credentials with one high. Markdown only counts lines that act
    on a secret store (cat, copy, upload, …), since docs mention these paths to explain.
    """
    secret_stores, tool_credentials, env_dump, network = _credential_patterns(report.ruleset)
    source = text.lowered
    # Searched only when a credential shows up: the network expressions carry a
    # 200-character window per command word, the costliest search in this check.
    network_searched = False
    network_match: re.Match[str] | None = None

    def network_in_file() -> bool:
        nonlocal network_searched, network_match
        if not network_searched:
            network_match = network.search(source)
            network_searched = True
        return network_match is not None

    for tier, pattern in (("secret", secret_stores), ("tool", tool_credentials)):
        first_access: int | None = None
        for count, match in enumerate(pattern.finditer(source)):
            if count >= 200:
                break
            line = text.line_of(match.start())
            lowered_line = text.lowered_line(line)
            if network.search(lowered_line):
                report.add("cred.read-and-send-line", line, text.line(line), offset=match.start())
                return
            if first_access is None and (not text.is_doc or _ACCESS_VERB.search(lowered_line)):
                first_access = match.start()
        if first_access is None:
            continue
        line = text.line_of(first_access)
        if tier == "secret" and network_in_file():
            report.add("cred.read-and-send", line, text.line(line), offset=first_access)
        elif tier == "secret" and not text.is_doc:
            report.add("cred.read", line, text.line(line), offset=first_access)
        elif tier == "tool" and network_in_file():
            report.add(
                "cred.tool-credentials-and-network", line, text.line(line), offset=first_access
            )
    dump = env_dump.search(source)
    if dump and network_in_file():
        line = text.line_of(dump.start())
        report.add("cred.env-dump-and-send", line, text.line(line), offset=dump.start())


# ------------------------------------------------------------------ encoded blobs

_BLOB = re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{40,}={0,2}|\b[0-9a-fA-F]{80,}\b")
_DATA_URI = re.compile(r"data:[\w/+.-]{0,64};base64,$", re.IGNORECASE)
_LONG_BLOB = 200
_DECODE_EXEC = FastPattern(
    r"\b(exec|eval|function|iex|invoke-expression)\b[^\n]{0,200}\b(b64decode|b32decode|"
    r"b85decode|a85decode|decodebytes|fromhex|unhexlify|decompress|marshal\.loads|atob|"
    r"frombase64string|buffer\.from)\b|\bbase64\s{1,8}(-[a-z]{1,3}\s{1,8}){0,3}(-d|--decode)\b"
    r"[^\n]{0,200}\|\s{0,8}(sudo\s{1,8})?(ba|z|da)?sh\b"
)
_PAYLOAD_WORDS = FastPattern(
    r"\b(curl|wget|bash|/bin/sh|sh\s+-c|powershell|invoke-webrequest|iex|chmod|nohup|"
    r"python3?\s+-c|eval|exec|osascript|nc\s+-e)\b"
)


def _decoded_text(blob: str) -> str | None:
    try:
        if len(blob) >= 80 and all(c in "0123456789abcdefABCDEF" for c in blob[:80]):
            raw = binascii.unhexlify(blob[: 64 * 1024] if len(blob) % 2 == 0 else blob[:-1])
        else:
            padded = blob[: 64 * 1024]
            raw = base64.b64decode(padded + "=" * (-len(padded) % 4))
    except (binascii.Error, ValueError):
        return None
    if not raw:
        return None
    printable = sum(32 <= b < 127 or b in (9, 10, 13) for b in raw)
    if printable / len(raw) < 0.9:
        return None
    return raw.decode("ascii", "replace")


def _is_base64(blob: str) -> bool:
    """Real encoded data, not a long path or identifier: decodes strictly, mixes cases
    and digits."""
    if len(blob) >= _LONG_BLOB and all(c in "0123456789abcdefABCDEF" for c in blob[:4096]):
        return True
    sample = blob[: 4096 - 4096 % 4] if len(blob) >= 4096 else blob[: len(blob) - len(blob) % 4]
    try:
        base64.b64decode(sample, validate=True)
    except (binascii.Error, ValueError):
        return False
    return (
        any(c.isdigit() for c in sample)
        and any(c.isupper() for c in sample)
        and any(c.islower() for c in sample)
        and sample.count("/") < len(sample) // 10
    )


def encoded_blobs(text: FileText, report: Reporter) -> None:
    source = text.text
    decode_exec = _DECODE_EXEC.search(text.lowered)
    long_blob: int | None = None
    decoded_hits = 0
    for count, match in enumerate(_BLOB.finditer(source)):
        if count >= 200:
            break
        if _DATA_URI.search(source, max(0, match.start() - 80), match.start()):
            continue  # an inline image or font, not code
        blob = match.group(0)
        if len(blob) >= _LONG_BLOB and long_blob is None and _is_base64(blob):
            long_blob = match.start()
        decoded = _decoded_text(blob)
        if decoded and _PAYLOAD_WORDS.search(ascii_lower(decoded)) and decoded_hits < 3:
            line = text.line_of(match.start())
            decoded_hits += 1
            meta = report.ruleset.meta["enc.decoded-payload"]
            report.add(
                "enc.decoded-payload",
                line,
                decoded,
                offset=match.start(),
                message=f"{meta.message} (decoded: {excerpt(decoded)[:100]!r})",
            )
    if decode_exec and long_blob is not None:
        line = text.line_of(long_blob)
        report.add("enc.blob-decoded-and-executed", line, text.line(line)[:200], offset=long_blob)


# ------------------------------------------------------------------ committed secrets


@cache
def _secret_detectors(plugins: tuple[str, ...]) -> tuple[tuple[str, re.Pattern[str]], ...]:
    """The denylist expressions of the chosen detect-secrets plugins, by secret type."""
    # Imported on first use: detect-secrets pulls in `requests`, which nobody importing
    # the catalog's settings should pay for.
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
    from detect_secrets.plugins.base import RegexBasedDetector

    classes: list[type[Any]] = list(get_mapping_from_secret_type_to_class().values())
    by_name: dict[str, type[RegexBasedDetector]] = {
        cls.__name__: cls for cls in classes if issubclass(cls, RegexBasedDetector)
    }
    detectors = []
    for name in plugins:
        plugin = by_name[name]()
        for pattern in plugin.denylist:
            detectors.append((str(plugin.secret_type), pattern))
    return tuple(detectors)


_PRIVATE_KEY = "Private Key"  # detect-secrets' secret_type, not a password
_KEY_BODY = re.compile(r"-----\s*\n?(?:[A-Za-z0-9+/=]{40,}\s*\n){2,}")


# detect-secrets' OpenAI expression backtracks on long runs of "sk-"; it only runs on
# windows around the literal every such key contains.
_WINDOWED = {"OpenAI Token": "T3BlbkFJ"}
_WINDOW_BEFORE = 300
_MAX_WINDOWS = 50


def _secret_matches(
    source: str, secret_type: str, pattern: re.Pattern[str]
) -> Iterator[re.Match[str]]:
    literal = _WINDOWED.get(secret_type)
    if literal is None:
        yield from pattern.finditer(source)
        return
    at = source.find(literal)
    windows = 0
    while at != -1 and windows < _MAX_WINDOWS:
        windows += 1
        yield from pattern.finditer(source, max(0, at - _WINDOW_BEFORE), at + 40)
        at = source.find(literal, at + len(literal))


def secrets(text: FileText, report: Reporter) -> None:
    source = text.text
    placeholders = report.ruleset.secret_placeholders
    for secret_type, pattern in _secret_detectors(report.ruleset.secret_plugins):
        for count, match in enumerate(_secret_matches(source, secret_type, pattern)):
            if count >= MAX_MATCHES_PER_PATTERN or report.full("secret.committed"):
                break
            value = match.group(match.lastindex or 0) if match.lastindex else match.group(0)
            if placeholders.search(value):
                continue
            if secret_type == _PRIVATE_KEY and not _KEY_BODY.match(
                source, source.find("-----", match.end()), match.end() + 4096
            ):
                continue  # a header quoted in docs, not a key
            line = text.line_of(match.start())
            masked = value[:4] + "…" if len(value) > 8 else "…"
            report.add(
                "secret.committed",
                line,
                text.line(line).replace(value, masked)[:160],
                message=f"{secret_type}: {report.ruleset.meta['secret.committed'].message}",
            )
