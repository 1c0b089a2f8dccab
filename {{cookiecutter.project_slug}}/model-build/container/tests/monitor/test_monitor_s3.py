"""The monitor reading data capture and batch input straight from S3 (moto, in process)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import numpy as np
import pytest

from model_container.monitor import parallel, s3
from model_container.monitor.capture import capture_line, capture_record
from model_container.monitor.cli import main

SHIPPED = Path(__file__).resolve().parents[3] / "data" / "outliers" / "capture"

BUCKET = "capture-bucket"
DESTINATION = "data-capture/prod/"  # the endpoint's DataCaptureConfig.DestinationS3Uri
ROOT = DESTINATION + "outliers/AllTraffic/"
URL = f"s3://{BUCKET}/{DESTINATION}"


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 1, 1, hour, minute, tzinfo=UTC)


def csv_record(row: str, when: datetime) -> bytes:
    return capture_line(
        capture_record(request=row.encode(), request_content_type="text/csv", when=when)
    ).encode()


@pytest.fixture
def bucket(
    aws: None, split: tuple[np.ndarray, np.ndarray], as_csv: Callable[[np.ndarray], str]
) -> Iterator[Any]:
    """The shipped outliers capture (hours 00-08 of 2026-01-01) under the prod capture destination.

    Hour folder 09 holds records stamped 02:30: a reader that listed folders outside the window and
    filtered records by time alone would count them.
    """
    client = boto3.client("s3", region_name="eu-west-1")
    client.create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    for path in sorted(SHIPPED.rglob("*.jsonl")):
        key = DESTINATION + path.relative_to(SHIPPED).as_posix()
        client.put_object(Bucket=BUCKET, Key=key, Body=path.read_bytes())
    normal = split[1]
    row = as_csv(normal[~np.isnan(normal).any(axis=1)][:1]).strip()
    stray = b"".join(csv_record(row, at(2, 30)) for _ in range(7))
    client.put_object(Bucket=BUCKET, Key=ROOT + "2026/01/01/09/stray.jsonl", Body=stray)
    client.put_object(Bucket=BUCKET, Key=ROOT + "2026/01/01/02/notes.txt", Body=b"not capture")
    return client


def listed(client: Any) -> list[tuple[str, str | None]]:
    """Records the (Prefix, Delimiter) of every ListObjectsV2 call the client makes."""
    calls: list[tuple[str, str | None]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        calls.append((params["Prefix"], params.get("Delimiter")))

    client.meta.events.register("provide-client-params.s3.ListObjectsV2", record)
    return calls


def test_only_the_window_hour_folders_are_listed(bucket: Any) -> None:
    calls = listed(bucket)
    roots = s3.capture_roots(bucket, BUCKET, DESTINATION.rstrip("/"))
    keys = list(s3.window_keys(bucket, BUCKET, roots, at(2, 30), at(4)))
    assert roots == [ROOT]
    assert keys == [ROOT + "2026/01/01/02/outliers.jsonl", ROOT + "2026/01/01/03/outliers.jsonl"]
    assert calls == [
        (DESTINATION, "/"),  # folder names only, down to the variant's year folders
        (DESTINATION + "outliers/", "/"),
        (ROOT, "/"),
        (ROOT + "2026/01/01/02/", None),
        (ROOT + "2026/01/01/03/", None),
    ]


@pytest.mark.parametrize(
    ("prefix", "roots"),
    [
        ("data-capture/prod", [ROOT]),
        ("data-capture/prod/outliers/", [ROOT]),
        ("data-capture/prod/outliers/AllTraffic", [ROOT]),
        ("data-capture/", []),  # three levels above the variant: beyond the search
        ("elsewhere/", []),
    ],
)
def test_capture_roots_from_any_level(bucket: Any, prefix: str, roots: list[str]) -> None:
    assert s3.capture_roots(bucket, BUCKET, prefix) == roots


def test_window_hours() -> None:
    assert s3.window_hours(at(2, 30), at(4)) == [at(2), at(3)]
    assert s3.window_hours(at(2), at(2) + timedelta(seconds=1)) == [at(2)]
    assert len(s3.window_hours(at(0) - timedelta(hours=24), at(0))) == 24


def test_objects_stream_in_chunks(bucket: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(s3, "LINE_CHUNK", 97)  # lines straddle chunk ends
    local = SHIPPED / "outliers/AllTraffic/2026/01/01/05/outliers.jsonl"
    lines = list(s3.object_lines(bucket, BUCKET, ROOT + "2026/01/01/05/outliers.jsonl"))
    assert lines == local.read_bytes().splitlines()
    assert len(lines) == 60


def run(output: Path, baseline: Path, *extra: str) -> int:
    return main(["--baseline-dir", str(baseline), "--output-dir", str(output), *extra])


def monitored(output: Path) -> dict[str, Any]:
    return json.loads((output / "statistics.json").read_text())["monitor"]


def test_one_hour_window_from_s3(
    bucket: Any, baseline_dir: Path, tmp_path: Path, opt_ml: Path, make_outliers: ModuleType
) -> None:
    window = ["--end", "2026-01-01T03:00Z", "--hours", "1"]
    code = run(tmp_path / "s3", baseline_dir, "--capture-url", URL, *window)
    assert code == 2
    read = monitored(tmp_path / "s3")
    assert (read["files"], read["records"], read["records_outside_window"]) == (1, 60, 0)
    assert read["source"] == URL
    summary = json.loads((tmp_path / "s3" / "summary.json").read_text())
    statistics = json.loads((tmp_path / "s3" / "statistics.json").read_text())
    rows = statistics["dataset"]["item_count"]
    assert rows > 60  # requests of one to four rows
    assert summary["rows"] == rows and summary["violations"] > 0
    assert set(summary["features_with_violations"]) <= set(make_outliers.SHIFTED)
    # The same hour read from the folder: the same verdict.
    assert run(tmp_path / "dir", baseline_dir, "--capture-dir", str(SHIPPED), *window) == 2
    assert json.loads((tmp_path / "dir" / "summary.json").read_text()) == summary
    metrics = json.loads((tmp_path / "s3" / "metrics.json").read_text())
    assert metrics["MetricData"][0]["Dimensions"] == [{"Name": "Endpoint", "Value": "outliers"}]


def test_s3_and_folder_give_the_same_statistics(
    bucket: Any, baseline_dir: Path, tmp_path: Path, opt_ml: Path
) -> None:
    window = ["--start", "2026-01-01T00:00Z", "--end", "2026-01-01T09:00Z"]
    assert run(tmp_path / "s3", baseline_dir, "--capture-url", URL, *window) == 2
    assert run(tmp_path / "dir", baseline_dir, "--capture-dir", str(SHIPPED), *window) == 2
    from_s3, from_dir = (
        json.loads((tmp_path / name / "statistics.json").read_text()) for name in ("s3", "dir")
    )
    assert from_s3["features"] == from_dir["features"]
    assert from_s3["dataset"] == from_dir["dataset"]
    assert monitored(tmp_path / "s3")["files"] == 9  # not the stray hour 09


def test_workers_read_s3_as_one_process_does(
    bucket: Any, baseline_dir: Path, tmp_path: Path, opt_ml: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each worker opens its own client (moto's in-process mock survives the fork)."""
    window = ["--start", "2026-01-01T00:00Z", "--end", "2026-01-01T09:00Z"]
    assert (
        run(tmp_path / "one", baseline_dir, "--capture-url", URL, *window, "--read-processes", "1")
        == 2
    )
    monkeypatch.setattr(parallel, "TASK_BYTES", 1)  # every object a task of its own
    assert (
        run(tmp_path / "two", baseline_dir, "--capture-url", URL, *window, "--read-processes", "2")
        == 2
    )
    one, two = (
        json.loads((tmp_path / name / "statistics.json").read_text()) for name in ("one", "two")
    )
    assert (one["monitor"].pop("read_processes"), two["monitor"].pop("read_processes")) == (1, 2)
    assert one == two
    assert one["monitor"]["files"] == 9
    summaries = [
        json.loads((tmp_path / name / "summary.json").read_text()) for name in ("one", "two")
    ]
    assert summaries[0] == summaries[1]


def test_empty_window_is_an_error(
    bucket: Any,
    baseline_dir: Path,
    tmp_path: Path,
    opt_ml: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert (
        run(
            tmp_path,
            baseline_dir,
            "--capture-url",
            URL,
            "--end",
            "2030-01-01T00:00Z",
            "--hours",
            "24",
        )
        == 1
    )
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert (
        f"no captured rows in {URL} for the window "
        "[2029-12-31T00:00:00+00:00, 2030-01-01T00:00:00+00:00) (0 files" in err
    )
    assert not (tmp_path / "summary.json").exists()


def test_end_empty_means_now(
    *,
    bucket: Any,
    baseline_dir: Path,
    tmp_path: Path,
    opt_ml: Path,
    split: tuple[np.ndarray, np.ndarray],
    as_csv: Callable[[np.ndarray], str],
) -> None:
    when = datetime.now(UTC) - timedelta(minutes=1)
    key = f"{ROOT}{when:%Y/%m/%d/%H}/now.jsonl"
    # One request a minute ago holding the normal rows (like the baseline: no violation).
    bucket.put_object(Bucket=BUCKET, Key=key, Body=csv_record(as_csv(split[1]), when))
    assert run(tmp_path, baseline_dir, "--capture-url", URL, "--end", "", "--hours", "1") == 0
    assert json.loads((tmp_path / "summary.json").read_text())["rows"] == len(split[1])
    end = datetime.fromisoformat(monitored(tmp_path)["window"]["end"])
    assert when < end <= datetime.now(UTC)


def test_batch_input_csv_from_s3(
    *,
    bucket: Any,
    baseline_dir: Path,
    tmp_path: Path,
    opt_ml: Path,
    split: tuple[np.ndarray, np.ndarray],
    as_csv: Callable[[np.ndarray], str],
) -> None:
    normal = split[1]
    bucket.put_object(Bucket=BUCKET, Key="batch/input/a.csv", Body=as_csv(normal[:-1]).encode())
    bucket.put_object(
        Bucket=BUCKET, Key="batch/input/more/b.txt", Body=as_csv(normal[-1:]).encode()
    )
    bucket.put_object(Bucket=BUCKET, Key="batch/input/_manifest.json", Body=b"{}")
    url = f"s3://{BUCKET}/batch/input/"
    assert run(tmp_path, baseline_dir, "--capture-url", url, "--input-format", "csv") == 0
    assert json.loads((tmp_path / "summary.json").read_text())["rows"] == len(normal)
    assert monitored(tmp_path)["files"] == 2


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--capture-url", URL], "--capture-url needs a window"),
        (["--capture-url", URL, "--end", "2026-01-01T03:00Z"], "--capture-url needs a window"),
        (
            ["--capture-url", URL, "--capture-dir", "x", "--hours", "1"],
            "argument --capture-dir: not allowed with argument --capture-url",
        ),
        (
            ["--capture-url", "s3:/capture-bucket", "--hours", "1"],
            "capture URL 's3:/capture-bucket' is not",
        ),
        (
            ["--capture-url", "s3://no-such-bucket/x/", "--hours", "1"],
            "could not list the capture folders under s3://no-such-bucket/x/: NoSuchBucket",
        ),
        (
            ["--capture-url", f"s3://{BUCKET}/elsewhere/", "--hours", "1"],
            f"no data-capture folders under s3://{BUCKET}/elsewhere/",
        ),
    ],
)
def test_bad_s3_input_is_one_line(
    extra: list[str],
    message: str,
    *,
    bucket: Any,
    baseline_dir: Path,
    tmp_path: Path,
    opt_ml: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run(tmp_path, baseline_dir, *extra) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "Traceback" not in err, err


@pytest.mark.parametrize("processes", ["1", "2"])
def test_object_gone_while_reading_is_one_line(
    *,
    processes: str,
    bucket: Any,
    baseline_dir: Path,
    tmp_path: Path,
    opt_ml: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    listed_keys = list(s3.window_keys(bucket, BUCKET, [ROOT], at(2), at(3)))
    bucket.delete_object(Bucket=BUCKET, Key=listed_keys[0])  # deleted after it was listed
    listed_keys.append(listed_keys[0])  # and a second task, so that 2 processes read

    def window_keys(*_: Any, sizes: dict[str, int]) -> Iterator[str]:
        sizes.update(dict.fromkeys(listed_keys, parallel.TASK_BYTES))
        return iter(listed_keys)

    monkeypatch.setattr(s3, "window_keys", window_keys)
    code = run(
        tmp_path,
        baseline_dir,
        "--capture-url",
        URL,
        "--end",
        "2026-01-01T03:00Z",
        "--hours",
        "1",
        "--read-processes",
        processes,
    )
    assert code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"could not read {URL}: NoSuchKey" in err, err
