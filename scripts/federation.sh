#!/usr/bin/env bash
# Install fedcredit (first run only) and run the local federation: coordinator plus government,
# bank and third-party nodes as separate processes on loopback with mutual TLS, the demo jobs,
# access-log verification, a summary, and a clean shutdown. Options go to fedcredit-federation,
# e.g. `scripts/federation.sh --n-firms 5000 --jobs check,psi`.
source "$(dirname "$0")/_env.sh" ""
exec fedcredit-federation "$@"
