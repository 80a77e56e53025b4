#!/usr/bin/env bash
# Set up (scripts/setup.sh), then lint, type-check and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/install-browser.sh   # Debian's Chromium for the playground's browser tests
# shellcheck disable=SC1091
. .venv/bin/activate
# MNIST for the integration tests: ../shared/data/mnist beside the repo when present.
if [ -z "${GANNET_DATA:-}" ] && [ -d ../shared/data/mnist ]; then
  export GANNET_DATA="$(cd ../shared/data && pwd)"
fi
ruff check src tests benchmarks
ruff format --check src tests benchmarks
mypy
# CI's lean set leaves out the tests marked slow (each repeats a guarantee a faster test
# already checks: more resume variants, the SIGKILLed distributed job, the wheel in a fresh
# venv); GANNET_TESTS=all runs every test.
if [ "${GANNET_TESTS:-}" = all ]; then
  python -m pytest -q "$@"
else
  python -m pytest -q -m "not slow" "$@"
fi
