#!/usr/bin/env bash
# Make sure Debian's headless Chromium is present for the browser tests (tests/ui).
# Installs `chromium` + `chromium-driver` with apt when missing and running as root;
# otherwise says what is missing and fails, so the tests never silently skip.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "ensure-chromium: /usr/bin/chromium is missing; install it with" \
         "'sudo apt-get install -y chromium chromium-driver'" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-chromium: /usr/bin/chromium is missing and apt-get is not available" >&2
    exit 1
fi
echo "ensure-chromium: installing chromium and chromium-driver with apt-get"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
test -x /usr/bin/chromium
