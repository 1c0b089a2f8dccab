#!/usr/bin/env bash
# Build the project image, push it to ECR tagged with a hash of model-build/ (its build context), and
# write its digest-pinned URI: image-uri.txt (the URI) and image.env (IMAGE_URI= and IMAGE_TAG=
# lines, for CI systems that read variables from a dotenv file) at the project root.
# Environment: ECR_REPOSITORY_URI (<account>.dkr.ecr.<region>.amazonaws.com/<name>; the repository has
# immutable tags and scan on push), SOURCE_COMMIT (the commit SHA, an image label), AWS_REGION,
# RELEASE_TAG_PREFIX (hand-pushed images with that tag prefix are newer releases; default release-).
# Needs docker and the AWS CLI with credentials that may push to the repository.
# Layer cache: the newest image in the repository is pulled and used as --cache-from (its layers carry
# BuildKit inline cache metadata), which works with immutable tags.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

if [ -z "${ECR_REPOSITORY_URI:-}" ]; then
  echo "error: ECR_REPOSITORY_URI is not set; expected <account>.dkr.ecr.<region>.amazonaws.com/<repository>"
  exit 1
fi
if [ -z "${SOURCE_COMMIT:-}" ]; then
  echo "error: SOURCE_COMMIT is empty; the image is labelled with the commit SHA"
  exit 1
fi
registry="${ECR_REPOSITORY_URI%%/*}"
repository="${ECR_REPOSITORY_URI#*/}"
release_prefix="${RELEASE_TAG_PREFIX:-release-}"
# The tag changes only when a file under model-build/ does: a stage-config commit reuses the image.
tag="src-$(find model-build -type f -not -path '*/__pycache__/*' -not -path '*/.*/*' -print0 \
  | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-32)"
aws ecr get-login-password --region "${AWS_REGION}" | docker login --username AWS --password-stdin "${registry}"

existing="$(aws ecr describe-images --repository-name "${repository}" --image-ids imageTag="${tag}" \
  --query 'imageDetails[0].imageDigest' --output text 2>/dev/null || true)"
if [ -z "${existing}" ] || [ "${existing}" = "None" ]; then
  cache_from=""
  previous="$(aws ecr describe-images --repository-name "${repository}" --filter tagStatus=TAGGED \
    --query 'sort_by(imageDetails, &imagePushedAt)[-1].imageTags[0]' --output text 2>/dev/null || true)"
  if [ -n "${previous}" ] && [ "${previous}" != "None" ] \
    && docker pull --quiet "${ECR_REPOSITORY_URI}:${previous}"; then
    cache_from="${ECR_REPOSITORY_URI}:${previous}"
  fi
  DOCKER_BUILDKIT=1 docker build ${cache_from:+--cache-from "${cache_from}"} \
    --build-arg BUILDKIT_INLINE_CACHE=1 \
    --label "org.opencontainers.image.revision=${SOURCE_COMMIT}" \
    --tag "${ECR_REPOSITORY_URI}:${tag}" \
    --file model-build/container/Dockerfile model-build
  docker push "${ECR_REPOSITORY_URI}:${tag}"
else
  echo "image ${ECR_REPOSITORY_URI}:${tag} already pushed (${existing}); not rebuilding"
fi

digest="$(aws ecr describe-images --repository-name "${repository}" --image-ids imageTag="${tag}" \
  --query 'imageDetails[0].imageDigest' --output text)"
case "${digest}" in
  sha256:*) ;;
  *)
    echo "error: no digest for ${ECR_REPOSITORY_URI}:${tag} (got '${digest}')"
    exit 1
    ;;
esac
# A release image pushed after this commit's image started this run: the pipeline runs it instead.
newest="$(aws ecr describe-images --repository-name "${repository}" --filter tagStatus=TAGGED \
  --query "sort_by(imageDetails[?contains(imageTags, '${tag}') || imageTags[?starts_with(@, '${release_prefix}')]], &imagePushedAt)[-1].imageDigest" \
  --output text)"
if [ -n "${newest}" ] && [ "${newest}" != "None" ] && [ "${newest}" != "${digest}" ]; then
  echo "a ${release_prefix}* image (${newest}) was pushed after ${tag}: using it"
  digest="${newest}"
fi
uri="${ECR_REPOSITORY_URI}@${digest}"
printf '%s\n' "${uri}" > image-uri.txt
printf 'IMAGE_URI=%s\nIMAGE_TAG=%s\n' "${uri}" "${tag}" > image.env
echo "IMAGE_URI=${uri}"
