#!/usr/bin/env bash
# Create .venv and install xenpatch with its test tools. Idempotent; quiet.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
stamp=.venv/.xenpatch-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    # pip warns about every configured index folder that lacks a package: noise.
    .venv/bin/pip install --quiet --disable-pip-version-check -e '.[test]' \
        2> >(grep -v '^WARNING: Location' >&2)
    touch "$stamp"
fi
# The methods dataclasses writes for the package's classes, compiled once
# (xenpatch/methodcode.py), as the modules' bytecode is.
.venv/bin/python -m xenpatch.precompile
