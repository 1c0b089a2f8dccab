#!/usr/bin/env bash
# Install what the model-deploy steps run: the project's own packages from their folders, every other
# dependency at its pin (constraints.txt). Into the active Python environment (CI hosts are fresh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

python -m pip install -q -c constraints.txt -e ./names -e "./model-deploy[test]"
