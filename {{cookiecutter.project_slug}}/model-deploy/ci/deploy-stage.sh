#!/usr/bin/env bash
# Deploy one stage's endpoint stack from model-deploy/build/ (model-deploy/ci/build-config.sh's
# output), as the two CloudFormation actions of that stage do in CodePipeline: first with the
# template configuration <stage>-release-export.json, then with <stage>-config-export.json, both on
# the stack STAGE_STACK_NAME from model-deploy/build/endpoint.yml (model_deploy/release.py says why
# two). The GitHub Actions and GitLab CI jobs call this script. CodePipeline does not: its native
# CloudFormation actions deploy the same two template configurations of the same build output.
# Usage: model-deploy/ci/deploy-stage.sh <staging|prod>
# Environment (the stage job's, ci/job-env.sh): STAGE_STACK_NAME (the stage's stack), STAGE_CFN_ROLE_ARN
# (the role CloudFormation deploys it with), optional STAGE_ACTION_ROLE_ARN (a stage in another
# account: the role there to assume first, the bootstrap's pipeline-action role), AWS_REGION.
# Needs the AWS CLI and python3. A template configuration is CodePipeline's format,
# {"Parameters": {...}, "Tags": {...}}: each key becomes KEY=value of --parameter-overrides and --tags.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

stage="${1:-}"
case "${stage}" in
  staging | prod) ;;
  *)
    echo "error: stage '${stage}' is not one of: staging, prod" >&2
    exit 1
    ;;
esac
for name in STAGE_STACK_NAME STAGE_CFN_ROLE_ARN; do
  if [ -z "${!name:-}" ]; then
    echo "error: ${name} is empty; allowed: the ${stage} job's value (its SSM parameter, ci/job-env.sh ${stage})" >&2
    exit 1
  fi
done
build=model-deploy/build
for file in "${build}/endpoint.yml" "${build}/${stage}-release-export.json" "${build}/${stage}-config-export.json"; do
  if [ ! -f "${file}" ]; then
    echo "error: ${file} is missing; allowed: the files model-deploy/ci/build-config.sh writes (the deploy-config job's artifact)" >&2
    exit 1
  fi
done

if [ -n "${STAGE_ACTION_ROLE_ARN:-}" ]; then
  credentials="$(aws sts assume-role --role-arn "${STAGE_ACTION_ROLE_ARN}" \
    --role-session-name "deploy-${stage}" \
    --query 'Credentials.[AccessKeyId,SecretAccessKey,SessionToken]' --output text)"
  read -r AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN <<< "${credentials}"
  export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
fi

arguments="$(mktemp)"
trap 'rm -f "${arguments}"' EXIT
# The options of one template configuration, NUL-separated (a value may hold spaces or commas).
configuration_options() {
  python3 - "$1" > "${arguments}" <<'PY'
import json
import sys

path = sys.argv[1]
try:
    with open(path, encoding="utf-8") as file:
        configuration = json.load(file)
except (OSError, ValueError) as error:
    sys.exit(f"error: {path}: {error}; allowed: a JSON template configuration")
if not isinstance(configuration, dict) or set(configuration) - {"Parameters", "Tags"}:
    sys.exit(f"error: {path}: not a template configuration; allowed: an object of Parameters and Tags")
options = []
for key, flag in (("Parameters", "--parameter-overrides"), ("Tags", "--tags")):
    values = configuration.get(key) or {}
    if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
        sys.exit(f"error: {path}: {key} is not an object of strings; allowed: names and string values")
    if values:
        options += [flag, *(f"{name}={value}" for name, value in values.items())]
sys.stdout.write("".join(f"{option}\0" for option in options))
PY
}

for kind in release config; do
  configuration="${build}/${stage}-${kind}-export.json"
  configuration_options "${configuration}"
  mapfile -d '' -t options < "${arguments}"
  echo "== ${STAGE_STACK_NAME}: ${configuration}"
  aws cloudformation deploy --stack-name "${STAGE_STACK_NAME}" \
    --template-file "${build}/endpoint.yml" --role-arn "${STAGE_CFN_ROLE_ARN}" \
    --no-fail-on-empty-changeset "${options[@]}"
done
