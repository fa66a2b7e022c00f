#!/usr/bin/env bash
# Caveat against Stone Soup's GNN tracker on the same detections (issue 6).
#
#   bench/fusion/compare.sh [minutes] [seed] [scan_s] [min_lat:min_lon:max_lat:max_lon]
#
# Defaults: 30 minutes of seed 6, 10-second scans, the box 17..19 N, 66..62 W
# (about 190 vessels). Creates bench/.venv with Stone Soup from PyPI when it is
# missing, builds and runs the Rust side (scenario, detections, Caveat), runs
# bench/fusion/stonesoup_gnn.py, then prints one table scored by the same GOSPA
# function. Files go to $OUT (default target/fusion-compare).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
venv="$root/bench/.venv"
out="${OUT:-$root/target/fusion-compare}"
stonesoup="${STONESOUP_SPEC:-stonesoup==1.9.1}"

if ! "$venv/bin/python" -c 'import stonesoup' 2>/dev/null; then
    echo "creating $venv with $stonesoup" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --upgrade pip
    "$venv/bin/pip" install --quiet "$stonesoup"
fi

cd "$root"
cargo build --quiet --release -p caveat-bench --bin fusion-compare
bin="${CARGO_TARGET_DIR:-$root/target}/release/fusion-compare"
mkdir -p "$out"
rm -f "$out"/*.csv "$out"/*.txt
"$bin" prepare "$out" "$@"
"$venv/bin/python" "$here/stonesoup_gnn.py" "$out"
"$bin" report "$out"
