"""``monitor --model-package-group``: the baselines are the newest Approved package's (moto)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from registry_fixtures import GROUP, Registry, feature_table

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
