#!/usr/bin/env bash
# On a machine with CUDA (shared/data beside the repo): fidelity against the CPU, then speed.
# Uses the project's .venv when there is one, else python3 with torch already installed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] && PY=.venv/bin/python
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
PYTHONPATH=. PYTHONUNBUFFERED=1 timeout 290 "$PY" benchmarks/gpu_check.py "$@"
