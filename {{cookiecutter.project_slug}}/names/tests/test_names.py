"""Every derived name satisfies the pattern and length AWS enforces (botocore's service models), for
the project names SageMaker Projects accept: shortest, longest, mixed case, digit first, hyphen runs."""

from __future__ import annotations

import re
from collections.abc import Callable

import botocore.session
import pytest

from project_names import CI_JOBS, STAGES, Names

_SESSION = botocore.session.get_session()


def _shape(service: str, operation: str, member: str) -> dict[str, object]:
    model = _SESSION.get_service_model(service).operation_model(operation)
    return dict(model.input_shape.members[member].metadata)


PROJECT_NAME = _shape("sagemaker", "CreateProject", "ProjectName")
PROJECT_NAMES = (
    "a",
    "mammography-severity",
    "Churn-Model2",
    "2churn",
    "a--b",
    "A" + "-b" * 15 + "c",
)
PROJECT_IDS = ("p-abcdefghijkl", "local", "manual")

# The CloudFormation API models StackName without a pattern; the rule is in the user guide:
# https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cfn-using-console-create-stack-parameters.html
STACK_NAME = {"pattern": "[a-zA-Z][-a-zA-Z0-9]*", "max": 128}

# name -> (its constraint, how to get it from Names)
CHECKS: dict[str, tuple[dict[str, object], Callable[[Names], str]]] = {
    "model package group": (
        _shape("sagemaker", "CreateModelPackageGroup", "ModelPackageGroupName"),
        lambda n: n.model_package_group,
    ),
    "build pipeline": (
        _shape("sagemaker", "CreatePipeline", "PipelineName"),
        lambda n: n.build_pipeline,
    ),
    "monitoring pipeline": (
        _shape("sagemaker", "CreatePipeline", "PipelineName"),
        lambda n: n.monitoring_pipeline,
    ),
    "batch pipeline": (
        _shape("sagemaker", "CreatePipeline", "PipelineName"),
        lambda n: n.batch_pipeline,
    ),
    "ecr repository": (
        _shape("ecr", "CreateRepository", "repositoryName"),
        lambda n: n.ecr_repository,
    ),
    "drift alarm": (_shape("cloudwatch", "PutMetricAlarm", "AlarmName"), lambda n: n.drift_alarm),
    "drift namespace": (
        _shape("cloudwatch", "PutMetricData", "Namespace"),
        lambda n: n.drift_namespace,
    ),
    "model-quality alarm": (
        _shape("cloudwatch", "PutMetricAlarm", "AlarmName"),
        lambda n: n.quality_alarm,
    ),
    "model-quality namespace": (
        _shape("cloudwatch", "PutMetricData", "Namespace"),
        lambda n: n.quality_namespace,
    ),
    **{
        f"{stage} endpoint": (
            _shape("sagemaker", "CreateEndpoint", "EndpointName"),
            lambda n, stage=stage: n.endpoint(stage),
        )
        for stage in STAGES
    },
    **{
        f"{stage} deploy stack": (STACK_NAME, lambda n, stage=stage: n.deploy_stack(stage))
        for stage in STAGES
    },
    **{
        f"ci role {job}": (
            _shape("iam", "CreateRole", "RoleName"),
            lambda n, job=job: n.ci_role(job),
        )
        for job in CI_JOBS
    },
    **{
        f"ci environment {job}": (
            # PutParameter's Name: the API model says 1-2048; a name with slashes is a path of at
            # most 15 levels (https://docs.aws.amazon.com/systems-manager/latest/userguide/sysman-paramstore-su-create.html).
            {**_shape("ssm", "PutParameter", "Name"), "pattern": r"(/[a-zA-Z0-9_.-]+){1,15}"},
            lambda n, job=job: n.ci_environment(job),
        )
        for job in CI_JOBS
    },
}


def _satisfies(value: str, constraint: dict[str, object]) -> bool:
    pattern = constraint.get("pattern")
    low, high = int(constraint.get("min", 1)), int(constraint.get("max", 10**6))  # type: ignore[call-overload]
    return (pattern is None or re.fullmatch(str(pattern), value) is not None) and (
        low <= len(value) <= high
    )


def test_sample_project_names_are_the_ones_sagemaker_accepts() -> None:
    assert all(_satisfies(name, PROJECT_NAME) for name in PROJECT_NAMES)
    assert max(map(len, PROJECT_NAMES)) == PROJECT_NAME["max"]


@pytest.mark.parametrize("project_name", PROJECT_NAMES)
@pytest.mark.parametrize("project_id", PROJECT_IDS)
@pytest.mark.parametrize("check", sorted(CHECKS))
def test_every_name_satisfies_aws(project_name: str, project_id: str, check: str) -> None:
    constraint, derive = CHECKS[check]
    value = derive(Names(project_name, project_id))
    assert _satisfies(value, constraint), f"{check} {value!r} violates {constraint}"


@pytest.mark.parametrize("project_name", PROJECT_NAMES)
def test_names_aws_writes_lowercased_into_arns_are_lowercase(project_name: str) -> None:
    """SageMaker lowercases endpoint names in ARNs; IAM compares ARNs case-sensitively."""
    names = Names(project_name, "p-abcdefghijkl")
    for value in (names.ecr_repository, *(names.endpoint(stage) for stage in STAGES)):
        assert value == value.lower()


def test_prefixes_are_below_the_bucket_and_end_in_a_slash() -> None:
    names = Names("Churn-Model2", "p-abcdefghijkl")
    prefixes = (names.raw_data_prefix, names.batch_input_prefix, names.deploy_prefix)
    for prefix in (*prefixes, names.capture_folder("prod"), names.ground_truth_folder("prod")):
        assert not prefix.startswith("/") and prefix.endswith("/"), prefix
    assert names.capture_folder("prod").startswith(Names.capture_prefix("prod") + "/")
    assert names.ground_truth_folder("prod") == "ground-truth/prod/churn-model2-prod/"
    assert "/churn-model2-prod/" in names.capture_folder("prod")


def test_names_in_arns_are_what_sagemaker_writes() -> None:
    """SageMaker lowercases names in ARNs (IAM matches them case-sensitively)."""
    names = Names("Churn-Model2", "p-abcdefghijkl")
    assert names.in_arn(names.build_pipeline) == "churn-model2-p-abcdefghijkl-model-build"
    assert names.in_arn(names.model_package_group) == "churn-model2-p-abcdefghijkl"
    assert names.deploy_stack("prod") == "sagemaker-churn-model2-deploy-prod"
    assert names.ecr_repository == "sagemaker-churn-model2"


def test_in_arn_refuses_a_name_of_another_project() -> None:
    with pytest.raises(ValueError, match="'other-p-1' does not start with project name 'Churn'"):
        Names("Churn", "p-1").in_arn("other-p-1")


def test_ci_names_refuse_an_unknown_job() -> None:
    with pytest.raises(ValueError, match="CI job 'deploy': allowed: image, pipeline"):
        Names("churn").ci_role("deploy")
