#!/usr/bin/env bash
# The wheel as a new user meets it: built (with the sdist) from this checkout, installed into a fresh
# virtualenv outside the repository, used from a scratch project that has its own `domain` and `deploy`
# packages and a model importing a third-party package (.ci/smoke_check.py says what is checked).
# Usage: .ci/smoke.sh [CONSTRAINTS_FILE]   (CI passes the lock's pins, so the smoke runs the Lambda's versions)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
constraints=()
if [ -n "${1:-}" ]; then constraints=(-c "$1"); fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# the sdist first, then the wheel from it: the wheel proves the sdist holds everything
python -m build --no-isolation --outdir "$work/dist" "$repo" > "$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
wheel="$(ls "$work"/dist/dynafold-*.whl)"
sdist="$(ls "$work"/dist/dynafold-*.tar.gz)"
echo "smoke: built $(basename "$wheel") and $(basename "$sdist")"

python -m venv "$work/venv"
venv_python="$work/venv/bin/python"
"$venv_python" -m pip install --quiet --upgrade pip
"$venv_python" -m pip install --quiet "$wheel" ${constraints[@]+"${constraints[@]}"}
mkdir "$work/project"
cd "$work/project"
"$venv_python" "$repo/.ci/smoke_check.py" without-extra

"$venv_python" -m pip install --quiet "$wheel[testing]" ${constraints[@]+"${constraints[@]}"}
"$venv_python" "$repo/tests/support/wheels.py" wheels tinyfmt 1.0 "six>=1.0" > /dev/null
"$venv_python" -m pip install --quiet --find-links wheels tinyfmt==1.0 ${constraints[@]+"${constraints[@]}"}
"$venv_python" "$repo/.ci/smoke_check.py" project "$wheel" "$sdist"
echo "smoke: passed"
