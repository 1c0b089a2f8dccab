"""The environment the twin gives what it runs: pointed at the emulator, nothing of the caller's
AWS setup, and nothing of the make that started it."""

from __future__ import annotations

from project_infra.twin.emulator import Emulator, command_line_variables


def test_the_twins_make_arguments_do_not_reach_the_commands_it_runs() -> None:
    """`make twin ARGS=--keep` runs the README's `make deploy-infra`: without clearing MAKEFLAGS
    that make got ARGS=--keep and passed it to the CDK CLI."""
    caller = {  # what `make twin ARGS="--work-dir /tmp/w" X=1` gives the twin's process
        "PATH": "/usr/bin",
        "ARGS": "--work-dir /tmp/w",
        "X": "1",
        "MAKEFLAGS": r" -- ARGS=--work-dir\ /tmp/w X=1",
        "MFLAGS": "",
        "MAKELEVEL": "1",
        "MAKEOVERRIDES": "${-*-command-variables-*-}",
        "AWS_PROFILE": "prod-admin",
        "AWS_ENDPOINT_URL_S3": "https://s3.example.com",
    }
    env = Emulator("eu-west-1", url="http://127.0.0.1:5000").environment(caller)
    assert env["PATH"] == "/usr/bin"
    make = {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "ARGS", "X"}
    assert not {*make, "AWS_PROFILE"} & set(env)
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5000"
    assert "AWS_ENDPOINT_URL_S3" not in env
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "eu-west-1"


def test_the_names_set_on_makes_command_line() -> None:
    assert command_line_variables("") == set()
    assert command_line_variables("k") == set()  # flags only
    assert command_line_variables(r"k -- ARGS=--keep\ --rerun-tests CDK=npx\ cdk") == {
        "ARGS",
        "CDK",
    }


def test_an_approval_keeps_the_packages_metadata_as_on_aws() -> None:
    """UpdateModelPackage adds and overwrites the given CustomerMetadataProperties and removes only
    CustomerMetadataPropertiesToRemove (moto 5.2.5 alone replaces them: twin.emulator._fix_moto)."""
    emulator = Emulator("us-east-1").start()
    try:
        sagemaker = emulator.client("sagemaker")
        sagemaker.create_model_package_group(ModelPackageGroupName="g")
        arn = sagemaker.create_model_package(
            ModelPackageGroupName="g",
            ModelApprovalStatus="PendingManualApproval",
            InferenceSpecification={
                "Containers": [{"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/i:1"}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
            CustomerMetadataProperties={"endpoint_examples": "s3://b/e.csv", "old": "1"},
        )["ModelPackageArn"]
        sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
        described = sagemaker.describe_model_package(ModelPackageName=arn)
        assert described["ModelApprovalStatus"] == "Approved"
        assert described["CustomerMetadataProperties"] == {
            "endpoint_examples": "s3://b/e.csv",
            "old": "1",
        }
        sagemaker.update_model_package(
            ModelPackageArn=arn,
            CustomerMetadataProperties={"old": "2", "new": "3"},
            CustomerMetadataPropertiesToRemove=["endpoint_examples"],
        )
        described = sagemaker.describe_model_package(ModelPackageName=arn)
        assert described["CustomerMetadataProperties"] == {"old": "2", "new": "3"}
    finally:
        emulator.stop()
