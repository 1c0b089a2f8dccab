#!/usr/bin/env bash
# GitLab CI: the AWS credentials of a job's role, from the job's OIDC ID token (no stored key).
# Sourced, so that the AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN it exports
# reach the job's later commands (.gitlab-ci.yml):
#   source ci/gitlab-aws-credentials.sh <image|pipeline|deploy-config|staging|prod>
# The role: arn:aws:iam::<AWS_ACCOUNT_ID>:role/{{ cookiecutter.project_slug }}-ci-<job> (the infra
# creates it; it trusts only ID tokens of this project's default branch with the audience
# sts.amazonaws.com). Needs AWS_ID_TOKEN (the job's `id_tokens:` entry), AWS_ACCOUNT_ID (the CI/CD
# variable you set once: ci/README.md) and the AWS CLI. The credentials last an hour.
# Its checks run in a subshell with errexit, nounset and pipefail, which stay off in the job's shell.

_gitlab_aws_credentials() (
  set -euo pipefail
  job="${1:-}"
  case "${job}" in
    image | pipeline | deploy-config | staging | prod) ;;
    *)
      echo "error: job '${job}' is not one of: image, pipeline, deploy-config, staging, prod" >&2
      exit 1
      ;;
  esac
  if ! [[ ${AWS_ACCOUNT_ID:-} =~ ^[0-9]{12}$ ]]; then
    echo "error: AWS_ACCOUNT_ID='${AWS_ACCOUNT_ID:-}' is not an account id; allowed: the 12 digits of the tooling account (Settings > CI/CD > Variables)" >&2
    exit 1
  fi
  if [ -z "${AWS_ID_TOKEN:-}" ]; then
    echo "error: AWS_ID_TOKEN is empty; allowed: the job's ID token (id_tokens: AWS_ID_TOKEN: aud: sts.amazonaws.com)" >&2
    exit 1
  fi
  aws sts assume-role-with-web-identity \
    --role-arn "arn:aws:iam::${AWS_ACCOUNT_ID}:role/{{ cookiecutter.project_slug }}-ci-${job}" \
    --role-session-name "gitlab-${CI_PIPELINE_ID:-0}-${job}" \
    --web-identity-token "${AWS_ID_TOKEN}" \
    --query 'Credentials.[AccessKeyId,SecretAccessKey,SessionToken]' --output text
)

if [ "${BASH_SOURCE[0]}" = "${0}" ]; then
  echo "error: ${0} was run; allowed: source it (source ci/gitlab-aws-credentials.sh <job>), so that its credentials reach the job" >&2
  exit 1
fi
if _credentials="$(_gitlab_aws_credentials "$@")"; then
  read -r AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN <<< "${_credentials}"
  export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
  unset _credentials
  unset -f _gitlab_aws_credentials
else
  unset _credentials
  unset -f _gitlab_aws_credentials
  return 1
fi
