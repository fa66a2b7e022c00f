#!/usr/bin/env bash
# Fails when the committed dist/ is not what `npm run build` makes from the sources: the Rust binary
# embeds dist/ as committed, so a stale one would ship an old COP. The build is deterministic.
set -euo pipefail
web="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$web" && npx vite build --outDir "$tmp/dist" --logLevel error)
if ! diff -r "$web/dist" "$tmp/dist" >/dev/null; then
  echo "web/dist is stale: run 'npm run build' in web/ and commit web/dist" >&2
  diff -rq "$web/dist" "$tmp/dist" >&2 || true
  exit 1
fi
echo "web/dist matches the sources"
