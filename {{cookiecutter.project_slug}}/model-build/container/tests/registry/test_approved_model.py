"""``python3 -m model_container.approved_model`` and ``model_container.registry`` against moto."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from registry_fixtures import (
    FEATURES,
    GROUP,
    IMAGE,
    PROJECT_TAGS,
    REGION,
    ROLE,
    Registry,
    feature_table,
)

from model_container import registry as registry_module
from model_container.approved_model import main
from model_container.data_quality import statistics
from model_container.entrypoint import StepError


def run(output: Path, *extra: str) -> int:
    return main(["--model-package-group", GROUP, "--output-dir", str(output), *extra])


def test_newest_approved_package_baselines_and_model(
    registry: Registry, tmp_path: Path, opt_ml: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry.register("Approved", feature_table(1))
    newest_approved = registry.register("Approved", feature_table(2))
    registry.register("PendingManualApproval", feature_table(3))
    registry.register("Rejected", feature_table(4))

    sent: list[dict[str, Any]] = []
    make_api_call = BaseClient._make_api_call

    def spy(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        if operation == "CreateModel":
            sent.append(params)
        return make_api_call(client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", spy)
    assert run(tmp_path, "--model-name", "demo-batch-abc", "--execution-role-arn", ROLE) == 0
    # The serving container needs no network (moto's DescribeModel does not echo the flag).
    assert [request["EnableNetworkIsolation"] for request in sent] == [True]

    document = json.loads((tmp_path / "model-package.json").read_text())
    assert document == {
        "model_package_arn": newest_approved,
        "model_name": "demo-batch-abc",
        "image_uri": IMAGE,
        "statistics_uri": "s3://artifacts-bucket/baselines/2/statistics.json",
        "constraints_uri": "s3://artifacts-bucket/baselines/2/constraints.json",
    }
    downloaded = json.loads((tmp_path / "baselines" / "statistics.json").read_text())
    assert downloaded == json.loads(json.dumps(statistics(FEATURES, feature_table(2))))
    assert (tmp_path / "baselines" / "constraints.json").is_file()
    assert (tmp_path / "baselines" / "extension_constraints.json").is_file()  # our valid ranges

    model = registry.sagemaker.describe_model(ModelName="demo-batch-abc")
    assert model["Containers"] == [{"ModelPackageName": newest_approved}]
    assert model["ExecutionRoleArn"] == ROLE
    assert registry.sagemaker.list_tags(ResourceArn=model["ModelArn"])["Tags"] == PROJECT_TAGS


def test_the_model_runs_in_the_given_subnets_and_security_groups(
    registry: Registry, tmp_path: Path, opt_ml: Path
) -> None:
    registry.register("Approved", feature_table(1))
    vpc = ("--subnet-ids", "subnet-0123abcd,subnet-4567cdef", "--security-group-ids", "sg-89abcdef")
    assert run(tmp_path, "--model-name", "demo-batch-abc", "--execution-role-arn", ROLE, *vpc) == 0
    model = registry.sagemaker.describe_model(ModelName="demo-batch-abc")
    assert model["VpcConfig"] == {
        "SecurityGroupIds": ["sg-89abcdef"],
        "Subnets": ["subnet-0123abcd", "subnet-4567cdef"],
    }


def test_without_model_name_no_model_is_created(
    registry: Registry, tmp_path: Path, opt_ml: Path
) -> None:
    arn = registry.register("Approved", feature_table(1), ranges=None)  # registered before them
    assert run(tmp_path) == 0
    assert not (tmp_path / "baselines" / "extension_constraints.json").exists()
    document = json.loads((tmp_path / "model-package.json").read_text())
    assert document["model_package_arn"] == arn and document["model_name"] is None
    assert registry.sagemaker.list_models()["Models"] == []


def test_a_retried_step_reuses_its_model(registry: Registry, tmp_path: Path, opt_ml: Path) -> None:
    arn = registry.register("Approved", feature_table(1))
    args = ("--model-name", "demo-batch-abc", "--execution-role-arn", ROLE)
    assert run(tmp_path / "first", *args) == 0
    assert run(tmp_path / "retry", *args) == 0
    models = registry.sagemaker.list_models()["Models"]
    assert [m["ModelName"] for m in models] == ["demo-batch-abc"]
    retried = json.loads((tmp_path / "retry" / "model-package.json").read_text())
    assert retried["model_package_arn"] == arn


def test_a_model_of_that_name_serving_another_package_is_one_line_and_status_1(
    registry: Registry, tmp_path: Path, opt_ml: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry.sagemaker.create_model(
        ModelName="demo-batch-abc",
        ExecutionRoleArn=ROLE,
        PrimaryContainer={"Image": IMAGE},
    )
    registry.register("Approved", feature_table(1))
    args = ("--model-name", "demo-batch-abc", "--execution-role-arn", ROLE)
    assert run(tmp_path, *args) == 1
    assert "model 'demo-batch-abc' already exists and does not serve" in one_line_error(capsys)


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_no_approved_package_is_one_line_and_status_1(
    registry: Registry, tmp_path: Path, opt_ml: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry.register("PendingManualApproval", feature_table(1))
    assert run(tmp_path, "--model-name", "m", "--execution-role-arn", ROLE) == 1
    err = one_line_error(capsys)
    assert f"model package group '{GROUP}' has no Approved model package" in err
    assert "has no Approved model package" in (opt_ml / "output" / "message").read_text()
    assert not (tmp_path / "model-package.json").exists()
    assert registry.sagemaker.list_models()["Models"] == []


def test_package_without_drift_baselines(
    registry: Registry, tmp_path: Path, opt_ml: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry.register("Approved", feature_table(1), baselines=False)
    assert run(tmp_path) == 1
    assert "has no DriftCheckBaselines.ModelDataQuality.Statistics" in one_line_error(capsys)


def test_missing_baseline_object(
    registry: Registry, tmp_path: Path, opt_ml: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry.register("Approved", feature_table(1))
    registry.s3.delete_object(Bucket="artifacts-bucket", Key="baselines/1/constraints.json")
    assert run(tmp_path) == 1
    err = one_line_error(capsys)
    assert "could not download s3://artifacts-bucket/baselines/1/constraints.json: NoSuchKey" in err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--model-name", "m"], "--model-name and --execution-role-arn go together"),
        (["--execution-role-arn", ROLE], "--model-name and --execution-role-arn go together"),
        (
            ["--model-name", "bad_name", "--execution-role-arn", ROLE],
            "model name 'bad_name' is not valid: 1-63 letters, digits and hyphens",
        ),
        (
            ["--model-name", "m", "--execution-role-arn", "pipeline-role"],
            "execution role ARN 'pipeline-role' is not an IAM role ARN",
        ),
        (["--subnet-ids", "subnet-0123abcd"], "--subnet-ids and --security-group-ids go together"),
        (
            ["--subnet-ids", "subnet-0123abcd", "--security-group-ids", "sg-0123abcd"],
            "need --model-name",
        ),
        (
            ["--subnet-ids", "subnet-0123abcd,vpc-0123abcd", "--security-group-ids", "sg-0123abcd"],
            "'subnet-0123abcd,vpc-0123abcd' is not 1-16 comma-separated ids like subnet-0123abcd",
        ),
    ],
)
def test_bad_arguments(
    extra: list[str],
    message: str,
    *,
    registry: Registry,
    tmp_path: Path,
    opt_ml: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run(tmp_path, *extra) == 1
    assert message in one_line_error(capsys)


def test_group_name_is_checked(
    tmp_path: Path, opt_ml: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--model-package-group", "no/slashes", "--output-dir", str(tmp_path)]) == 1
    assert "model package group 'no/slashes' is not valid" in one_line_error(capsys)


def test_tags_unreadable_means_an_untagged_model(
    capsys: pytest.CaptureFixture[str], aws: None
) -> None:
    client = boto3.client("sagemaker", region_name=REGION)
    arn = f"arn:aws:sagemaker:{REGION}:123456789012:model-package/{GROUP}/1"
    with Stubber(client) as stub:  # botocore checks the request and the error against the API
        stub.add_client_error(
            "list_tags", "AccessDeniedException", expected_params={"ResourceArn": arn}
        )
        assert registry_module.package_tags(client, arn) == []
        stub.add_client_error(
            "list_tags", "ThrottlingException", expected_params={"ResourceArn": arn}
        )
        with pytest.raises(StepError, match=r"could not list the tags of .*ThrottlingException"):
            registry_module.package_tags(client, arn)
    assert "no permission to list the tags" in capsys.readouterr().err


def test_reserved_tags_are_not_copied(aws: None) -> None:
    client = boto3.client("sagemaker", region_name=REGION)
    arn = f"arn:aws:sagemaker:{REGION}:123456789012:model-package/{GROUP}/1"
    tags = [{"Key": "aws:cloudformation:stack-name", "Value": "s"}, *PROJECT_TAGS]
    with Stubber(client) as stub:
        stub.add_response("list_tags", {"Tags": tags}, {"ResourceArn": arn})
        assert registry_module.package_tags(client, arn) == PROJECT_TAGS


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("s3://bucket/a/b.json", ("bucket", "a/b.json")),
        ("s3://my.bucket-1", ("my.bucket-1", "")),
        ("s3://my.bucket-1/", ("my.bucket-1", "")),
    ],
)
def test_split_s3_url(url: str, expected: tuple[str, str]) -> None:
    assert registry_module.split_s3_url(url) == expected


@pytest.mark.parametrize("url", ["https://bucket/key", "s3://", "s3://Bucket/key", "bucket/key"])
def test_split_s3_url_rejects(url: str) -> None:
    with pytest.raises(StepError, match="is not an s3://<bucket>/<key> URL"):
        registry_module.split_s3_url(url)


def test_module_entry_point_without_arguments(tmp_path: Path) -> None:
    env = {**os.environ, "OPT_ML": str(tmp_path / "opt_ml")}
    result = subprocess.run(
        [sys.executable, "-m", "model_container.approved_model"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "error: approved_model: the following arguments are required: --model-package-group"
    )


def test_region_from_aws_region_as_sagemaker_jobs_set_it(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_REGION", "ap-southeast-2")
    assert registry_module.client("sagemaker").meta.region_name == "ap-southeast-2"
    assert registry_module.client("s3", "eu-west-1").meta.region_name == "eu-west-1"


def test_no_region_is_one_line(
    *,
    aws: None,
    tmp_path: Path,
    opt_ml: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    assert run(tmp_path) == 1
    assert "could not create a sagemaker client: You must specify a region." in one_line_error(
        capsys
    )


@pytest.mark.parametrize(
    ("code", "absent"), [("NoSuchKey", True), ("AccessDenied", True), ("SlowDown", False)]
)
def test_an_optional_object_is_absent_on_404_and_403(
    tmp_path: Path, code: str, absent: bool
) -> None:
    """Without s3:ListBucket, S3 answers a missing key with AccessDenied; other errors stay errors."""

    class S3:
        def get_object(self, **_: str) -> None:
            raise ClientError({"Error": {"Code": code, "Message": "m"}}, "GetObject")

    url = "s3://artifacts-bucket/baselines/1/extension_constraints.json"
    if absent:
        assert registry_module.download_if_present(S3(), url, tmp_path / "x.json") is None
    else:
        with pytest.raises(StepError, match=f"could not download {url}: {code}"):
            registry_module.download_if_present(S3(), url, tmp_path / "x.json")
