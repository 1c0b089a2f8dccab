"""The whole pipeline definition run locally on the bundled data, with the image's real step code."""

from __future__ import annotations

import json
import random
import re
import socket
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.validate import ParamValidator

from model_build.errors import run_cli
from model_build.local import commands, registry
from project_model import BIAS, SCHEMA


@pytest.fixture(autouse=True)
def _outside_the_template(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # The template's own project.toml is unrendered Jinja; a baked project's is real TOML.
    monkeypatch.chdir(tmp_path)


pytestmark = pytest.mark.e2e


def run_local(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The console script, as `make local` calls it: builds the definition with the SDK, then runs it."""
    return subprocess.run(
        [
            str(Path(sys.executable).parent / "run-local"),
            "--work-dir",
            str(tmp_path / "work"),
            *args,
        ],
        check=False,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=240,
    )


def git_repository(folder: Path) -> str:
    """Make ``folder`` a git clone with one commit; the commit's hash."""
    for args in (
        ("init", "-q", "-b", "main"),
        ("remote", "add", "origin", "https://git.example.com/project.git"),
        (
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "x",
        ),
    ):
        subprocess.run(["git", "-C", str(folder), *args], check=True, capture_output=True)
    head = subprocess.run(
        ["git", "-C", str(folder), "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    )
    return head.stdout.strip()


def test_local_run_with_defaults_registers_a_pending_model_and_approve_flips_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    commit = git_repository(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)  # run-local's default store
    run = run_local(tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    for step in ("Preprocess", "Train", "Evaluate", "Baselines", "Bias", "QualityGate", "Register"):
        assert f"] {step} " in run.stdout
    assert "Evaluate: auc 0." in run.stdout and "report: " in run.stdout
    records = list((tmp_path / "work" / "registry").glob("*/1.json"))
    assert len(records) == 1
    record = json.loads(records[0].read_text())
    assert record["ModelApprovalStatus"] == "PendingManualApproval"
    shape = (
        botocore.session.get_session()
        .get_service_model("sagemaker")
        .operation_model("DescribeModelPackage")
        .output_shape
    )
    report = ParamValidator().validate(record, shape)
    assert not report.has_errors(), report.generate_report()
    metrics = record["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"]
    assert (tmp_path / "work" / "s3" / metrics[len("s3://") :]).is_file()
    # The Bias step's reports (Clarify's shape): the model folder's facet, or none configured.
    post_uri = record["ModelMetrics"]["Bias"]["PostTrainingReport"]["S3Uri"]
    post = tmp_path / "work" / "s3" / post_uri[len("s3://") :]
    facets = json.loads(post.read_text())["post_training_bias_metrics"]["facets"]
    assert set(facets) == ({BIAS.facet.feature} if BIAS else set())
    assert (post.parent / "report.html").is_file()
    model_url = record["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]
    assert model_url.endswith("/output/model.tar.gz")
    assert (tmp_path / "work" / "s3" / model_url[len("s3://") :]).is_file()
    check_tracking(tmp_path / "work", record, commit, monkeypatch)
    # `make approve`: the newest pending package becomes Approved.
    approve = subprocess.run(
        [str(Path(sys.executable).parent / "approve"), "--work-dir", str(tmp_path / "work")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert approve.returncode == 0, approve.stderr
    assert json.loads(records[0].read_text())["ModelApprovalStatus"] == "Approved"
    # `make local-monitor-quality`: the shipped labelled sample against the approved model's
    # model-quality constraints: true labels pass, the drop sample fails with status 2.
    for labels, status in (("normal", 0), ("drop", 2)):
        quality = monitor_quality(tmp_path, labels)
        assert quality.returncode == status, quality.stdout + quality.stderr
    violations = json.loads(
        (
            tmp_path
            / "work"
            / "model-quality"
            / "quality-drop"
            / "report"
            / "constraint_violations.json"
        ).read_text()
    )["violations"]
    assert {v["metric_name"] for v in violations} >= {"auc", "accuracy"}


def check_tracking(
    work: Path, record: dict[str, Any], commit: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run's MLflow records, read with MLflow's own client: the execution's run linked with the
    package both ways, one child run per tracked step with its params, metrics and artifacts."""
    from mlflow import MlflowClient  # noqa: PLC0415 (the dev venv's; ~1.5 s to import)

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    client = MlflowClient((work / "mlruns").as_uri())
    (experiment,) = [e for e in client.search_experiments() if e.name != "Default"]
    runs = client.search_runs([experiment.experiment_id])
    (parent,) = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = {
        r.info.run_name: r
        for r in runs
        if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id
    }
    assert set(children) == {"Preprocess", "Train", "Evaluate"}
    metadata = record["CustomerMetadataProperties"]
    assert metadata["mlflow_run_id"] == parent.info.run_id
    assert metadata["source_git_commit"] == commit and metadata["source_git_branch"] == "main"
    assert metadata["source_git_repository"] == "https://git.example.com/project.git"
    assert parent.data.tags["sagemaker.model_package_arn"] == record["ModelPackageArn"]
    assert parent.info.status == "FINISHED"
    for run in (parent, *children.values()):
        assert run.data.tags["mlflow.source.git.commit"] == commit
        assert run.data.tags["mlflow.source.git.branch"] == "main"
        assert run.data.tags["mlflow.source.git.repoURL"] == "https://git.example.com/project.git"
    evaluation_uri = record["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"]
    evaluation = json.loads((work / "s3" / evaluation_uri[len("s3://") :]).read_text())
    evaluate = children["Evaluate"]
    auc = evaluation["binary_classification_metrics"]["auc"]["value"]
    assert evaluate.data.metrics["test_auc"] == pytest.approx(auc)
    assert evaluate.data.params["champion_comparison"] == "enforce"
    assert children["Train"].data.params["max_depth"] == "3"
    assert children["Preprocess"].data.params["seed"] == "42"
    assert {f.path for f in client.list_artifacts(evaluate.info.run_id, "evaluation")} >= {
        "evaluation/evaluation.json",
        "evaluation/report.html",
    }
    assert client.list_artifacts(children["Train"].info.run_id, "model")


def monitor_quality(tmp_path: Path, labels: str) -> subprocess.CompletedProcess[str]:
    sample = commands.BUNDLED_DATA.parent / "quality"
    return subprocess.run(
        [
            sys.executable,  # the console script monitor-quality-local, without needing it installed
            "-c",
            "from model_build.local.quality import main; raise SystemExit(main())",
            "--work-dir",
            str(tmp_path / "work"),
            "--capture-dir",
            str(sample / "capture"),
            "--ground-truth-dir",
            str(sample / "ground-truth" / labels),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def shuffled_labels(tmp_path: Path) -> Path:
    """The bundled data with its labels shuffled (the label column as the model's schema says)."""
    rows = [
        line.split(",")
        for file in sorted(commands.BUNDLED_DATA.iterdir())
        for line in file.read_text().splitlines()
        if line.strip() and line.split(",") != SCHEMA.names
    ]
    at = SCHEMA.names.index(SCHEMA.label)
    labels = [row[at] for row in rows]
    random.Random(0).shuffle(labels)
    for row, label in zip(rows, labels, strict=True):
        row[at] = label
    path = tmp_path / "shuffled.data"
    path.write_text("".join(",".join(row) + "\n" for row in rows))
    return path


def test_shuffled_labels_fail_the_gate_and_register_nothing(
    tmp_path: Path,
    definition_file: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # An unreachable tracking server: the Track step warns once and goes on (MLflow's documented
    # retry settings keep the failed calls short); the gate after it fails the run.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{closed}")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    code = run_cli(
        commands.run_local_main,
        [
            "--definition",
            str(definition_file),
            "--work-dir",
            str(tmp_path / "w"),
            "--data",
            str(shuffled_labels(tmp_path)),
        ],
    )
    captured = capsys.readouterr()
    assert code == 1, captured.err
    failed = captured.err.split("failed: ", 1)[-1]
    assert failed.startswith(
        "AucBelowThreshold: Quality gate: binary_classification_metrics.auc.value 0."
    )
    assert captured.err.rstrip().endswith("is below the AucThreshold 0.83")
    assert not (tmp_path / "w" / "registry").exists()
    logs = {
        step: (tmp_path / "w" / "jobs" / step / "log.txt").read_text()
        for step in ("Preprocess", "Train", "Evaluate", "Track")  # they ran before the gate
    }
    assert {step: log.count("WARNING: MLflow tracking off") for step, log in logs.items()} == {
        "Preprocess": 0,
        "Train": 0,
        "Evaluate": 0,
        "Track": 1,
    }


def test_a_weaker_candidate_than_the_champion_is_blocked_or_reported(
    tmp_path: Path,
    definition_file: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "")  # untracked: ~1.5 s less per tracked step
    work = tmp_path / "w"
    group = work / "registry" / "mammo-p-0123456789ab"

    def run(*parameters: str) -> tuple[int, str, str]:
        argv = ["--definition", str(definition_file), "--work-dir", str(work)]
        for parameter in parameters:
            argv += ["-p", parameter]
        code = run_cli(commands.run_local_main, argv)
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    # The first model has no champion: the threshold alone decides.
    code, out, err = run()
    assert code == 0, err
    assert "champion (enforce, gate pass): no approved model to compare with" in out
    registry.approve(work)
    # Retraining on the same data gives the champion itself: it passes (the cloud twin does this).
    code, out, err = run()
    assert code == 0, err
    assert "within tolerance" in out and (group / "2.json").is_file()
    # A deliberately weaker model (3 stumps, AUC ~0.82 vs ~0.85) clears a lowered threshold, but not
    # the champion with a tolerance of 0.01 (the default, 0.05, allows for a re-drawn split).
    weaker = ["NumRound=3", "MaxDepth=1", "AucThreshold=0.5", "ChampionAbsoluteTolerance=0.01"]
    code, out, err = run(*weaker)
    assert code == 1
    assert re.match(
        r"failed: WorseThanChampion: Champion gate: candidate AUC 0\.\d+ is worse than the "
        r"champion's 0\.\d+ by more than the tolerance: 0\.\d{4} below it, at most 0\.0100 "
        r"allowed \(absolute 0\.01, relative 0\.1\); champion arn:aws:sagemaker:.*/mammo-p-0123456789ab/1$",
        err.strip(),
    ), err
    assert not (group / "3.json").exists()
    # report: registered, and the package says how it compared.
    code, out, err = run(*weaker, "ChampionComparison=report")
    assert code == 0, err
    assert "registered anyway (ChampionComparison=report)" in out
    record = json.loads((group / "3.json").read_text())
    assert record["CustomerMetadataProperties"]["champion_comparison"] == "report"
    for report in ("evaluation_report", "bias_report"):  # the package links its HTML reports
        uri = record["CustomerMetadataProperties"][report]
        assert uri.endswith("/report.html") and (work / "s3" / uri[len("s3://") :]).is_file()
    examples = record["CustomerMetadataProperties"]["endpoint_examples"]
    assert examples.endswith("/evaluate/evaluation/examples.csv")
    packaged = resources.files("project_model").joinpath("examples.csv").read_text().splitlines()
    linked = (work / "s3" / examples[len("s3://") :]).read_text().splitlines()
    # the model folder's requests, each with the registered model's score (the endpoint must match)
    assert [line.rsplit(",", 1)[0] for line in linked] == [line for line in packaged if line]
    assert linked[0].endswith(",expected_score")
    assert all(0.0 <= float(line.rsplit(",", 1)[1]) <= 1.0 for line in linked[1:])
    metrics = record["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"]
    champion = json.loads((work / "s3" / metrics[len("s3://") :]).read_text())["champion"]
    assert champion["gate"] == "pass" and champion["within_tolerance"] is False
    assert champion["candidate_auc"] < champion["auc"] - 0.01
    assert champion["model_package_arn"].endswith("/mammo-p-0123456789ab/1")
    # off: not compared at all.
    code, out, err = run(*weaker, "ChampionComparison=off")
    assert code == 0, err
    assert "not compared (ChampionComparison=off)" in out


def test_garbled_data_gives_one_clear_line(
    tmp_path: Path, definition_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    garbled = tmp_path / "garbled.data"
    garbled.write_text("5,67,3\nnot,a,row,at,all,!\n")
    code = run_cli(
        commands.run_local_main,
        [
            "--definition",
            str(definition_file),
            "--work-dir",
            str(tmp_path / "w"),
            "--data",
            str(garbled),
        ],
    )
    err = capsys.readouterr().err
    assert code == 1, err
    assert (
        err.startswith("failed: Preprocess: ") and err.count("\n") == 1 and "Traceback" not in err
    )
    assert not (tmp_path / "w" / "registry").exists()
