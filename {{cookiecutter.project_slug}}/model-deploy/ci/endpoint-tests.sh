#!/usr/bin/env bash
# The endpoint test suite against a deployed stage endpoint (default staging), through the SageMaker
# runtime API (InvokeEndpoint); JUnit results in endpoint-tests.xml at the project root.
# Usage: model-deploy/ci/endpoint-tests.sh [staging|prod]
# Environment: SAGEMAKER_PROJECT_NAME (the slug), AWS_REGION, optional TEST_ROLE_ARN (a role in the
# stage's account that may invoke its endpoint, assumed first), optional ENDPOINT_EXAMPLES (the
# requests to send; default model-deploy/build/examples.csv, which model-deploy/ci/build-config.sh
# writes from the deployed model package), optional ENDPOINT_MAX_P50_MS and ENDPOINT_MAX_P99_MS
# (latency bounds; the defaults below are the one home of the CI's bounds, which every CI system
# reads). Runs after model-deploy/ci/install.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

stage="${1:-staging}"
case "${stage}" in
  staging | prod) ;;
  *)
    echo "error: stage '${stage}' is not one of: staging, prod"
    exit 1
    ;;
esac
examples="${ENDPOINT_EXAMPLES:-model-deploy/build/examples.csv}"
if [ ! -f "${examples}" ]; then
  echo "error: ENDPOINT_EXAMPLES=${examples} is not a file; allowed: the examples.csv model-deploy/ci/build-config.sh writes (the deploy-config output)" >&2
  exit 1
fi
ENDPOINT_EXAMPLES="$(cd "$(dirname "${examples}")" && pwd)/$(basename "${examples}")"
export ENDPOINT_EXAMPLES
if [ -n "${TEST_ROLE_ARN:-}" ]; then
  credentials="$(aws sts assume-role --role-arn "${TEST_ROLE_ARN}" --role-session-name endpoint-tests \
    --query 'Credentials.[AccessKeyId,SecretAccessKey,SessionToken]' --output text)"
  read -r AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN <<< "${credentials}"
  export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
fi
# Latency bounds (ms) at small load, measured from the CI host: network round trips included.
export ENDPOINT_MAX_P50_MS="${ENDPOINT_MAX_P50_MS:-150}"
export ENDPOINT_MAX_P99_MS="${ENDPOINT_MAX_P99_MS:-1000}"
ENDPOINT_NAME="$(python -c 'import os, sys, project_names as p; print(p.Names(os.environ["SAGEMAKER_PROJECT_NAME"]).endpoint(sys.argv[1]))' "${stage}")"
export ENDPOINT_NAME
cd model-deploy
python -m pytest -q tests/endpoint --junitxml=../endpoint-tests.xml
