#!/usr/bin/env bash
# Lint and unit tests of model-build: the model's and the image's suites one after the other, beside
# model-build's own, both at once (one on each of a small build host's two vCPUs). Either failing
# fails the step, after both logs are printed (the subshells run without errexit: each collects its
# own status). Runs in the environment model-build/ci/install.sh made.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

ruff check model-build
logs="$(mktemp -d)"
(set +e; cd model-build/model && python -m pytest -q; s=$?; cd ../container && python -m pytest -q && exit "${s}") \
  > "${logs}/container.log" 2>&1 &
container=$!
(cd model-build && python -m pytest -q > "${logs}/model-build.log" 2>&1) &
build=$!
failed=""
wait "${container}" || failed="${failed} model-build/model+container"
wait "${build}" || failed="${failed} model-build"
cat "${logs}/container.log" "${logs}/model-build.log"
if [ -n "${failed}" ]; then
  echo "error: unit tests failed in:${failed}"
  exit 1
fi
