#!/usr/bin/env bash
# The GPU issue's whole check in one command, within a time budget (benchmarks/gpu_run.py says what).
#   bash benchmarks/gpu_run.sh 480 [OUT_DIR]          on a machine with CUDA
#   bash benchmarks/gpu_run.sh 240 /tmp/dry --dry     a dry run on the CPU, tiny sizes
# A GPU machine without the window's packages or MNIST gets them from .gpu_carry/, which
# scripts/gpu_carry.sh fills here (Qt, pyqtgraph, platformdirs and pytest-qt, and MNIST gzipped).
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] && PY=.venv/bin/python
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
if [ -f .gpu_carry/site.tar.xz ]; then
    mkdir -p /tmp/gpu_site && tar -xJf .gpu_carry/site.tar.xz -C /tmp/gpu_site
    export PYTHONPATH="$PYTHONPATH:/tmp/gpu_site"
    # Qt's system libraries travel too; only those this machine lacks are used (the window tests alone)
    mkdir -p /tmp/gpu_syslib
    for lib in /tmp/gpu_site/_syslib/*; do
        name=$(basename "$lib")
        ldconfig -p | grep -q "^[[:space:]]*$name " || cp "$lib" /tmp/gpu_syslib/
    done
    echo "Qt system libraries this machine lacks: $(ls /tmp/gpu_syslib | tr '\n' ' ')"
    export DRAW_GUI_QT_SYSLIB=/tmp/gpu_syslib
fi
# gpu_check reads the raw files (torchvision would unpack them only later): they are unpacked into
# /tmp, not beside the .gz files, so that .gpu_carry/ stays small enough to carry (64 MiB)
DATA=
if compgen -G ".gpu_carry/data/MNIST/raw/*.gz" > /dev/null; then
    DATA=/tmp/gpu_data
    mkdir -p "$DATA/MNIST/raw"
    for gz in .gpu_carry/data/MNIST/raw/*.gz; do
        raw="$DATA/MNIST/raw/$(basename "${gz%.gz}")"
        [ -e "$raw" ] || { gunzip -c "$gz" > "$raw.part" && mv "$raw.part" "$raw"; }
    done
fi
# the tests look for MNIST in ../shared/data
if [ ! -e ../shared/data/MNIST/raw ] && [ -n "$DATA" ]; then
    mkdir -p ../shared && ln -sfn "$DATA" ../shared/data
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || true
# a --data-dir given here comes after this one, and wins
PYTHONUNBUFFERED=1 exec "$PY" benchmarks/gpu_run.py ${DATA:+--data-dir "$DATA"} "$@"
