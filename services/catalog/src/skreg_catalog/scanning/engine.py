"""Running the rules over a bundle, off the event loop, within budget.

For every file (and every member of an archive in the bundle):

1. archives are opened in memory (`archives.py`) and their members scanned in turn;
2. YARA-X runs the byte rules (`rules/*.yar`) over the raw bytes;
3. text (anything without NUL bytes in its head, decoded leniently so invalid UTF-8
   cannot hide a payload) goes through the Python checks (`checks.py`): line rules
   from `rules/checks.toml`, hidden Unicode, URLs, credential access, encoded blobs,
   committed secrets (detect-secrets);
4. findings in one file are combined: a download-and-execute or decode-and-execute
   line that names a raw-IP, paste-site, shortener or exfiltration URL is critical,
   as are several prompt-injection techniques together and persistence next to
   remote code.

Severity depends on context (`checks.Reporter.severity`): Markdown instructions use a
rule's `doc_severity`; lines that discuss or pattern-match an attack (security-audit
skills) are lowered two steps; hidden HTML comments raise one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from concurrent.futures import Executor
from concurrent.futures.process import BrokenProcessPool
from functools import partial

import msgspec
import yara_x

from skreg_catalog.scanning import archives, checks
from skreg_catalog.scanning.limits import Budget, ScanLimits
from skreg_catalog.scanning.report import Finding, ScanFailed, ScanReport, Severity, verdict_of
from skreg_catalog.scanning.ruleset import Ruleset, load_ruleset, lower, rules_version
from skreg_catalog.scanning.text import FileText

# Known without compiling anything: the rules load on the first scan (`load_ruleset`).
RULES_VERSION = rules_version()
_TEXT_SNIFF = 8192
_MAX_YARA_LINES = 20  # matches reported per YARA rule and file
_ESCALATING_URLS = frozenset(
    {"url.raw-ip", "url.paste-site", "url.shortener", "url.exfil-endpoint", "url.cloud-metadata"}
)
_REMOTE_CODE = frozenset({"download-exec", "encoded-exec"})
_RANK: dict[Severity, int] = {"low": 0, "medium": 1, "high": 2, "critical": 3}


class _BundleScan:
    def __init__(self, ruleset: Ruleset, budget: Budget) -> None:
        self.ruleset = ruleset
        self.budget = budget
        self.scanner = yara_x.Scanner(ruleset.yara)
        self.findings: list[Finding] = []

    def file(self, path: str, data: bytes, depth: int = 0, text_rules: bool = True) -> None:
        """Scan one file (or archive member); its findings join the bundle's."""
        if depth == 0:
            self.budget.charge(len(data), path)
        self.budget.check_time()
        kind = archives.archive_kind(data)
        if kind is not None:
            report = checks.Reporter(self.ruleset, None, path)

            def emit(rule_id: str, message: str | None = None) -> None:
                report.add(rule_id, 0, path, message=message)

            before = len(self.findings)
            archives.inspect(path, data, kind, depth, self.budget, emit, self.file)
            if any(f.family == "native-executable" for f in self.findings[before:]):
                emit("archive.executable")
            self.findings.extend(report.findings)
            return
        text: FileText | None = None
        if text_rules and b"\x00" not in data[:_TEXT_SNIFF]:
            text = FileText(
                path,
                data.decode("utf-8", errors="replace"),
                self.ruleset.discussion,
                self.ruleset.pattern_line,
            )
        report = checks.Reporter(self.ruleset, text, path)
        self._yara(data, report, text)
        if text is not None:
            for check in (
                checks.line_rules,
                checks.hidden_comments,
                checks.hidden_unicode,
                checks.urls,
                checks.credentials,
                checks.encoded_blobs,
                checks.secrets,
            ):
                check(text, report)
                self.budget.check_time()
        self.findings.extend(_combine(report))

    def _yara(self, data: bytes, report: checks.Reporter, text: FileText | None) -> None:
        remaining = self.budget.remaining_seconds()
        if remaining <= 0:
            self.budget.check_time()
        self.scanner.set_timeout(max(1, int(remaining + 0.999)))
        try:
            results = self.scanner.scan(data)
        except yara_x.TimeoutError as exc:
            raise ScanFailed("the byte-pattern rules ran past the scan's time budget") from exc
        for rule in results.matching_rules:
            meta = self.ruleset.yara_meta[rule.identifier]
            offsets = sorted(m.offset for p in rule.patterns for m in p.matches)
            if text is None or not offsets:
                report.add(meta.id, 0, report.path)
                continue
            for offset in offsets[:_MAX_YARA_LINES]:
                line = data.count(b"\n", 0, offset) + 1
                char_offset = text.line_starts[line - 1] if line <= len(text.line_starts) else -1
                report.add(meta.id, line, text.line(line), offset=char_offset)


def _combine(report: checks.Reporter) -> list[Finding]:
    """Escalate what is worse together than apart, within one file."""
    findings = report.findings
    bad_url_lines = {f.line for f in findings if f.rule in _ESCALATING_URLS and f.line}
    out: list[Finding] = []
    for finding in findings:
        if finding.family in _REMOTE_CODE and finding.line in bad_url_lines:
            raised = _in_context(report, "critical", finding.line)
            if _RANK[raised] > _RANK[finding.severity]:
                finding = msgspec.structs.replace(finding, severity=raised)
        out.append(finding)

    def counted(f: Finding) -> bool:
        return _RANK[f.severity] >= _RANK["medium"]

    # Two injection techniques in one file; advice-like ones (low) count only next to a
    # real one.
    injections = [f for f in out if f.family == "prompt-injection"]
    if len({f.rule for f in injections}) >= 2 and any(counted(f) for f in injections):
        first = min(injections, key=lambda f: f.line)
        combined = report.add(
            "pi.combined",
            first.line,
            first.excerpt,
            severity=_in_context(report, "critical", first.line),
        )
        if combined:
            out.append(combined)
    persistence = [f for f in out if f.family == "persistence" and counted(f)]
    remote = [f for f in out if f.family in _REMOTE_CODE and counted(f)]
    if persistence and remote:
        first = persistence[0]
        meta = report.ruleset.meta["combo.persistence-with-download"]
        base = (
            meta.doc_severity if report.text is not None and report.text.is_doc else meta.severity
        )
        combo = report.add(
            "combo.persistence-with-download",
            first.line,
            first.excerpt,
            severity=_in_context(report, base, first.line),
        )
        if combo:
            out.append(combo)
    return out


def _in_context(report: checks.Reporter, severity: Severity, line: int) -> Severity:
    text = report.text
    if text is not None and line and text.discusses(line):
        return lower(severity, 2)
    return severity


def scan_files(files: Mapping[str, bytes], *, limits: ScanLimits | None = None) -> ScanReport:
    """Scan synchronously (call it off the event loop); raises `ScanFailed`."""
    ruleset = load_ruleset()
    scan = _BundleScan(ruleset, Budget(limits or ScanLimits()))
    try:
        for path in sorted(files):
            scan.file(path, files[path])
    finally:
        # YARA-X scanners must be dropped on the thread that made them; an exception's
        # traceback would otherwise carry this one to the event loop's thread.
        del scan.scanner
    found = tuple(sorted(scan.findings, key=lambda f: (-_RANK[f.severity], f.file, f.line, f.rule)))
    return ScanReport(verdict=verdict_of(found), rules_version=ruleset.version, findings=found)


def warm_up() -> None:
    """Compile the rules, import detect-secrets and run every check once.

    About a second on a first scan; the catalog calls this at start-up (in a worker
    thread) so that the first publish does not pay it.
    """
    scan_files({"SKILL.md": b"# warm-up\n\nRun `scripts/run.sh`.\n", "scripts/run.sh": b"echo\n"})


async def scan_bundle(
    files: Mapping[str, bytes],
    *,
    limits: ScanLimits | None = None,
    executor: Executor | None = None,
) -> ScanReport:
    """Scan a checked bundle's files off the event loop, in `executor` (default: a
    worker thread); raises `ScanFailed` if the scan cannot finish."""
    scan = partial(scan_files, dict(files), limits=limits)
    try:
        return await asyncio.get_running_loop().run_in_executor(executor, scan)
    except ScanFailed:
        raise
    except BrokenProcessPool as exc:  # a worker process died (killed, out of memory)
        raise ScanFailed("the scan worker process was lost") from exc
    except Exception as exc:  # any engine failure must not read as "clean"
        raise ScanFailed(f"scanner error: {type(exc).__name__}: {exc}") from exc
