"""The MLflow App's stand-in: an execution that would publish to the app publishes to a file store in
the twin's work folder, and the twin checks that the run the Track and LinkRun steps report is there."""

from __future__ import annotations

from pathlib import Path

import pytest

from model_container import tracking
from project_infra.twin.sagemaker import Execution, _tracking_stand_in, tracked_run

APP = "arn:aws:sagemaker:eu-west-1:111111111111:mlflow-app/app-0123456789ab"
ARN = "arn:aws:sagemaker:eu-west-1:111111111111:pipeline/p/execution/abc123"
PACKAGE = "arn:aws:sagemaker:eu-west-1:111111111111:model-package/g/1"


def _definition(default: str) -> dict:
    return {
        "Parameters": [{"Name": "MlflowTrackingUri", "Type": "String", "DefaultValue": default}]
    }


def test_only_an_app_uri_gets_the_stand_in(tmp_path: Path) -> None:
    stand_in = _tracking_stand_in(_definition(APP), {}, tmp_path)
    assert stand_in == {"MlflowTrackingUri": (tmp_path / "mlflow" / "app-0123456789ab").as_uri()}
    assert _tracking_stand_in(_definition(""), {}, tmp_path) == {}
    assert _tracking_stand_in({"Parameters": []}, {}, tmp_path) == {}


def _execution(store: Path, **steps: str) -> Execution:
    return Execution(
        "p",
        "arn:aws:sagemaker:eu-west-1:111111111111:pipeline/p/execution/in-the-emulator",
        {},
        status="Succeeded",
        steps=steps,
        registered=[PACKAGE],
        values={"MlflowTrackingUri": store.as_uri()},
        run_arn=ARN,
    )


def _publish(store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(tracking, "_failed", False)
    for step in ("Preprocess", "Train", "Evaluate"):
        with tracking.step_run(step, tmp_path / "records"):
            pass
    env = {"MLFLOW_TRACKING_URI": store.as_uri(), "PIPELINE_EXECUTION_ARN": ARN}
    run_id = tracking.publish(tracking.read_records([tmp_path / "records"]), env=env)
    assert run_id
    return run_id


def test_a_published_and_linked_run_passes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = tmp_path / "store"
    run_id = _publish(store, tmp_path, monkeypatch)
    assert tracking.link_package(run_id, PACKAGE, env={"MLFLOW_TRACKING_URI": store.as_uri()})
    detail = tracked_run(_execution(store, Track="Succeeded", LinkRun="Succeeded"))
    assert detail.startswith(f"MLflow run {run_id} (Evaluate, Preprocess, Train)")
    assert detail.endswith(f"tagged with {PACKAGE}")


def test_a_missing_run_or_tag_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = tmp_path / "store"
    store.mkdir()
    with pytest.raises(ValueError, match="Track succeeded but published no MLflow run"):
        tracked_run(_execution(store, Track="Succeeded"))
    _publish(store, tmp_path, monkeypatch)
    with pytest.raises(ValueError, match=r"LinkRun succeeded but MLflow run .* package none"):
        tracked_run(_execution(store, Track="Succeeded", LinkRun="Succeeded"))
    # Without tracking, or without a stand-in store, there is nothing to check.
    assert tracked_run(_execution(store)) == ""
