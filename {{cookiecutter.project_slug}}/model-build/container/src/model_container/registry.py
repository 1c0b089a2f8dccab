"""The model registry as the monitor and batch inference read it: the newest Approved package of a
group, its drift baselines (``DriftCheckBaselines.ModelDataQuality`` and ``.Explainability``), its
model artifact and a SageMaker Model made from it.

Every AWS failure becomes a ``StepError`` naming what was attempted (one line, exit 1). boto3 is
imported only when a client is made: steps that never call AWS do not pay for it.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from model_container import local_aws
from model_container.entrypoint import StepError
from model_container.extension_constraints import FILE_NAME as EXTENSION_FILE

APPROVED = "Approved"
_ABSENT = {"NoSuchKey", "404", "NotFound", "AccessDenied", "403"}  # GetObject of a missing key
BASELINE_FILES = {"Statistics": "statistics.json", "Constraints": "constraints.json"}
_S3_URL = re.compile(r"s3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:/(.*))?")
_RESERVED_TAG_PREFIX = "aws:"  # tags SageMaker refuses on create
# SageMaker's EntityName (model package groups, models); botocore checks lengths only.
_ENTITY_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")


def entity_name(what: str) -> Callable[[str], str]:
    """An argparse type checking a SageMaker resource name, with a one-line error naming ``what``."""

    def check(text: str) -> str:
        if not _ENTITY_NAME.fullmatch(text):
            raise StepError(
                f"{what} {text!r} is not valid: 1-63 letters, digits and hyphens, "
                "starting and ending with a letter or digit"
            )
        return text

    return check


def client(service: str, region: str | None = None) -> Any:
    """A boto3 client (region: the argument, else AWS_REGION / AWS_DEFAULT_REGION / the profile).

    SageMaker jobs set AWS_REGION, which botocore itself does not read (only AWS_DEFAULT_REGION).
    """
    import boto3  # noqa: PLC0415

    if os.environ.get(local_aws.ROOT_VARIABLE):  # `make local`: its folders stand in for AWS
        return local_aws.client(service, Path(os.environ[local_aws.ROOT_VARIABLE]))
    region = region or os.environ.get("AWS_REGION") or None
    with aws_errors(f"create a {service} client"):
        return boto3.client(service, region_name=region)


@contextmanager
def aws_errors(action: str) -> Iterator[None]:
    """Turn botocore's errors (denied, missing, no credentials or region) into one-line StepErrors."""
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

    try:
        yield
    except ClientError as error:
        details = error.response.get("Error", {})
        raise StepError(
            f"could not {action}: {details.get('Code', 'error')}: {details.get('Message', error)}"
        ) from None
    except BotoCoreError as error:
        raise StepError(f"could not {action}: {error}") from None


def split_s3_url(url: str, what: str = "S3 URL") -> tuple[str, str]:
    """``s3://bucket/key`` -> (bucket, key); the key may be empty."""
    match = _S3_URL.fullmatch(url)
    if not match:
        raise StepError(f"{what} {url!r} is not an s3://<bucket>/<key> URL")
    return match.group(1), match.group(2) or ""


def newest_approved(sagemaker: Any, group: str) -> dict[str, Any]:
    """``DescribeModelPackage`` of the group's most recently created Approved package."""
    package = newest_approved_or_none(sagemaker, group)
    if package is None:
        raise StepError(
            f"model package group {group!r} has no Approved model package; "
            "approve one (make approve, or the SageMaker console) first"
        )
    return package


def newest_approved_or_none(sagemaker: Any, group: str) -> dict[str, Any] | None:
    """Like newest_approved, but None when the group has no Approved package."""
    paginator = sagemaker.get_paginator("list_model_packages")
    pages = paginator.paginate(
        ModelPackageGroupName=group,
        ModelApprovalStatus=APPROVED,
        SortBy="CreationTime",
        SortOrder="Descending",
    )
    with aws_errors(f"list the model packages of group {group!r}"):
        # Sorted newest first: the first summary of the first non-empty page is the one.
        arn = next(
            (s["ModelPackageArn"] for p in pages for s in p["ModelPackageSummaryList"]), None
        )
    if arn is None:
        return None
    with aws_errors(f"describe model package {arn}"):
        return sagemaker.describe_model_package(ModelPackageName=arn)


def baseline_uris(package: dict[str, Any]) -> dict[str, str]:
    """``{"Statistics": s3 URI, "Constraints": s3 URI}`` of the package's data-quality drift baselines."""
    quality = (package.get("DriftCheckBaselines") or {}).get("ModelDataQuality") or {}
    uris = {}
    for key in BASELINE_FILES:
        uri = (quality.get(key) or {}).get("S3Uri")
        if not uri:
            raise StepError(
                f"model package {package['ModelPackageArn']} has no "
                f"DriftCheckBaselines.ModelDataQuality.{key}; register it with the model-build pipeline"
            )
        uris[key] = uri
    return uris


def quality_constraints_uri(package: dict[str, Any]) -> str:
    """The S3 URI of the package's model-quality constraints (``DriftCheckBaselines.ModelQuality``,
    else ``ModelMetrics.ModelQuality``: both are registered by the model-build pipeline)."""
    for section in ("DriftCheckBaselines", "ModelMetrics"):
        quality = (package.get(section) or {}).get("ModelQuality") or {}
        uri = (quality.get("Constraints") or {}).get("S3Uri")
        if uri:
            return str(uri)
    raise StepError(
        f"model package {package['ModelPackageArn']} has no DriftCheckBaselines.ModelQuality."
        "Constraints; register it with the model-build pipeline"
    )


def bias_baseline_uri(package: dict[str, Any]) -> str | None:
    """The S3 URI of the package's post-training bias baseline: ``DriftCheckBaselines.Bias.
    PostTrainingConstraints`` (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DriftCheckBias.html),
    else ``ModelMetrics.Bias.PostTrainingReport`` (packages registered before the former); None
    when it has neither (a model folder without a facet registers an empty report all the same)."""
    drift = ((package.get("DriftCheckBaselines") or {}).get("Bias") or {}).get(
        "PostTrainingConstraints"
    )
    report = ((package.get("ModelMetrics") or {}).get("Bias") or {}).get("PostTrainingReport")
    for source in (drift, report):
        uri = (source or {}).get("S3Uri")
        if uri:
            return str(uri)
    return None


def explainability_uri(package: dict[str, Any]) -> str:
    """The S3 URI of the package's ``DriftCheckBaselines.Explainability.Constraints`` (the baselines
    step's explainability.json; https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DriftCheckExplainability.html)."""
    explainability = (package.get("DriftCheckBaselines") or {}).get("Explainability") or {}
    uri = (explainability.get("Constraints") or {}).get("S3Uri")
    if not uri:
        raise StepError(
            f"model package {package['ModelPackageArn']} has no "
            "DriftCheckBaselines.Explainability.Constraints; register it with the model-build pipeline"
        )
    return str(uri)


def model_data_url(package: dict[str, Any]) -> str:
    """The S3 URI of the package's ``model.tar.gz`` (its first container's ModelDataUrl)."""
    containers = (package.get("InferenceSpecification") or {}).get("Containers") or [{}]
    url = containers[0].get("ModelDataUrl")
    if not url:
        raise StepError(
            f"model package {package['ModelPackageArn']} has no "
            "InferenceSpecification.Containers[0].ModelDataUrl"
        )
    return str(url)


def image_uri(package: dict[str, Any]) -> str | None:
    containers = (package.get("InferenceSpecification") or {}).get("Containers") or [{}]
    return containers[0].get("Image")


def download(s3: Any, url: str, target: Path) -> Path:
    """Copy one S3 object to ``target`` (streamed; the folder is created)."""
    bucket, key = split_s3_url(url)
    target.parent.mkdir(parents=True, exist_ok=True)
    with aws_errors(f"download {url}"):
        body = s3.get_object(Bucket=bucket, Key=key)["Body"]
        with target.open("wb") as handle:
            for chunk in body.iter_chunks(1 << 20):
                handle.write(chunk)
    return target


def download_if_present(s3: Any, url: str, target: Path) -> Path | None:
    """``download``, or None when there is no such object. Without s3:ListBucket on the bucket S3
    answers a missing key with 403 AccessDenied rather than 404 NoSuchKey
    (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html, Permissions), so both
    count as absent."""
    from botocore.exceptions import ClientError  # noqa: PLC0415

    bucket, key = split_s3_url(url)
    with aws_errors(f"download {url}"):
        try:
            body = s3.get_object(Bucket=bucket, Key=key)["Body"]
        except local_aws.MissingObjectError:
            return None
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in _ABSENT:
                return None
            raise
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("wb") as handle:
            for chunk in body.iter_chunks(1 << 20):
                handle.write(chunk)
    return target


def download_baselines(s3: Any, package: dict[str, Any], folder: Path) -> dict[str, str]:
    """Write the package's ``statistics.json`` and ``constraints.json`` into ``folder``, and our
    ``extension_constraints.json`` when the baselines step wrote one beside ``constraints.json``
    (packages registered before it have none); returns the two registered URIs."""
    uris = baseline_uris(package)
    for key, name in BASELINE_FILES.items():
        download(s3, uris[key], folder / name)
    sibling = uris["Constraints"].rsplit("/", 1)[0] + "/" + EXTENSION_FILE
    download_if_present(s3, sibling, folder / EXTENSION_FILE)
    return uris


def package_tags(sagemaker: Any, arn: str) -> list[dict[str, str]]:
    """The package's tags (the project's, set at registration), for the resources made from it.

    Without permission to read them the model is created untagged (a warning, not a failure): tags
    are for cost allocation and Studio, and batch inference must not stop for them.
    """
    from botocore.exceptions import ClientError  # noqa: PLC0415

    pages = sagemaker.get_paginator("list_tags").paginate(ResourceArn=arn)
    try:
        tags = [tag for page in pages for tag in page.get("Tags", [])]
    except ClientError as error:
        details = error.response.get("Error", {})
        code = details.get("Code", "")
        if code not in ("AccessDeniedException", "AccessDenied"):
            message = details.get("Message", error)
            raise StepError(f"could not list the tags of {arn}: {code}: {message}") from None
        print(
            f"warning: no permission to list the tags of {arn}; model not tagged", file=sys.stderr
        )
        return []
    return [tag for tag in tags if not tag["Key"].startswith(_RESERVED_TAG_PREFIX)]


def create_model(
    sagemaker: Any,
    name: str,
    package_arn: str,
    role_arn: str,
    tags: list[dict[str, str]],
    *,
    vpc_config: dict[str, list[str]] | None = None,
) -> str:
    """A SageMaker Model serving the package (as batch transform and endpoints use it); its ARN.
    ``vpc_config`` (CreateModel's VpcConfig: SecurityGroupIds, Subnets) puts its containers in
    those subnets (https://docs.aws.amazon.com/sagemaker/latest/dg/batch-vpc.html).

    A model of that name that already serves the package is reused: a retried step (same execution
    id, same name) must not fail on its own earlier success.
    """
    existing = _existing_model(sagemaker, name)
    if existing is not None:
        served = [c.get("ModelPackageName") for c in existing.get("Containers") or []]
        served.append((existing.get("PrimaryContainer") or {}).get("ModelPackageName"))
        if package_arn not in served:
            raise StepError(
                f"model {name!r} already exists and does not serve {package_arn}; "
                "pass another --model-name"
            )
        return existing["ModelArn"]
    request: dict[str, Any] = {
        "ModelName": name,
        "ExecutionRoleArn": role_arn,
        "Containers": [{"ModelPackageName": package_arn}],
        # The model server reads /opt/ml/model and answers on its port; it calls nothing, so the
        # batch transform's containers run without network access (API_CreateModel.html,
        # EnableNetworkIsolation). The endpoints set the same through endpoint.yml.
        "EnableNetworkIsolation": True,
    }
    if vpc_config:
        request["VpcConfig"] = vpc_config
    if tags:
        request["Tags"] = tags
    with aws_errors(f"create model {name!r} from {package_arn}"):
        return sagemaker.create_model(**request)["ModelArn"]


def _existing_model(sagemaker: Any, name: str) -> dict[str, Any] | None:
    """``DescribeModel`` of ``name``, or None when there is no such model."""
    from botocore.exceptions import ClientError  # noqa: PLC0415

    try:
        return sagemaker.describe_model(ModelName=name)
    except ClientError as error:
        details = error.response.get("Error", {})
        if details.get("Code") == "ValidationException" and "Could not find" in str(
            details.get("Message")
        ):
            return None
        raise StepError(
            f"could not describe model {name!r}: {details.get('Code', 'error')}: "
            f"{details.get('Message', error)}"
        ) from None
