"""The publish command: one-line errors, exit codes, and the S3-route upload against moto."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import boto3
import pytest
from conftest import Published, publish
from moto import mock_aws
from service_catalog.answers import PublishError
from service_catalog.permissions import PermissionsError
from service_catalog.publish import check_launch_role, main
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


def test_an_assembly_whose_launch_role_falls_short_is_refused(
    published: Published, tmp_path: Path
) -> None:
    outdir = tmp_path / "cdk.out"
    shutil.copytree(published.outdir, outdir, ignore=shutil.ignore_patterns("asset.*", "rendered"))
    catalog_file = outdir / "StudioCatalog.template.json"
    catalog = json.loads(catalog_file.read_text(encoding="utf-8"))
    for resource in catalog["Resources"].values():
        if resource["Type"] == "AWS::IAM::Policy" and "LaunchRole" in json.dumps(
            resource["Properties"]["Roles"]
        ):
            statements = resource["Properties"]["PolicyDocument"]["Statement"]
            statements[:] = [s for s in statements if "scheduler:CreateSchedule" not in s["Action"]]
    catalog_file.write_text(json.dumps(catalog), encoding="utf-8")
    check_launch_role(published.outdir)  # the real assembly passes
    with pytest.raises(PublishError, match=r"^launch role: AWS::Scheduler::Schedule: the launch "):
        check_launch_role(outdir)


def test_an_undecided_resource_type_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def synth(*_: object) -> None:
        raise PermissionsError(
            "launch role: AWS::DynamoDB::Table: dynamodb:CreateTable acts on dynamodb:table: "
            "add a row to launch_role.scopes() or OUT_OF_SCOPE"
        )

    monkeypatch.setattr("service_catalog.publish.synth", synth)
    answers = tmp_path / "answers.json"
    answers.write_text("{}", encoding="utf-8")
    assert main(["--answers", str(answers), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("error: launch role: AWS::DynamoDB::Table: dynamodb:CreateTable")


def test_the_network_teams_vpcs_reach_the_product(tmp_path: Path) -> None:
    """answers "network": the product creates no VPC; its builds pass the given ids (large, one
    account: a stage without its own VPC runs in the jobs'), and the seed code's project.toml holds
    them, so `make deploy-infra` from a Studio project's repository builds the same stack."""
    from test_render import JOBS, PROD  # noqa: PLC0415

    answers = {"mlops_size": "large", "single_account": True, "network": {**JOBS, "prod": PROD}}
    published = publish(answers, tmp_path)
    resources = published.product["Resources"].values()
    assert not [r for r in resources if r["Type"].startswith("AWS::EC2::")]
    variables = {
        project["Properties"]["Source"]["BuildSpec"]: {
            v["Name"]: v["Value"]
            for v in project["Properties"]["Environment"]["EnvironmentVariables"]
        }
        for project in resources
        if project["Type"] == "AWS::CodeBuild::Project"
    }
    jobs_subnets = ",".join(JOBS["subnet_ids"])
    assert variables["model-build/buildspec.yml"]["JOB_SUBNET_IDS"] == jobs_subnets
    deploy = variables["model-deploy/buildspec.yml"]
    assert deploy["STAGING_SUBNET_IDS"] == jobs_subnets
    assert deploy["PROD_SUBNET_IDS"] == ",".join(PROD["subnet_ids"])
    (seed,) = (published.outdir / "rendered").glob("*/project.toml")
    assert PROD["vpc_id"] in seed.read_text(encoding="utf-8")


def test_a_bad_network_id_stops_publish_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({"network": {"vpc_id": "vpc-x"}}), encoding="utf-8")
    assert main(["--answers", str(answers), "--out", str(tmp_path / "out")]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"error: {answers}: network [network]: vpc_id='vpc-x': allowed: ")
