"""A stand-in for the person at a browser, for `skreg login --sso --browser` in tests.

Python's `webbrowser` runs `$BROWSER` with the URL; pointed at this script, the
"browser" signs in at the real provider over HTTP (its own login and consent forms)
and follows the redirect to the CLI's loopback listener, as a browser would.

    BROWSER="python tests/support/oidc_browser.py <login> %s"
"""

from __future__ import annotations

import sys
from urllib.parse import urljoin

import httpx

from tests.support.oidc import sign_in_at_provider


def main(login: str, url: str) -> None:
    """Sign in as `login` starting at `url`, then deliver the answer to the loopback."""
    with httpx.Client(timeout=30) as browser:
        callback = httpx.URL(url).params["redirect_uri"]  # the CLI's loopback listener
        first = browser.get(url)
        redirect = sign_in_at_provider(browser, first, callback, login)
        if not redirect.is_redirect:
            raise SystemExit(f"the provider did not redirect back: {redirect.status_code}")
        target = urljoin(str(redirect.url), redirect.headers["location"])
        print(browser.get(target).text)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
