#!/usr/bin/env bash
# Set up and run the whole test suite (what .ci/run calls).
#   XENPATCH_REQUIRE_XEN=1  turns "Xen source unavailable" skips into failures.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The rewritten Xen 4.17 hypervisor is built by a test: it needs flex and bison.
if ! command -v flex >/dev/null || ! command -v bison >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq >/dev/null && apt-get install -y -qq flex bison >/dev/null
    fi
fi
# The series tests run git send-email --dry-run (Debian's git-email package).
# (Asked of git's exec path: under pipefail a "git send-email -h | grep"
# test takes git's own failure status and never installs it.)
if [ ! -x "$(git --exec-path)/git-send-email" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq >/dev/null && apt-get install -y -qq git-email >/dev/null
    fi
fi
# Fetch (or find cached) Debian's xen source once, before the tests ask for it.
bash scripts/fetch-xen-source.sh >/dev/null || echo "note: Debian's xen source is unavailable" >&2
.venv/bin/ruff check xenpatch tests bench
.venv/bin/mypy
exec .venv/bin/pytest -q -p no:cacheprovider "$@"
