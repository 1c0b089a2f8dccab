"""``monitor --model-package-group``: the baselines are the newest Approved package's (moto), and
with ``--feature-attribution`` its model and explainability baseline too."""

from __future__ import annotations

import importlib.util
import json
import tarfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from registry_fixtures import BUCKET, GROUP, IMAGE, Registry, feature_table

import project_model
from model_container import artifact
from model_container.data_quality import constraints, statistics
from model_container.explain import global_shap
from model_container.monitor.capture import CaptureWriter
from model_container.monitor.cli import main


def capture(folder: Path) -> Path:
    """One CSV request a minute, rows of the unshifted feature distribution."""
    writer = CaptureWriter(folder, endpoint="demo-prod")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for minute, row in enumerate(feature_table(5)):
        body = ",".join(f"{value:g}" for value in row).encode()
        writer.write(body, "text/csv", when=start + timedelta(minutes=minute))
    return folder


def test_baselines_of_the_newest_approved_package(
    registry: Registry, tmp_path: Path, opt_ml: Path
) -> None:
    registry.register("Approved", feature_table(1))  # like the traffic: no drift
    newest = registry.register("Approved", feature_table(2, age_shift=30))
    registry.register("PendingManualApproval", feature_table(3))
    output = tmp_path / "out"
    code = main(
        [
            "--capture-dir",
            str(capture(tmp_path / "capture")),
            "--model-package-group",
            GROUP,
            "--output-dir",
            str(output),
        ]
    )
    assert code == 2
    assert json.loads((output / "summary.json").read_text())["features_with_violations"] == ["Age"]
    statistics = json.loads((output / "statistics.json").read_text())
    assert statistics["monitor"]["baseline"] == newest
    assert statistics["dataset"]["item_count"] == 400


@pytest.mark.parametrize("ranges", [{"Age": (1.0, 50.0)}, None])
def test_the_range_check_reads_the_packages_valid_ranges(
    registry: Registry,
    tmp_path: Path,
    opt_ml: Path,
    capsys: pytest.CaptureFixture[str],
    ranges: dict[str, tuple[float, float]] | None,
) -> None:
    """The valid ranges beside the package's constraints.json (here narrower than the schema's:
    the captured ages reach 79); a package registered before that file: the schema's, said once."""
    registry.register("Approved", feature_table(1), ranges=ranges)
    output = tmp_path / "out"
    arguments = ["--capture-dir", str(capture(tmp_path / "capture")), "--output-dir", str(output)]
    code = main([*arguments, "--model-package-group", GROUP])
    extension = json.loads((output / "extension_violations.json").read_text())["violations"]
    said = capsys.readouterr().out.count("have no extension_constraints.json")
    if ranges is None:
        assert (code, said) == (0, 1)
        assert extension == []  # the schema's Age range (1-120, or none in another model's)
    else:
        assert (code, said) == (2, 0)
        assert [(v["feature_name"], v["constraint_check_type"]) for v in extension] == [
            ("Age", "range_check")
        ]
        assert "valid values are 1 to 50" in extension[0]["description"]


def test_no_approved_package(
    registry: Registry, tmp_path: Path, opt_ml: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry.register("Rejected", feature_table(1))
    code = main(
        [
            "--capture-dir",
            str(capture(tmp_path / "capture")),
            "--model-package-group",
            GROUP,
            "--output-dir",
            str(tmp_path / "out"),
        ]
    )
    assert code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "has no Approved model package" in err


def _serve_fixtures() -> ModuleType:
    """The serving tests' model and rows from the model folder's schema (loaded by path)."""
    path = Path(__file__).resolve().parents[1] / "serve" / "serve_fixtures.py"
    spec = importlib.util.spec_from_file_location("serve_fixtures_for_registry", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _put(registry: Registry, key: str, body: bytes | str) -> dict[str, str]:
    registry.s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    return {"ContentType": "application/json", "S3Uri": f"s3://{BUCKET}/{key}"}


def _package_with_a_model(registry: Registry, tmp_path: Path, *, explainability: bool) -> str:
    """An Approved package as the model-build pipeline registers it: the model folder's model, its
    drift baselines and (``explainability``) the Baselines step's explainability.json."""
    serve = _serve_fixtures()
    model_dir = serve.write_model(tmp_path / "model", rounds=20)
    archive = tmp_path / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for path in sorted(model_dir.iterdir()):
            tar.add(path, arcname=path.name)
    registry.s3.put_object(Bucket=BUCKET, Key="attribution/model.tar.gz", Body=archive.read_bytes())
    names, categories = list(serve.FEATURES), dict(serve.CATEGORIES)
    rows = serve.make_rows(300, seed=1).astype(np.float64)
    baselines: dict[str, Any] = {
        "ModelDataQuality": {
            "Statistics": _put(
                registry,
                "attribution/statistics.json",
                json.dumps(statistics(names, rows, categories)),
            ),
            "Constraints": _put(
                registry,
                "attribution/constraints.json",
                json.dumps(constraints(names, rows, categories)),
            ),
        }
    }
    if explainability:
        model = artifact.load(model_dir)
        shap = global_shap(names, np.asarray(project_model.explain(model.estimator, rows, names)))
        baselines["Explainability"] = {
            "Constraints": _put(registry, "attribution/explainability.json", json.dumps(shap))
        }
    return registry.sagemaker.create_model_package(
        ModelPackageGroupName=GROUP,
        ModelApprovalStatus="Approved",
        InferenceSpecification={
            "Containers": [
                {"Image": IMAGE, "ModelDataUrl": f"s3://{BUCKET}/attribution/model.tar.gz"}
            ],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        DriftCheckBaselines=baselines,
    )["ModelPackageArn"]


def _schema_capture(folder: Path) -> Path:
    serve = _serve_fixtures()
    writer = CaptureWriter(folder, endpoint="demo-prod")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rows = serve.make_rows(200, seed=2)
    for minute in range(0, 200, 20):
        writer.write(
            serve.csv_body(rows[minute : minute + 20]),
            "text/csv",
            when=start + timedelta(minutes=minute),
        )
    return folder


def test_feature_attribution_with_the_packages_model_and_explainability(
    registry: Registry, tmp_path: Path, opt_ml: Path
) -> None:
    arn = _package_with_a_model(registry, tmp_path, explainability=True)
    output = tmp_path / "out"
    code = main(
        [
            "--capture-dir",
            str(_schema_capture(tmp_path / "capture")),
            "--model-package-group",
            GROUP,
            "--output-dir",
            str(output),
            "--feature-attribution",
        ]
    )
    summary = json.loads((output / "summary.json").read_text())
    assert code in (0, 2) and summary["rows"] == 200
    # Rows of the baseline's distribution, explained by the package's own model: the same ranking.
    assert summary["attribution_violations"] == 0
    assert summary["feature_attribution"]["ndcg"]["label0"] > 0.9
    assert json.loads((output / "statistics.json").read_text())["monitor"]["baseline"] == arn
    assert (output / "attribution_analysis.json").is_file()


def test_feature_attribution_needs_the_packages_explainability(
    registry: Registry, tmp_path: Path, opt_ml: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _package_with_a_model(registry, tmp_path, explainability=False)
    code = main(
        [
            "--capture-dir",
            str(_schema_capture(tmp_path / "capture")),
            "--model-package-group",
            GROUP,
            "--output-dir",
            str(tmp_path / "out"),
            "--feature-attribution",
        ]
    )
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1
    assert "has no DriftCheckBaselines.Explainability.Constraints" in err
