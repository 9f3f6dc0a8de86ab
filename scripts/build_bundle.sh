#!/usr/bin/env bash
# Build the draw-gui desktop bundle (dist/draw-gui/) in a fresh venv from the `build` extra.
#   scripts/build_bundle.sh            # venv in /tmp/draw-gui-build-venv (reused if it exists)
#   BUILD_VENV=/path scripts/build_bundle.sh
#   FRESH=1 scripts/build_bundle.sh    # recreate the venv
# Needs ~4 GB of free disk with the CUDA build of torch. Run from anywhere; builds in the repo root.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${BUILD_VENV:-/tmp/draw-gui-build-venv}"
start=$(date +%s)

if [[ "${FRESH:-0}" == 1 ]]; then rm -rf "$VENV"; fi
if [[ ! -x "$VENV/bin/python" ]]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --upgrade pip
fi
"$VENV/bin/pip" install -e ".[build]"
installed=$(date +%s)

"$VENV/bin/pyinstaller" --noconfirm --distpath dist --workpath build draw-gui.spec
built=$(date +%s)

"dist/draw-gui/draw-gui" --version
echo "install: $((installed - start)) s, pyinstaller: $((built - installed)) s, total: $((built - start)) s"
echo "bundle size: $(du -sh dist/draw-gui | cut -f1)  (dist/draw-gui)"
