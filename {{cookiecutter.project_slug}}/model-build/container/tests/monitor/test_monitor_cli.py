"""The monitor entry point: normal vs outliers batches, outputs, exit codes, CloudWatch metrics."""

from __future__ import annotations

import filecmp
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import boto3
import numpy as np
import pytest
from moto import mock_aws

from model_container.data_quality import constraints
from model_container.monitor.cli import baseline_codes, main
from project_model import SCHEMA

SHIPPED = Path(__file__).resolve().parents[3] / "data" / "outliers" / "capture"
FEATURES = SCHEMA.feature_names


def run(capture: Path, baseline: Path, output: Path, *extra: str) -> int:
    return main(
        [
            "--capture-dir",
            str(capture),
            "--baseline-dir",
            str(baseline),
            "--output-dir",
            str(output),
            *extra,
        ]
    )


def violations(output: Path) -> set[tuple[str, str]]:
    document = json.loads((output / "constraint_violations.json").read_text())
    return {(v["feature_name"], v["constraint_check_type"]) for v in document["violations"]}


def test_normal_batch_passes(
    normal_dir: Path,
    baseline_dir: Path,
    tmp_path: Path,
    opt_ml: Path,
    split: tuple[np.ndarray, np.ndarray],
) -> None:
    assert run(normal_dir, baseline_dir, tmp_path) == 0
    assert violations(tmp_path) == set()
    statistics = json.loads((tmp_path / "statistics.json").read_text())
    assert [f["name"] for f in statistics["features"]] == FEATURES
    assert statistics["dataset"]["item_count"] == len(split[1])
    assert statistics["monitor"]["unreadable_records"] == 0
    assert "0 violations" in (tmp_path / "report.html").read_text()
    assert not (opt_ml / "output" / "message").exists()


def test_outliers_violate_exactly_the_shifted_features(
    baseline_dir: Path,
    tmp_path: Path,
    opt_ml: Path,
    make_outliers: ModuleType,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run(SHIPPED, baseline_dir, tmp_path) == 2
    shifted = set(make_outliers.SHIFTED)
    assert violations(tmp_path) == {(name, "baseline_drift_check") for name in shifted}
    message = (opt_ml / "output" / "message").read_text()
    assert f"{len(shifted)} constraint violation" in message
    out = capsys.readouterr().out
    assert all(f"violation: {name} baseline_drift_check" in out for name in shifted)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    drift = {
        item["Dimensions"][1]["Value"]: item["Value"]
        for item in metrics["MetricData"]
        if item["MetricName"] == "FeatureBaselineDrift"
    }
    assert set(drift) == set(FEATURES)
    # Past Model Monitor's threshold where shifted; the others are the data's own distribution.
    assert all((drift[name] > 0.1) == (name in shifted) for name in FEATURES), drift
    assert metrics["MetricData"][0]["Dimensions"] == [{"Name": "Endpoint", "Value": "outliers"}]


def test_window_of_the_shipped_batch(baseline_dir: Path, tmp_path: Path, opt_ml: Path) -> None:
    code = run(
        SHIPPED,
        baseline_dir,
        tmp_path,
        "--start",
        "2026-01-01T02:00:00Z",
        "--end",
        "2026-01-01T03:00Z",
    )
    assert code == 2
    statistics = json.loads((tmp_path / "statistics.json").read_text())
    assert statistics["monitor"]["records"] == 60  # one request a minute
    assert statistics["monitor"]["files"] == 1


def test_shipped_batch_is_what_the_generator_makes(
    make_outliers: ModuleType, tmp_path: Path
) -> None:
    make_outliers.main([str(tmp_path)])
    comparison = filecmp.dircmp(SHIPPED, tmp_path)
    shipped = sorted(p.relative_to(SHIPPED) for p in SHIPPED.rglob("*.jsonl"))
    made = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.jsonl"))
    assert shipped == made and len(made) > 1
    assert all(filecmp.cmp(SHIPPED / p, tmp_path / p, shallow=False) for p in made), comparison
    # The template renders non-Python files with Jinja at bake time: nothing in them may look like it.
    for path in [*SHIPPED.rglob("*.jsonl"), SHIPPED.parent / "README.md"]:
        text = path.read_text(encoding="utf-8")
        # A brace followed by a brace, percent or hash opens a Jinja tag.
        assert not any("{" + mark in text for mark in ("{", "%", "#")), path


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--start", "yesterday"], "time 'yesterday' is not ISO 8601"),
        (["--start", "2026-01-02T00:00Z", "--end", "2026-01-01T00:00Z"], "is not before its end"),
        (["--start", "2030-01-01T00:00Z"], "no captured rows in"),
        (
            ["--completeness-tolerance", "2"],
            "completeness tolerance '2' must be a number from 0 to 1",
        ),
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["--namespace", "AWS/SageMaker"], "CloudWatch namespace 'AWS/SageMaker' is not valid"),
    ],
)
def test_bad_input_is_one_line_and_status_1(
    extra: list[str],
    message: str,
    *,
    baseline_dir: Path,
    tmp_path: Path,
    opt_ml: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run(SHIPPED, baseline_dir, tmp_path, *extra) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "Traceback" not in err
    assert message in (opt_ml / "output" / "message").read_text()


def test_missing_or_broken_baseline(
    tmp_path: Path, opt_ml: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(SHIPPED, tmp_path / "none", tmp_path / "out") == 1
    assert "statistics.json does not exist; run the baselines step first" in capsys.readouterr().err
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "statistics.json").write_text("{")
    assert run(SHIPPED, broken, tmp_path / "out") == 1
    assert "is not readable JSON" in capsys.readouterr().err
    assert run(tmp_path / "no-capture", broken, tmp_path / "out") == 1
    assert "capture folder" in capsys.readouterr().err


def test_broken_valid_ranges_are_named(
    baseline_dir: Path, tmp_path: Path, opt_ml: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "baseline"
    shutil.copytree(baseline_dir, folder)
    ranges = {"name": FEATURES[0], "range_constraints": {"min": 5, "max": 1}}
    (folder / "extension_constraints.json").write_text(json.dumps({"features": [ranges]}))
    assert run(SHIPPED, folder, tmp_path / "out") == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "extension_constraints.json is not valid" in err
    assert "range_constraints.min 5 is above max 1" in err


def test_publish_metrics_to_cloudwatch(
    baseline_dir: Path, tmp_path: Path, opt_ml: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():  # botocore validates the PutMetricData request against the service model
        code = run(
            SHIPPED,
            baseline_dir,
            tmp_path,
            "--publish-metrics",
            "--region",
            "eu-west-1",
            "--namespace",
            "demo/DataDrift",
            "--endpoint",
            "demo-endpoint",
        )
        assert code == 2
        listed = boto3.client("cloudwatch", region_name="eu-west-1").list_metrics(
            Namespace="demo/DataDrift"
        )
    names = {
        (m["MetricName"], tuple(d["Value"] for d in m["Dimensions"])) for m in listed["Metrics"]
    }
    assert {("FeatureBaselineDrift", ("demo-endpoint", name)) for name in FEATURES} <= names
    assert ("ConstraintViolations", ("demo-endpoint",)) in names
    assert len(names) == 1 + 2 * len(FEATURES)  # per feature: completeness and drift


def test_publish_without_region_is_an_error(
    baseline_dir: Path,
    tmp_path: Path,
    opt_ml: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    assert run(SHIPPED, baseline_dir, tmp_path, "--publish-metrics") == 1
    assert "--publish-metrics needs a region" in capsys.readouterr().err


# ``python -m model_container.monitor``, then which of the model folder's modules it imported.
ENTRY_POINT = """import runpy, sys
try:
    runpy.run_module("model_container.monitor", run_name="__main__")
finally:
    print("imported", sorted(m for m in ("project_model", "xgboost") if m in sys.modules))
"""


def test_module_entry_point(baseline_dir: Path, tmp_path: Path) -> None:
    """The entry point; with the valid ranges in the baselines (extension_constraints.json) and no
    --feature-attribution, it never imports the model folder (XGBoost: a second, 150 MB)."""
    env = {**os.environ, "OPT_ML": str(tmp_path / "opt_ml"), "MODEL_CONTAINER_NO_SKLEARN": "1"}
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            ENTRY_POINT,
            "--capture-dir",
            str(SHIPPED),
            "--baseline-dir",
            str(baseline_dir),
            "--output-dir",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert (tmp_path / "out" / "report.html").is_file()
    assert result.stdout.splitlines()[-1] == "imported []", result.stdout


def summary_of(output: Path) -> dict[str, object]:
    return json.loads((output / "summary.json").read_text())


def test_summary_of_a_clean_and_a_drifted_batch(
    *,
    normal_dir: Path,
    baseline_dir: Path,
    tmp_path: Path,
    opt_ml: Path,
    split: tuple[np.ndarray, np.ndarray],
    shifted: list[str],
) -> None:
    assert run(normal_dir, baseline_dir, tmp_path / "normal") == 0
    assert summary_of(tmp_path / "normal") == {
        "violations": 0,
        "constraint_violations": 0,
        "extension_violations": 0,
        "rows": len(split[1]),
        "features_with_violations": [],
    }
    assert run(SHIPPED, baseline_dir, tmp_path / "outliers") == 2
    summary = summary_of(tmp_path / "outliers")
    assert summary["violations"] == len(shifted)
    assert summary["features_with_violations"] == shifted
    statistics = json.loads((tmp_path / "outliers" / "statistics.json").read_text())
    assert summary["rows"] == statistics["dataset"]["item_count"] > 0


@pytest.mark.parametrize(("status", "expected"), [("0", 0), ("3", 3), ("2", 2)])
def test_violation_status(
    status: str,
    expected: int,
    *,
    baseline_dir: Path,
    tmp_path: Path,
    opt_ml: Path,
    capsys: pytest.CaptureFixture[str],
    shifted: list[str],
) -> None:
    assert run(SHIPPED, baseline_dir, tmp_path, "--violation-status", status) == expected
    # The violations are reported either way; only a failing exit writes the failure reason.
    assert f"violation: {shifted[0]} baseline_drift_check" in capsys.readouterr().out
    assert summary_of(tmp_path)["violations"] == len(shifted)
    assert (opt_ml / "output" / "message").exists() == (expected != 0)


def test_violation_status_does_not_hide_errors(
    baseline_dir: Path, tmp_path: Path, opt_ml: Path
) -> None:
    assert run(tmp_path / "none", baseline_dir, tmp_path, "--violation-status", "0") == 1


def test_hours_window_in_a_folder(baseline_dir: Path, tmp_path: Path, opt_ml: Path) -> None:
    assert run(SHIPPED, baseline_dir, tmp_path, "--end", "2026-01-01T03:00Z", "--hours", "2") == 2
    statistics = json.loads((tmp_path / "statistics.json").read_text())
    assert statistics["monitor"]["window"] == {
        "start": "2026-01-01T01:00:00+00:00",
        "end": "2026-01-01T03:00:00+00:00",
    }
    assert (statistics["monitor"]["files"], statistics["monitor"]["records"]) == (2, 120)


def write_csv(folder: Path, name: str, text: str) -> None:
    """A batch transform's input file: CSV rows without header or label, categories as text."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)


def test_csv_batch_input(
    *,
    make_outliers: ModuleType,
    shifted: list[str],
    split: tuple[np.ndarray, np.ndarray],
    as_csv: Callable[[np.ndarray], str],
    baseline_dir: Path,
    tmp_path: Path,
    opt_ml: Path,
) -> None:
    normal = split[1]
    clean = tmp_path / "clean"
    write_csv(clean, "part-1.csv", as_csv(normal[:100]))
    write_csv(clean / "more", "part-2.txt", as_csv(normal[100:]))
    shifted_text = as_csv(make_outliers.shift(normal))
    write_csv(clean, ".hidden.csv", shifted_text)  # skipped, as are other suffixes
    write_csv(clean, "notes.json", shifted_text)
    assert run(clean, baseline_dir, tmp_path / "out-clean", "--input-format", "csv") == 0
    assert summary_of(tmp_path / "out-clean") == {
        "violations": 0,
        "constraint_violations": 0,
        "extension_violations": 0,
        "rows": len(normal),
        "features_with_violations": [],
    }
    statistics = json.loads((tmp_path / "out-clean" / "statistics.json").read_text())
    assert statistics["monitor"]["files"] == 2
    assert statistics["monitor"]["input_format"] == "csv"

    write_csv(tmp_path / "shifted", "input.csv", shifted_text)
    code = run(
        tmp_path / "shifted",
        baseline_dir,
        tmp_path / "out-shifted",
        "--input-format",
        "csv",
        "--violation-status",
        "0",
    )
    assert code == 0
    assert summary_of(tmp_path / "out-shifted")["features_with_violations"] == shifted


def test_a_container_path_argument_is_read_under_opt_ml(
    *,
    split: tuple[np.ndarray, np.ndarray],
    as_csv: Callable[[np.ndarray], str],
    baseline_dir: Path,
    tmp_path: Path,
    opt_ml: Path,
) -> None:
    """Pipeline definitions pass /opt/ml paths (the batch pipeline: --capture-dir
    /opt/ml/processing/input/batch); a run with OPT_ML elsewhere reads them there."""
    write_csv(opt_ml / "processing" / "input" / "batch", "part.csv", as_csv(split[1]))
    output = tmp_path / "out"
    code = run(
        Path("/opt/ml/processing/input/batch"), baseline_dir, output, "--input-format", "csv"
    )
    assert code == 0
    assert summary_of(output)["rows"] == len(split[1])


def test_csv_with_a_header_or_wrong_widths_is_flagged(
    *,
    split: tuple[np.ndarray, np.ndarray],
    as_csv: Callable[[np.ndarray], str],
    baseline_dir: Path,
    tmp_path: Path,
    opt_ml: Path,
) -> None:
    normal = split[1]
    first, second, third = as_csv(normal[~np.isnan(normal).any(axis=1)][:3]).splitlines()
    short = ",".join(second.split(",")[:-1])  # a field too few
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "x.csv").write_text(f"{','.join(FEATURES)}\n{first}\n{short}\n\n{third}\n")
    assert run(tmp_path / "in", baseline_dir, tmp_path / "out", "--input-format", "csv") == 2
    statistics = json.loads((tmp_path / "out" / "statistics.json").read_text())
    assert statistics["monitor"]["wrong_width_rows"] == 1
    # The header's names are no values of their columns: one per feature, not a number or category
    # (a numeric feature fails its type, a categorical one its domain).
    assert statistics["monitor"]["non_numeric_values"] == dict.fromkeys(FEATURES, 1)
    categorical = SCHEMA.categories()
    expected = {
        (name, "categorical_values_check" if name in categorical else "data_type_check")
        for name in FEATURES
    }
    assert expected <= violations(tmp_path / "out")


def test_empty_csv_input_is_an_error(
    baseline_dir: Path, tmp_path: Path, opt_ml: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "in").mkdir()
    assert run(tmp_path / "in", baseline_dir, tmp_path / "out", "--input-format", "csv") == 1
    assert f"no rows in {tmp_path / 'in'} (0 files" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--hours", "0"], "hours '0' must be a positive whole number"),
        (["--hours", "1.5"], "hours '1.5' must be a positive whole number"),
        (
            ["--hours", "2", "--start", "2026-01-01T00:00Z"],
            "--hours and --start both set the window's start",
        ),
        (
            ["--violation-status", "256"],
            "violation status '256' must be a whole number from 0 to 255",
        ),
        (["--violation-status", "-1"], "violation status '-1' must be a whole number"),
        (["--read-processes", "0"], "read processes '0' must be a whole number from 1 to 64"),
        (["--read-processes", "65"], "read processes '65' must be a whole number from 1 to 64"),
        (["--read-processes", "two"], "read processes 'two' must be a whole number from 1 to 64"),
        (["--input-format", "csv", "--hours", "1"], "--input-format csv reads whole files"),
        (["--input-format", "parquet"], "argument --input-format: invalid choice: 'parquet'"),
        (
            ["--model-package-group", "g", "--baseline-dir", "x"],
            "argument --baseline-dir: not allowed with argument --model-package-group",
        ),
    ],
)
def test_bad_window_and_mode_flags(
    extra: list[str],
    message: str,
    *,
    baseline_dir: Path,
    tmp_path: Path,
    opt_ml: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(
        ["--capture-dir", str(SHIPPED), "--output-dir", str(tmp_path), *extra]
        + ([] if "--baseline-dir" in extra else ["--baseline-dir", str(baseline_dir)])
    )
    assert code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "Traceback" not in err, err


def test_baseline_codes_come_from_the_string_domains() -> None:
    doc = constraints(["Age", "Shape"], np.array([[40.0, 0.0], [50.0, 1.0]]), {"Shape": ("a", "b")})
    assert baseline_codes(doc) == {"Shape": {"a": 0.0, "b": 1.0}}
    assert baseline_codes(constraints(["Age"], np.array([[40.0]]))) == {}
    broken = {"features": [{"name": "x", "string_constraints": {"domains": [1, 2]}}, "junk"]}
    assert baseline_codes(broken) == {}
