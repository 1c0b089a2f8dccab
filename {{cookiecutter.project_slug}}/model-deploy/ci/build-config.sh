#!/usr/bin/env bash
# Check the endpoint template and the stage configs, pick the newest APPROVED model package, write each
# stage's CloudFormation template configurations (release and deploy: model_deploy/release.py says why
# two) and package endpoint.yml, all into model-deploy/build/ (the deploy steps' input).
# Environment: ARTIFACT_BUCKET, SAGEMAKER_PROJECT_NAME, SAGEMAKER_PROJECT_ID, MODEL_PACKAGE_GROUP_NAME,
# {STAGING,PROD}_MODEL_EXECUTION_ROLE_ARN, {STAGING,PROD}_DATA_CAPTURE_URI, {STAGING,PROD}_STACK_NAME,
# {STAGING,PROD}_API_HANDLER_ROLE_ARN (a stage with `api`), optional
# {STAGING,PROD}_PIPELINE_ACTION_ROLE_ARN, {STAGING,PROD}_KMS_KEY_ARN, SUBNET_IDS,
# SECURITY_GROUP_IDS (model_deploy/build.py reads them). Runs after model-deploy/ci/install.sh, with
# AWS credentials of the tooling account.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

cfn-lint model-deploy/endpoint.yml
(cd model-deploy && python -m pytest -q tests --ignore=tests/endpoint)
# The configs of this commit, named explicitly (the package's own folder is the default).
build-deploy-config --config-dir model-deploy --project-file project.toml --out-dir model-deploy/build
aws cloudformation package --template-file model-deploy/endpoint.yml \
  --s3-bucket "${ARTIFACT_BUCKET}" --s3-prefix "${SAGEMAKER_PROJECT_NAME}/model-deploy" \
  --output-template-file model-deploy/build/endpoint.yml
