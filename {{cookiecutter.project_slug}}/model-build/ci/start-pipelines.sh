#!/usr/bin/env bash
# Upsert and start the model-build pipeline with the image IMAGE_URI names, then upsert the scheduled
# pipelines (batch inference; monitoring for medium/large) with the same image. Writes
# pipeline-definition.json at the project root (a build artifact).
# Environment: IMAGE_URI (digest-pinned: <repository URI>@sha256:...) or IMAGE_URI_FILE (a file holding
# it, e.g. the image build's image-uri.txt), SAGEMAKER_PROJECT_NAME, SAGEMAKER_PROJECT_ID,
# ARTIFACT_BUCKET, SAGEMAKER_PIPELINE_ROLE_ARN, KMS_KEY_ARN, AWS_REGION; for large projects
# JOB_SUBNET_IDS and JOB_SECURITY_GROUP_IDS (comma-separated); SOURCE_GIT_REPOSITORY,
# SOURCE_GIT_BRANCH and SOURCE_GIT_COMMIT (default: CodeBuild's CODEBUILD_RESOLVED_SOURCE_VERSION),
# which every model package records; with MLflow tracking MLFLOW_TRACKING_URI and
# MLFLOW_EXPERIMENT_NAME. Runs in the environment
# model-build/ci/install.sh made, with AWS credentials of the tooling account.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

if [ -z "${IMAGE_URI:-}" ] && [ -n "${IMAGE_URI_FILE:-}" ]; then
  IMAGE_URI="$(cat "${IMAGE_URI_FILE}")"
fi
case "${IMAGE_URI:-}" in
  *@sha256:*) ;;
  *)
    echo "error: IMAGE_URI must be a digest-pinned image URI (…@sha256:…), got '${IMAGE_URI:-}'"
    exit 1
    ;;
esac
export IMAGE_URI
# The commit the runs are built from: the packages' source_git_commit (and MLflow's tag).
export SOURCE_GIT_COMMIT="${SOURCE_GIT_COMMIT:-${CODEBUILD_RESOLVED_SOURCE_VERSION:-}}"

get-pipeline-definition --output pipeline-definition.json
# A new project's first run trains the bundled sample data unless yours is already there.
run-pipeline --parameter "ImageUri=${IMAGE_URI}" --seed-data model-build/data/raw
# The schedules start these without parameters: ImageUri defaults to this build's image.
upsert-pipelines --image-uri "${IMAGE_URI}"
