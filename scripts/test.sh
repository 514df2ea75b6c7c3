#!/usr/bin/env bash
# Install mediamatch with its test extras into .venv, check style and types, and run the whole
# test suite against SQLite and a local PostgreSQL server (started here, installed from Debian if absent).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'
if [ "$(id -u)" = 0 ] && ! command -v chromium >/dev/null; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || echo "chromium not installed: browser tests will skip" >&2
fi
if [ "$(id -u)" = 0 ] && ! command -v ffmpeg >/dev/null; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ffmpeg >/dev/null) || echo "ffmpeg not installed: loopback stream tests will skip" >&2
fi
# axe-core (accessibility checks run inside the browser tests) from the npm registry, into an
# ignored folder; without npm those tests skip with a message.
if command -v npm >/dev/null; then
  npm install --prefix .cache --no-save --no-audit --no-fund --silent axe-core@4.14.1 >/dev/null || echo "axe-core not installed: accessibility tests will skip" >&2
fi
# Checked style first: lint and format (pyproject's [tool.ruff]) and types of src/ ([tool.mypy]).
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
export MEDIAMATCH_TEST_PG_URL="${MEDIAMATCH_TEST_PG_URL:-$(bash scripts/postgres.sh)}"
# Every core (pytest-xdist): a file's tests stay on one worker, so module-scoped servers and
# browsers start once. PYTEST_WORKERS=0 runs in one process.
exec .venv/bin/python -m pytest -n "${PYTEST_WORKERS:-auto}" --dist loadfile "$@"
