#!/usr/bin/env bash
# Install fedcredit with its development extras and run the tests.
#   scripts/test.sh            the whole suite (what CI runs)
#   scripts/test.sh --fast     the inner loop: every test not marked slow (no 2048-bit keys,
#                              fuzzing, real processes, PostgreSQL, Ray or Chromium)
# Other arguments go to pytest, e.g. `scripts/test.sh --fast tests/node/psi -x`.
source "$(dirname "$0")/_env.sh" dev
args=()
for arg in "$@"; do
  if [ "$arg" = "--fast" ]; then
    args+=(-m "not slow")
  else
    args+=("$arg")
  fi
done
set +e
python -m pytest "${args[@]}"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests: that is a failure here" >&2
  exit 1
fi
exit "$status"
