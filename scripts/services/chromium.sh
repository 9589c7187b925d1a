#!/usr/bin/env bash
# Debian's Chromium for the console's browser tests (tests/console, marker "browser").
#
#   chromium.sh install   install the package if /usr/bin/chromium is missing (apt-get)
#   chromium.sh path      print the executable's path (exit 1 if it is not installed)
#
# The tests drive this system browser through Playwright's Python package with
# executable_path; Playwright's own browser download is never used (no network but the
# package registries is assumed). Installing needs root, as apt-get does.
set -euo pipefail

BROWSER=/usr/bin/chromium

install() {
  if [ -x "$BROWSER" ]; then
    return 0
  fi
  if [ "$(id -u)" != 0 ]; then
    echo "chromium.sh: Chromium is not installed; run as root or: sudo apt-get install -y chromium" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
  [ -x "$BROWSER" ] || { echo "chromium.sh: $BROWSER still missing after install" >&2; exit 1; }
}

case "${1:-}" in
  install) install ;;
  path) [ -x "$BROWSER" ] && echo "$BROWSER" ;;
  *) echo "usage: chromium.sh install|path" >&2; exit 2 ;;
esac
