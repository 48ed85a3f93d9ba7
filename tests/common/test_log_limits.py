"""Repeated identical warning/error lines are rate-limited, in structlog and stdlib logs alike."""

from __future__ import annotations

import json
import subprocess
import sys

from skreg_common.logging import REPEAT_BURST, RepeatLimiter

FLOOD = """
import logging, structlog
from skreg_common.logging import configure_logging
configure_logging("INFO", json=True)
log = structlog.get_logger("flood")
for n in range(2000):
    log.warning("client.refused", reason="too slow", request_id=str(n))
    logging.getLogger("asyncio").error("socket.accept() out of system resource")
    log.info("request.finished", status=200)
log.warning("client.refused", reason="other")
"""


def test_a_flood_of_identical_lines_is_cut_to_a_burst() -> None:
    done = subprocess.run(
        [sys.executable, "-c", FLOOD], capture_output=True, text=True, timeout=60, check=True
    )
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    events = [line["event"] for line in lines]
    assert events.count("client.refused") == REPEAT_BURST + 1  # the distinct one still shows
    assert events.count("socket.accept() out of system resource") == REPEAT_BURST
    assert events.count("request.finished") == 2000  # info lines are never dropped


def test_the_next_window_reports_how_many_were_dropped() -> None:
    now = [0.0]
    limiter = RepeatLimiter(burst=2, window_s=10, clock=lambda: now[0])
    assert [limiter.admit("k") for _ in range(5)] == [0, 0, None, None, None]
    assert limiter.admit("other") == 0
    now[0] = 11.0
    assert limiter.admit("k") == 3
    assert limiter.admit("k") == 0
