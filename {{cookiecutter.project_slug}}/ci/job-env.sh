#!/usr/bin/env bash
# Print a CI job's environment: the KEY=value lines of the SSM parameter
# /{{ cookiecutter.project_slug }}/ci/<job> (the infra writes it: what the CodeBuild project of that
# step holds as environment variables in a CodePipeline project), every line checked before any is
# printed, so a job never runs with a half-read environment.
# Usage: ci/job-env.sh <image|pipeline|deploy-config|staging|prod>
#   GitHub Actions: bash ci/job-env.sh image >> "$GITHUB_ENV"
#   GitLab CI:      bash ci/job-env.sh image > /tmp/job.env && set -a && source /tmp/job.env && set +a
# A line is KEY=value: KEY of capitals, digits and _ (a capital first), the value of letters,
# digits and : / @ . _ , + = * - only (no quotes, spaces or $), so sourcing it or appending it to
# $GITHUB_ENV cannot run or expand anything.
# Needs the AWS CLI with the job role's credentials (each role may read only its own parameter),
# AWS_REGION.
set -euo pipefail
export LC_ALL=C

job="${1:-}"
case "${job}" in
  image | pipeline | deploy-config | staging | prod) ;;
  *)
    echo "error: job '${job}' is not one of: image, pipeline, deploy-config, staging, prod" >&2
    exit 1
    ;;
esac
parameter="/{{ cookiecutter.project_slug }}/ci/${job}"
if ! value="$(aws ssm get-parameter --name "${parameter}" --query Parameter.Value --output text)"; then
  echo "error: cannot read the SSM parameter ${parameter}; allowed: run as the ${job} job's role, after the infra stack is deployed" >&2
  exit 1
fi
pattern='^[A-Z][A-Z0-9_]*=[A-Za-z0-9:/@._,+=*-]*$'
number=0
while IFS= read -r line; do
  number=$((number + 1))
  if ! [[ ${line} =~ ${pattern} ]]; then
    printf 'error: %s line %d is %q; allowed: KEY=value, KEY of [A-Z0-9_] starting with a capital, value of [A-Za-z0-9:/@._,+=*-]\n' \
      "${parameter}" "${number}" "${line}" >&2
    exit 1
  fi
done <<< "${value}"
printf '%s\n' "${value}"
