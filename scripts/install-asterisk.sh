#!/usr/bin/env bash
# Installs what the real-Asterisk tests need: Asterisk 16 (from Debian 11 "bullseye",
# since Debian 12 has none) and sipp (package sip-tester). Needs root. Safe to run twice.
# Why a pinned bullseye source: see ../shared/ASTERISK-NOTES.md ("Install").
set -euo pipefail

if command -v asterisk >/dev/null && command -v sipp >/dev/null; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "install-asterisk: Asterisk or sipp is missing and we are not root; install" >&2
    echo "  asterisk (16, Debian bullseye) and sip-tester, or run 'make test' as root." >&2
    # Outside CI the real-Asterisk tests are then skipped; in CI they fail (tests/lab).
    [ -n "${CI:-}" ] && exit 1
    exit 0
fi

# Same mirror and keyring as the machine's own Debian source.
mirror=$(grep -hoE 'https?://[^ ]*/debian/?$' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null | head -n1 || true)
mirror=${mirror:-http://deb.debian.org/debian}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

cat >/etc/apt/sources.list.d/callboard-bullseye.sources <<SRC
Types: deb
URIs: ${mirror%/}
Suites: bullseye
Components: main
Signed-By: ${keyring}
SRC
# Priority 100: nothing else on the machine is upgraded from bullseye by accident.
cat >/etc/apt/preferences.d/callboard-bullseye <<PREF
Package: *
Pin: release n=bullseye
Pin-Priority: 100
PREF

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
    asterisk/bullseye asterisk-modules/bullseye asterisk-config/bullseye \
    sip-tester iproute2 >/dev/null
# The package starts a system-wide Asterisk; the tests run their own, so stop it.
(service asterisk stop || pkill -x asterisk || true) >/dev/null 2>&1
asterisk -V
sipp -v 2>&1 | grep -m1 -i 'sipp' || true
