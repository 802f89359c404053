#!/usr/bin/env bash
# Installs Debian's chromium for the browser tests (playwright drives it; it never downloads
# a browser of its own). Needs root when chromium is missing. Safe to run twice.
set -euo pipefail
command -v chromium >/dev/null && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "install-browser: chromium is missing and we are not root; install Debian's chromium," >&2
    echo "  or the browser tests are skipped (in CI they fail)." >&2
    [ -n "${CI:-}" ] && exit 1
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
chromium --version
