"""model_container.tracking and the Track step: the steps record, Track publishes, nothing fails a step."""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from model_container import track, tracking

EXECUTION = "arn:aws:sagemaker:eu-west-1:111122223333:pipeline/p/execution/abc123"


@pytest.fixture(autouse=True)
def _fresh_state(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tracking, "_failed", False)
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME", *tracking.GIT_TAGS):
        monkeypatch.delenv(name, raising=False)


def record_steps(opt_ml: Path) -> None:
    """Each step's record where its job writes it: Preprocess's and Evaluate's tracking outputs,
    Train's inside output.tar.gz (as SageMaker uploads /opt/ml/output/data)."""
    records = opt_ml / "processing" / "records"
    with tracking.step_run("Preprocess", records / "preprocess") as run:
        run.log(params={"seed": 42}, metrics={"raw_rows": 961})
    train = opt_ml / "train-output"
    with tracking.step_run("Train", train / "tracking") as run:
        run.log(params={"max_depth": 3}, metrics={"validation_auc": 0.9})
    archive = records / "train" / "output.tar.gz"
    archive.parent.mkdir(parents=True)
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(train / "tracking", arcname="tracking")
    evaluation = opt_ml / "evaluation"
    evaluation.mkdir()
    (evaluation / "evaluation.json").write_text("{}")
    with tracking.step_run("Evaluate", records / "evaluate") as run:
        run.log(metrics={"test_auc": 0.88}, artifacts={"evaluation": evaluation})
    model = opt_ml / "processing" / "model"
    model.mkdir(parents=True)
    (model / "model.tar.gz").write_bytes(b"model")


def test_a_step_records_what_it_would_log_and_imports_no_mlflow(tmp_path: Path) -> None:
    # In a fresh interpreter: this one may have imported mlflow already.
    code = (
        "import sys, pathlib\n"
        "from model_container import tracking\n"
        f"folder = pathlib.Path({str(tmp_path)!r})\n"
        "with tracking.step_run('Train', folder) as run:\n"
        "    run.log(params={'a': 1}, metrics={'m': 1.5})\n"
        "assert 'mlflow' not in sys.modules, 'mlflow imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    record = json.loads((tmp_path / "Train" / tracking.RECORD).read_text())
    assert record["params"] == {"a": "1"} and record["metrics"] == {"m": 1.5}
    assert record["status"] == "FINISHED" and record["end_time"] >= record["start_time"]


def test_a_failing_block_is_recorded_failed(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), tracking.step_run("Train", tmp_path) as run:
        run.log(params={"a": 1})
        raise RuntimeError("boom")
    assert json.loads((tmp_path / "Train" / tracking.RECORD).read_text())["status"] == "FAILED"


def test_track_publishes_the_records_as_one_run_with_a_child_per_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow import MlflowClient  # noqa: PLC0415 (~1.5 s)

    monkeypatch.setenv("OPT_ML", str(tmp_path))
    record_steps(tmp_path)
    store = (tmp_path / "mlruns").as_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "mammo")
    monkeypatch.setenv("PIPELINE_EXECUTION_ARN", EXECUTION)
    monkeypatch.setenv("SOURCE_GIT_COMMIT", "0123abc")
    assert track.main(["publish"]) == 0
    run_id = json.loads((tmp_path / "processing" / "tracking" / "tracking.json").read_text())[
        "run_id"
    ]
    package = "arn:aws:sagemaker:eu-west-1:111122223333:model-package/g/1"
    assert track.main(["link", "--run-id", run_id, "--model-package-arn", package]) == 0

    client = MlflowClient(store)
    experiment = client.get_experiment_by_name("mammo")
    runs = {r.info.run_name: r for r in client.search_runs([experiment.experiment_id])}
    parent = client.get_run(run_id)
    assert parent.info.run_name == "abc123" and parent.info.status == "FINISHED"
    assert parent.data.tags[tracking.EXECUTION_TAG] == EXECUTION
    assert parent.data.tags[tracking.PACKAGE_TAG] == package
    children = {name: r for name, r in runs.items() if name != "abc123"}
    assert list(children) != [] and set(children) == {"Preprocess", "Train", "Evaluate"}
    for child in children.values():
        assert child.data.tags["mlflow.parentRunId"] == run_id
        assert child.data.tags["mlflow.source.git.commit"] == "0123abc"
        assert child.info.status == "FINISHED"
    assert children["Preprocess"].data.params == {"seed": "42"}
    assert children["Train"].data.metrics == {"validation_auc": 0.9}
    assert children["Evaluate"].data.metrics == {"test_auc": 0.88}
    artifacts = client.list_artifacts(children["Evaluate"].info.run_id, "evaluation")
    assert [a.path for a in artifacts] == ["evaluation/evaluation.json"]
    model = client.list_artifacts(children["Train"].info.run_id, "model")
    assert [a.path for a in model] == ["model/model.tar.gz"]


def test_untracked_track_writes_none_and_links_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPT_ML", str(tmp_path))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "")
    record_steps(tmp_path)
    assert track.main(["publish"]) == 0
    result = json.loads((tmp_path / "processing" / "tracking" / "tracking.json").read_text())
    assert result == {"run_id": track.UNTRACKED}
    assert track.main(["link", "--run-id", "none", "--model-package-arn", "arn"]) == 0


def test_an_unreachable_server_warns_once_and_the_step_succeeds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "mlruns"
    store.write_text("not a folder")  # the store's path taken by a file
    monkeypatch.setenv("OPT_ML", str(tmp_path))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store.as_uri())
    record_steps(tmp_path)
    assert track.main(["publish"]) == 0
    assert track.main(["link", "--run-id", "r", "--model-package-arn", "arn"]) == 0
    assert capsys.readouterr().err.count("WARNING: MLflow tracking off") == 1
    result = json.loads((tmp_path / "processing" / "tracking" / "tracking.json").read_text())
    assert result == {"run_id": track.UNTRACKED}
