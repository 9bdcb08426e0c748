#!/usr/bin/env bash
# The whole suite: lint, migrations up to date, then pytest on SQLite and on a
# throwaway PostgreSQL cluster. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python

.venv/bin/ruff check .
.venv/bin/ruff format --check .
$PY manage.py makemigrations --check --dry-run >/dev/null || {
  echo "Model changes without a migration: run .venv/bin/python manage.py makemigrations" >&2
  exit 1
}

echo "=== Test run 1/2: SQLite"
env -u DATABASE_URL $PY -m pytest "$@"

echo "=== Test run 2/2: PostgreSQL"
bash scripts/with_postgres.sh $PY -m pytest "$@"
