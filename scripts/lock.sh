#!/usr/bin/env bash
# Regenerate the exact pins: the generated project's constraints.txt, then the template's
# requirements-dev.lock (consistent with it). Needs network access to PyPI; run after changing a
# requirements file or pyproject dependency list, then run the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
project="{{cookiecutter.project_slug}}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 -m venv "$work/project"
(cd "$project" && "$work/project/bin/python" -m pip install -q --disable-pip-version-check \
  -r requirements.txt -c model-build/container/requirements.txt)
{
  echo "# Exact versions of everything .venv holds (make venv). Regenerate with the template's scripts/lock.sh."
  "$work/project/bin/python" -m pip freeze --exclude-editable | grep -v '^-e ' | LC_ALL=C sort -f
} > "$project/constraints.txt"
# The local targets' lock of model-build's dependencies (the SDK without what a local run never imports).
(cd "$project/model-build" && "$work/project/bin/python" -m model_build.sdk_lock > ../requirements-sdk.lock)

python3 -m venv "$work/dev"
"$work/dev/bin/python" -m pip install -q --disable-pip-version-check -r requirements-dev.in
{
  echo "# Exact versions of the template's tooling (./dev setup). Regenerate with scripts/lock.sh."
  "$work/dev/bin/python" -m pip freeze --exclude-editable | grep -v '^-e ' | LC_ALL=C sort -f
} > requirements-dev.lock
echo "locked: $project/constraints.txt ($(grep -vc '^#' "$project/constraints.txt") pins), requirements-sdk.lock ($(grep -vc '^#' "$project/requirements-sdk.lock") pins), requirements-dev.lock ($(grep -vc '^#' requirements-dev.lock) pins)"
