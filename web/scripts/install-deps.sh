#!/usr/bin/env bash
# Installs what the web build and browser tests need on a fresh Debian machine, idempotently:
# Debian's Chromium (Playwright's own browser download is never used) and the npm packages pinned
# by package-lock.json. Run from anywhere; needs root (or sudo) only when Chromium is missing.
set -euo pipefail

web="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "install-deps: node and npm are required (Node 20.19+ or 22.12+)" >&2
  exit 1
fi

chromium="${CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$chromium" ]; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
      echo "install-deps: $chromium is missing and this is not root; install the chromium package" >&2
      exit 1
    fi
  fi
  echo "install-deps: installing Debian's chromium"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
fi

# npm ci reinstalls node_modules from scratch; skip it when the installed tree already matches the
# lockfile (npm records what it installed in node_modules/.package-lock.json).
lock="$web/package-lock.json"
installed="$web/node_modules/.package-lock.json"
if [ ! -f "$installed" ] || [ "$lock" -nt "$installed" ]; then
  echo "install-deps: npm ci in $web"
  (cd "$web" && npm ci --no-audit --no-fund --loglevel=error)
else
  echo "install-deps: node_modules up to date"
fi
