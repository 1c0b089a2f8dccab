"""Server settings from the SageMaker environment."""

from __future__ import annotations

import pytest

from model_container.serve.environment import Settings, SettingsError, cpu_count


def test_defaults_follow_sagemaker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPT_ML", "/x")
    s = Settings.from_env({})
    assert (s.model_dir, s.host, s.port) == ("/x/model", "0.0.0.0", 8080)
    assert s.workers == cpu_count() >= 1
    assert s.max_body_bytes == 6 * 1024 * 1024
    assert s.graceful_timeout_s < 30  # SageMaker kills 30 s after SIGTERM


def test_overrides() -> None:
    s = Settings.from_env(
        {
            "SAGEMAKER_BIND_TO_PORT": "9000",
            "SAGEMAKER_MODEL_SERVER_WORKERS": "3",
            "SAGEMAKER_MAX_PAYLOAD_IN_MB": "20",
            "MODEL_SERVER_MODEL_DIR": "/m",
        }
    )
    assert (s.port, s.workers, s.max_body_bytes, s.model_dir) == (9000, 3, 20 * 1024 * 1024, "/m")


def test_payload_limit_zero_means_no_limit() -> None:
    # Batch transform passes MaxPayloadInMB=0 for chunked bodies of any size.
    assert Settings.from_env({"SAGEMAKER_MAX_PAYLOAD_IN_MB": "0"}).max_body_bytes == 0


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (
            "SAGEMAKER_BIND_TO_PORT",
            "http",
            "SAGEMAKER_BIND_TO_PORT='http' is not an integer; allowed: 1..65535",
        ),
        (
            "SAGEMAKER_BIND_TO_PORT",
            "0",
            "SAGEMAKER_BIND_TO_PORT=0 is out of range; allowed: 1..65535",
        ),
        ("SAGEMAKER_MODEL_SERVER_WORKERS", "0", "SAGEMAKER_MODEL_SERVER_WORKERS=0 is out of range"),
        (
            "SAGEMAKER_MAX_PAYLOAD_IN_MB",
            "1.5",
            "SAGEMAKER_MAX_PAYLOAD_IN_MB='1.5' is not an integer",
        ),
        (
            "MODEL_SERVER_GRACEFUL_TIMEOUT",
            "30",
            "MODEL_SERVER_GRACEFUL_TIMEOUT=30 is out of range; allowed: 1..29",
        ),
    ],
)
def test_bad_values_name_the_variable_and_the_range(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError) as info:
        Settings.from_env({name: value})
    assert str(info.value).startswith(message)
