"""[tracking] mlflow_app: the MLflow App, the pipeline role's access to it and the build's variables
(which add the Track and LinkRun steps to the pipeline), for this project as generated and with the
setting flipped; the setting's own rules."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from conftest import Synthesized, synthesize_settings
from test_given_network import _with_table

from project_infra.mlflow_app import ARTIFACT_PREFIX, CLIENT_ACTIONS
from project_infra.settings import MLFLOW_SIZES, SettingsError, load


@pytest.fixture(scope="module")
def flipped(
    codepipeline_synthesized: Synthesized, tmp_path_factory: pytest.TempPathFactory
) -> Synthesized:
    """This project with [tracking] mlflow_app the other way round (cdk-nag checks it too); the
    build's variables are read from its CodeBuild project (CodePipeline)."""
    synthesized = codepipeline_synthesized
    settings = dataclasses.replace(
        synthesized.settings, mlflow_app=not synthesized.settings.mlflow_app
    )
    return synthesize_settings(
        settings, synthesized.repo_root, tmp_path_factory.mktemp("cdk.out.flipped")
    )


def _build_variables(synth: Synthesized) -> dict[str, Any]:
    (build,) = [
        p
        for p in synth.resources("AWS::CodeBuild::Project").values()
        if p["Properties"]["Source"]["BuildSpec"] == "model-build/buildspec.yml"
    ]
    return {
        v["Name"]: v["Value"] for v in build["Properties"]["Environment"]["EnvironmentVariables"]
    }


def _pipeline_role_statements(synth: Synthesized) -> list[dict[str, Any]]:
    (role_id,) = [k for k in synth.resources("AWS::IAM::Role") if "SageMakerPipelineRole" in k]
    return [
        s
        for p in synth.resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]


def _check(synth: Synthesized) -> None:
    apps = synth.resources("AWS::SageMaker::MlflowApp")
    variables = _build_variables(synth)
    mlflow_actions = [
        s
        for s in _pipeline_role_statements(synth)
        if any(str(a).startswith("sagemaker-mlflow:") for a in _as_list(s["Action"]))
    ]
    # What every model package records (model_build.options.source_git); the commit is the build's.
    assert {"SOURCE_GIT_REPOSITORY", "SOURCE_GIT_BRANCH"} <= set(variables)
    if not synth.settings.mlflow_app:
        assert apps == {}
        assert not [name for name in variables if name.startswith("MLFLOW_")]
        assert mlflow_actions == []
        return
    ((app_id, app),) = apps.items()
    props = app["Properties"]
    assert props["ModelRegistrationMode"] == "AutoModelRegistrationDisabled"
    store = synth.resolver.resolve(props["ArtifactStoreUri"])
    assert store.startswith("s3://") and store.endswith(f"/{ARTIFACT_PREFIX}")
    (role,) = [
        r
        for k, r in synth.resources("AWS::IAM::Role").items()
        if props["RoleArn"] == {"Fn::GetAtt": [k, "Arn"]}
    ]
    principal = role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
    assert principal == {"Service": "sagemaker.amazonaws.com"}
    assert variables["MLFLOW_TRACKING_URI"] == {"Fn::GetAtt": [app_id, "Arn"]}
    assert synth.resolver.resolve(variables["MLFLOW_EXPERIMENT_NAME"]).endswith("-model-build")
    # Least privilege: the client's actions on this app only.
    assert mlflow_actions == [
        {
            "Action": list(CLIENT_ACTIONS),
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [app_id, "Arn"]},
        }
    ]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_the_app_as_generated(codepipeline_synthesized: Synthesized) -> None:
    assert codepipeline_synthesized.settings.mlflow_app is (
        codepipeline_synthesized.settings.size in MLFLOW_SIZES
    )
    _check(codepipeline_synthesized)


def test_the_app_with_the_setting_flipped(flipped: Synthesized, synthesized: Synthesized) -> None:
    assert flipped.settings.mlflow_app is not synthesized.settings.mlflow_app
    _check(flipped)


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ("[tracking]\nmlflow_app = 1\n", r"\[tracking\]: mlflow_app=1: allowed: true \| false$"),
        (
            "[tracking]\nmlflow = true\n",
            r"\[tracking\]: unknown key 'mlflow'; allowed: mlflow_app$",
        ),
    ],
)
def test_a_bad_setting_is_one_line(tmp_path: Path, block: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load(_with_table(tmp_path, "tracking", block))


def test_without_the_table_the_size_decides(tmp_path: Path) -> None:
    """Projects generated before [tracking] existed keep loading, with the size's default."""
    settings = load(_with_table(tmp_path, "tracking", ""))
    assert settings.mlflow_app is (settings.size in MLFLOW_SIZES)
