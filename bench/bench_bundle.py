"""How long refusing hostile bundles takes: the figures behind tests/proto/test_bundle.py.

The tests bound what a hostile bundle may cost by what the reader does (bytes
decompressed, tar headers parsed); this script times the same three bundles on
this machine and prints the figures. Run `make bench` or
`uv run --frozen python bench/bench_bundle.py [--runs N]`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # reuse the test suite's hand-built archives

from skreg_proto.bundle import read_bundle  # noqa: E402
from skreg_proto.problems import FormatError  # noqa: E402

from tests.support.bundles import (  # noqa: E402
    bomb_after_the_archive,
    bomb_inside_a_header,
    hundred_thousand_tiny_files,
)

CASES: dict[str, Callable[[], bytes]] = {
    "100,000 tiny files (stops at the file limit)": hundred_thousand_tiny_files,
    "4 GiB of zeros after the archive": bomb_after_the_archive,
    "4 GiB long-name header": bomb_inside_a_header,
}


def refusal_seconds(data: bytes) -> float:
    """Seconds `read_bundle` takes to refuse `data` (it must refuse it)."""
    started = time.perf_counter()
    try:
        read_bundle(data)
    except FormatError:
        return time.perf_counter() - started
    raise AssertionError("the hostile bundle was accepted")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed refusals per bundle")
    args = parser.parse_args()
    print(f"{'bundle':<46} {'compressed':>11} {'median ms':>10} {'max ms':>8}")
    for label, build in CASES.items():
        data = build()
        times = [refusal_seconds(data) * 1000 for _ in range(args.runs)]
        print(f"{label:<46} {len(data):>11,} {statistics.median(times):>10.1f} {max(times):>8.1f}")


if __name__ == "__main__":
    main()
