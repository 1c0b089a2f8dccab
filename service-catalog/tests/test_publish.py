"""The publish command: one-line errors, exit codes, and the S3-route upload against moto."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from conftest import Published
from moto import mock_aws
from service_catalog.answers import PublishError
from service_catalog.publish import main
from service_catalog.studio import DOMAIN_TEMPLATES_TAG, TEMPLATE_PREFIX
from service_catalog.upload import upload

ROLE = "arn:aws:iam::123456789012:role/studio"


def test_bad_answers_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = tmp_path / "answers.json"
    answers.write_text('{"mlops_size": "huge"}', encoding="utf-8")
    assert main(["--answers", str(answers), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.splitlines()[-1] == (
        "error: the template refused the answers: huge provided for choice variable mlops_size, "
        "but the choices are ['small', 'medium', 'large']."
    )
    assert "Traceback" not in err


def test_upload_needs_bucket_and_domain(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--answers", str(tmp_path / "a.json"), "--upload"]) == 2
    assert "--upload needs --bucket" in capsys.readouterr().err


def test_upload_tags_the_object_and_the_domain(published: Published) -> None:
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="templates")
        sagemaker = boto3.client("sagemaker", region_name=published.region)
        domain_arn = sagemaker.create_domain(
            DomainName="studio",
            AuthMode="IAM",
            DefaultUserSettings={"ExecutionRole": ROLE},
            SubnetIds=["subnet-1"],
            VpcId="vpc-1",
            Tags=[{"Key": "team", "Value": "ml"}],  # moto 5.2.5 cannot add tags to an untagged one
        )["DomainArn"]
        domain_id = domain_arn.rsplit("/", 1)[1]

        uri = upload(published.studio, "templates", domain_id, published.region)

        assert uri == f"s3://templates/{published.studio.key}"
        assert published.studio.key.startswith(TEMPLATE_PREFIX)
        tags = s3.get_object_tagging(Bucket="templates", Key=published.studio.key)["TagSet"]
        assert tags == [{"Key": "sagemaker:studio-visibility", "Value": "true"}]
        stored = s3.get_object(Bucket="templates", Key=published.studio.key)
        assert stored["Body"].read() == published.studio.file.read_bytes()
        assert stored["Metadata"] == {"template-version": published.studio.version}
        domain_tags = sagemaker.list_tags(ResourceArn=domain_arn)["Tags"]
        assert {
            "Key": DOMAIN_TEMPLATES_TAG,
            "Value": f"s3://templates/{TEMPLATE_PREFIX}",
        } in domain_tags


def test_upload_failure_is_one_line(published: Published) -> None:
    with mock_aws(), pytest.raises(PublishError, match=r"upload to s3://missing / domain d-x: "):
        upload(published.studio, "missing", "d-x", published.region)


def test_publish_command_writes_the_assembly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = tmp_path / "answers.json"
    answers.write_text(
        json.dumps({"git_provider": "gitlab", "mlops_size": "medium", "single_account": True}),
        encoding="utf-8",
    )
    out = tmp_path / "cdk.out"
    assert main(["--answers", str(answers), "--out", str(out)]) == 0
    assert "studio template: " in capsys.readouterr().out
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert "StudioCatalog" in manifest["artifacts"]
    assert (out / "studio-template" / "mammography-severity.yaml").is_file()


def test_out_never_replaces_a_foreign_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = tmp_path / "answers.json"
    answers.write_text("{}", encoding="utf-8")
    keep = tmp_path / "work" / "notes.txt"
    keep.parent.mkdir()
    keep.write_text("mine", encoding="utf-8")
    assert main(["--answers", str(answers), "--out", str(keep.parent)]) == 2
    assert "exists and is not a cloud assembly" in capsys.readouterr().err
    assert keep.read_text(encoding="utf-8") == "mine"
