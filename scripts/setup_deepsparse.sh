#!/usr/bin/env bash
# DeepSparse in an environment of its own, for the bench's deepsparse-* paths (benchmarks/efficiency/deepsparse_path.py):
#     bash scripts/setup_deepsparse.sh          -> .venvs/deepsparse (git-ignored), deepsparse==1.8.0
# DeepSparse reached its end of life in June 2025; 1.8.0 is the last release that installs (1.9.0 refuses to build on
# purpose), its wheels stop at CPython 3.11 (x86-64 Linux), and it pins onnx 1.14 and numpy 1.26, which the project's
# own environment cannot have: never install it there. Licence: Neural Magic DeepSparse Community License (printed
# below from the installed wheel's METADATA). PYTHON311 names another CPython 3.11 interpreter.
set -euo pipefail
cd "$(dirname "$0")/.."
py="${PYTHON311:-python3.11}"
if ! "$py" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
    echo "setup_deepsparse.sh: error: DeepSparse 1.8.0 has wheels for CPython 3.11 only; '$py' is not one (set PYTHON311)" >&2
    exit 2
fi
"$py" -m venv .venvs/deepsparse
.venvs/deepsparse/bin/python -m pip install --quiet --disable-pip-version-check "deepsparse==1.8.0"
.venvs/deepsparse/bin/python - <<'PY'
import importlib.metadata as md
meta = md.metadata("deepsparse")
print(f".venvs/deepsparse: deepsparse {meta['Version']}, onnx {md.version('onnx')}, numpy {md.version('numpy')}; "
      f"licence: {meta['License']}")
PY
