#!/usr/bin/env bash
# Install headless Chromium from Debian for the browser tests (tests/test_playground.py),
# only when /usr/bin/chromium is missing and apt-get is available. Safe to run again.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  echo "chromium: already installed (/usr/bin/chromium)"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "chromium: /usr/bin/chromium is missing and apt-get is not available;" \
    "the browser tests will be skipped" >&2
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "chromium: installing needs root (or sudo); the browser tests will be skipped" >&2
    exit 0
  fi
fi
export DEBIAN_FRONTEND=noninteractive
if $SUDO apt-get update -q && $SUDO apt-get install -y -q chromium; then
  echo "chromium: installed ($(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium))"
else
  echo "chromium: apt-get could not install it; the browser tests will be skipped" >&2
fi
