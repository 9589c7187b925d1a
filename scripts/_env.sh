# Sourced by the entry scripts: create .venv once and install fedcredit with the given extras.
# The install is skipped when pyproject.toml has not changed since the last one.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
# shellcheck disable=SC1091
. .venv/bin/activate
# The caller passes the extras as its own first argument ("" for none): sourcing without
# arguments would hand this script the caller's options instead.
EXTRAS="${1:-}"
STAMP=".venv/.fedcredit-installed${EXTRAS:+-$EXTRAS}"
if [ ! -f "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ]; then
  python -m pip install --quiet --upgrade pip
  python -m pip install --quiet -e ".${EXTRAS:+[$EXTRAS]}"
  touch "$STAMP"
fi
