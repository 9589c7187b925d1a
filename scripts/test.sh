#!/usr/bin/env bash
# Install fedcredit with its development extras and run the whole test suite.
# Extra arguments go to pytest, e.g. `scripts/test.sh -k psi -x`.
source "$(dirname "$0")/_env.sh" dev
set +e
python -m pytest "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests: that is a failure here" >&2
  exit 1
fi
exit "$status"
