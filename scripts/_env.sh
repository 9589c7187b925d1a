# Sourced by the entry scripts: create .venv once and install fedcredit with the given extras.
# The install is skipped when pyproject.toml has not changed since the last one. The first
# install says what it does: one line per step, then every 15 s what pip is doing; pip's whole
# output goes to .venv/pip-install.log.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
# The caller passes the extras as its own first argument ("" for none): sourcing without
# arguments would hand this script the caller's options instead.
EXTRAS="${1:-}"
STAMP=".venv/.fedcredit-installed${EXTRAS:+-$EXTRAS}"

_say() { echo "fedcredit setup: $*" >&2; }

# Run pip into the log; on failure show the end of its output.
_pip() {
  local log=.venv/pip-install.log started=$SECONDS
  if ! python -m pip install --progress-bar off "$@" >>"$log" 2>&1; then
    _say "pip failed; the end of $log:"
    tail -n 30 "$log" >&2
    return 1
  fi
  _say "  done in $((SECONDS - started)) s"
}

if [ ! -x .venv/bin/python ]; then
  _say "creating the virtual environment .venv with $("$PYTHON" --version 2>&1)"
  "$PYTHON" -m venv .venv
fi
# shellcheck disable=SC1091
. .venv/bin/activate
if [ ! -f "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ]; then
  _say "installing fedcredit${EXTRAS:+ with the [$EXTRAS] extras} into .venv: about 60 packages" \
    "(torch CPU, grpcio, pandas, pyarrow, flwr, ...); a first install takes from under a minute (packages" \
    "cached) to about 5 minutes (all downloaded); later runs skip this step"
  _say "step 1/2: upgrading pip"
  _pip --quiet --upgrade pip
  _say "step 2/2: installing the packages (progress below; full output in .venv/pip-install.log)"
  # what pip is doing now, every 15 s, so a long install is visibly moving
  (
    started=$SECONDS
    while sleep 15; do
      now=$(grep -v '^WARNING\|^ ' .venv/pip-install.log | tail -n 1 | cut -c1-80 || true)
      _say "  ... $((SECONDS - started)) s: ${now:-starting}"
    done
  ) &
  ticker=$!
  trap 'kill "$ticker" 2>/dev/null || true' EXIT
  status=0
  _pip -e ".${EXTRAS:+[$EXTRAS]}" || status=$?
  kill "$ticker" 2>/dev/null || true
  wait "$ticker" 2>/dev/null || true
  trap - EXIT
  [ "$status" -eq 0 ] || exit "$status"
  touch "$STAMP"
  _say "installed; from now on the scripts start at once"
fi
