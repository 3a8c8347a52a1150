#!/usr/bin/env bash
# Install everything the test suite needs, then run it. This is the README's
# test command and what .ci/run executes. Fails on any failure (pytest's exit
# code 5, "no tests collected", included).
set -euo pipefail
cd "$(dirname "$0")/.."

python -m pip install --quiet --disable-pip-version-check -e ".[test]"

# Browser tests use Debian's chromium (Playwright cannot download a browser here).
if [ ! -x /usr/bin/chromium ]; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        echo "warning: /usr/bin/chromium missing and cannot be installed (not root): browser tests will be skipped" >&2
    fi
fi

# The suite runs on every core (pytest-xdist; one worker per core, each test file on one
# worker so module fixtures are built once); PYTEST_WORKERS=0 runs it in one process.
exec python -m pytest -n "${PYTEST_WORKERS:-auto}" --dist loadfile "$@"
