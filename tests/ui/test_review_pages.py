"""The review pages and the skill page's scan section, over HTTP against the real server."""

from __future__ import annotations

import httpx

from tests.ui.conftest import Server
from tests.ui.test_http import HTML, csrf_of, signed_in_client

HIDDEN_MD = b"""---
name: held-ui
description: A skill whose instructions hide text from a reviewer.
metadata:
  version: "1.0.0"
---
# Held

Do this \xe2\x80\xae(reversed)\xe2\x80\xac now.
"""
PAGE = "/skills/admin/held-ui/versions/1.0.0"


def test_held_version_review_dispute_and_approve_in_the_web_ui(ui_server: Server) -> None:
    ui_server.publish({"SKILL.md": (HIDDEN_MD, False)}, ui_server.api_token())
    with httpx.Client(base_url=ui_server.url, headers=HTML, timeout=30) as anonymous:
        assert anonymous.get(PAGE).status_code == 404
    with signed_in_client(ui_server.url) as admin:
        page = admin.get(PAGE)
        assert page.status_code == 200
        assert 'data-testid="scan-verdict">suspicious<' in page.text
        assert 'data-testid="withheld"' in page.text
        assert "unicode.bidi-control" in page.text
        disputed = admin.post(
            f"{PAGE}/dispute",
            data={
                "csrf_token": csrf_of(page.text),
                "rule": "unicode.bidi-control",
                "note": "the reversed text is a documented example",
            },
        )
        assert disputed.status_code == 303
        queue = admin.get("/admin/review")
        assert queue.status_code == 200
        assert "admin/held-ui@1.0.0" in queue.text
        assert "the reversed text is a documented example" in queue.text
        assert "\\u202e" in queue.text  # the excerpt spells the invisible character out
        refused = admin.post(
            "/admin/review/admin/held-ui/1.0.0", data={"action": "approve", "reason": "ok"}
        )
        assert refused.status_code == 403  # no CSRF token
        approved = admin.post(
            "/admin/review/admin/held-ui/1.0.0",
            data={
                "csrf_token": csrf_of(queue.text),
                "action": "approve",
                "reason": "an example, not an instruction",
            },
        )
        assert approved.status_code == 303
        rescan = admin.post("/admin/review/rescans", data={"csrf_token": csrf_of(queue.text)})
        assert rescan.status_code == 303
    with httpx.Client(base_url=ui_server.url, headers=HTML, timeout=30) as anonymous:
        public = anonymous.get(PAGE)
        assert public.status_code == 200
        assert 'data-testid="review-decision"' in public.text
        assert "an example, not an instruction" in public.text
