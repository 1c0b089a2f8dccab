#!/usr/bin/env bash
# Install what the model-build steps run into .venv at the project root: the project's own packages
# from their folders, every other dependency at its pin (constraints.txt, the image's requirements).
# Later steps activate it (`source .venv/bin/activate`). Needs python 3.11 on PATH.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

python -m venv .venv
# shellcheck source=/dev/null
source .venv/bin/activate
pip install -c constraints.txt -c model-build/container/requirements.txt \
  -e names -e model-build/container -e model-build/model -e "model-build[test]" ruff
