#!/usr/bin/env bash
# The Python half of `npm test` (npm run test:py): parity with src/lib, the torchrun trainer, export.
# Uses Debian's python3-torch (`apt-get install -y python3-torch python3-pytest libopenblas0-pthread`;
# .ci/run installs them). One BLAS/OpenMP thread per process: the tests start up to 2 processes
# and the machines they run on may have 2 cores. A run that collects no test fails (pytest exit 5).
set -euo pipefail
cd "$(dirname "$0")"
py=""
for candidate in /usr/bin/python3 python3; do
  if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c "import torch, pytest" >/dev/null 2>&1; then py="$candidate"; break; fi
done
if [ -z "$py" ]; then
  echo "error[PYTORCH_MISSING]: no python3 with torch and pytest; install them with: apt-get install -y python3-torch python3-pytest libopenblas0-pthread" >&2
  exit 1
fi
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONDONTWRITEBYTECODE=1
exec "$py" -m pytest -q -p no:cacheprovider tests "$@"
