"""How long the scanner takes per bundle: the figures behind issue #15's "p50 ≤ 50 ms".

Prints, with the machine's CPU steal time beside each figure:

- the first scan in this process (compiling the YARA-X rules, importing detect-secrets),
  which the catalog pays at start-up instead (`component.py` warms the rules);
- p50/p99 of scanning a typical ~50 KB skill (SKILL.md, a few scripts, references,
  written like real skills: prose, fenced commands, API calls), repeated;
- p50/p99 over the bundles of the test corpus (tests/scanning/corpus).

Run `make bench` or `uv run --frozen python bench/bench_scan.py [--seconds S]`.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the test corpus loader

from loadkit import StealMeter  # noqa: E402  (bench/loadkit.py, beside this script)
from skreg_catalog.scanning import scan_files  # noqa: E402

from tests.scanning.corpus_support import load_corpus  # noqa: E402

_PROSE = (
    "the skill reads a table from the project and writes a summary for the user; "
    "run the script with the path of the input file, check the output before you commit it, "
    "and ask the user when a value is missing. Each section lists the options, their "
    "defaults and an example. Use the API token from the environment variable, never a "
    "literal; requests time out after thirty seconds and are retried twice."
)
_WORDS = _PROSE.split(" ")


def _prose(rng: random.Random, chars: int) -> str:
    out: list[str] = []
    size = 0
    while size < chars:
        sentence = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(8, 20))) + ".\n"
        if rng.random() < 0.08:
            sentence = f"\n## {rng.choice(_WORDS).title()} {rng.choice(_WORDS)}\n\n"
        elif rng.random() < 0.06:
            sentence = (
                "\n```bash\npip install requests\npython scripts/fetch.py --input data.csv "
                "--out report.md\n"
                "curl -s https://api.github.com/repos/owner/repo | jq .name\n```\n\n"
            )
        out.append(sentence)
        size += len(sentence)
    return "".join(out)


_PYTHON_FUNCTION = '''
def fetch_{n}(session: requests.Session, owner: str, repo: str) -> dict:
    """Fetch page {n} of the repository's issues and keep the fields the report needs."""
    token = os.environ.get("GITHUB_TOKEN", "")
    response = session.get(
        f"https://api.github.com/repos/{{owner}}/{{repo}}/issues?page={n}",
        headers={{"Authorization": f"Bearer {{token}}"}},
        timeout=30,
    )
    response.raise_for_status()
    return {{item["number"]: item["title"] for item in response.json()}}
'''

_SHELL = """#!/usr/bin/env bash
set -euo pipefail
# Build the report from the CSV the user passes.
input="${1:?usage: run.sh INPUT}"
out="${2:-report.md}"
python3 "$(dirname "$0")/fetch.py" --input "$input" --out "$out"
echo "wrote $out"
"""


def typical_bundle(seed: int = 1) -> dict[str, bytes]:
    """About 50 KB shaped like a real skill."""
    rng = random.Random(seed)
    front = "---\nname: issue-report\ndescription: Summarise a repository's issues.\n---\n\n"
    fetch = "import os\n\nimport requests\n" + "".join(
        _PYTHON_FUNCTION.format(n=n) for n in range(12)
    )
    return {
        "SKILL.md": (front + "# Issue report\n\n" + _prose(rng, 7_000)).encode(),
        "scripts/fetch.py": fetch.encode(),
        "scripts/run.sh": _SHELL.encode(),
        "references/api.md": _prose(rng, 20_000).encode(),
        "references/guide.md": _prose(rng, 14_000).encode(),
    }


def _timed(files: dict[str, bytes]) -> float:
    started = time.perf_counter()
    scan_files(files)
    return time.perf_counter() - started


def _percentiles(seconds: list[float]) -> tuple[float, float]:
    ordered = sorted(seconds)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return statistics.median(ordered), p99


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    args = parser.parse_args()

    bundle = typical_bundle()
    steal = StealMeter()
    first = _timed(bundle)  # rules compile and detect-secrets loads here
    print(f"first scan (rule load included): {first * 1000:8.1f} ms  steal {steal.share():.0%}")

    print(f"{'bundle':<34} {'KB':>6} {'scans':>6} {'p50 ms':>8} {'p99 ms':>8} {'steal':>6}")
    size = sum(map(len, bundle.values())) / 1000
    steal = StealMeter()
    times: list[float] = []
    deadline = time.perf_counter() + args.seconds
    while time.perf_counter() < deadline or len(times) < 5:
        times.append(_timed(bundle))
    p50, p99 = _percentiles(times)
    print(
        f"{'typical skill':<34} {size:6.1f} {len(times):6d} {p50 * 1000:8.1f} {p99 * 1000:8.1f}"
        f" {steal.share():6.0%}"
    )

    corpus = load_corpus()
    steal = StealMeter()
    times = []
    deadline = time.perf_counter() + args.seconds
    while time.perf_counter() < deadline or len(times) < len(corpus):
        times.append(_timed(corpus[len(times) % len(corpus)].files))
    p50, p99 = _percentiles(times)
    mean_kb = statistics.mean(sum(map(len, s.files.values())) for s in corpus) / 1000
    print(
        f"{f'corpus ({len(corpus)} bundles)':<34} {mean_kb:6.1f} {len(times):6d} "
        f"{p50 * 1000:8.1f} {p99 * 1000:8.1f} {steal.share():6.0%}"
    )


if __name__ == "__main__":
    main()
