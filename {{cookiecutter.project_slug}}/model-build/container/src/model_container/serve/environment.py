"""Server settings from the environment SageMaker sets, validated into one-line errors."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from model_container.paths import opt_ml

LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


class SettingsError(ValueError):
    """An environment variable holds a value the server cannot use."""


def _int_env(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not an integer; allowed: {low}..{high}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name}={value} is out of range; allowed: {low}..{high}")
    return value


def cpu_count() -> int:
    """CPUs this process may run on (the container's share, not the host's total)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - non-Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class Settings:
    """Everything the server reads from its environment."""

    model_dir: str
    host: str
    port: int
    workers: int
    max_body_bytes: int  # 0 = no limit
    timeout_s: int
    graceful_timeout_s: int
    access_log: bool = False
    log_level: str = "info"
    capture_dir: str = ""  # local runs only: write data-capture files like an endpoint does

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        # Batch transform sets it from MaxPayloadInMB (0 = chunked bodies of any size: no limit here).
        mb = _int_env(env, "SAGEMAKER_MAX_PAYLOAD_IN_MB", 6, 0, 100)
        log_level = env.get("MODEL_SERVER_LOG_LEVEL", "info").strip().lower()
        if log_level not in LOG_LEVELS:
            raise SettingsError(
                f"MODEL_SERVER_LOG_LEVEL={log_level!r} is not a log level; allowed: {', '.join(LOG_LEVELS)}"
            )
        return cls(
            model_dir=env.get("MODEL_SERVER_MODEL_DIR") or str(opt_ml("model")),
            # SageMaker reaches the container from outside: listen on every interface unless told otherwise.
            host=env.get("MODEL_SERVER_HOST", "0.0.0.0"),
            port=_int_env(env, "SAGEMAKER_BIND_TO_PORT", 8080, 1, 65535),
            workers=_int_env(env, "SAGEMAKER_MODEL_SERVER_WORKERS", cpu_count(), 1, 256),
            max_body_bytes=mb * 1024 * 1024,
            # SageMaker gives an invocation 60 s; a worker stuck longer is killed and replaced.
            timeout_s=_int_env(env, "SAGEMAKER_MODEL_SERVER_TIMEOUT", 60, 1, 3600),
            # SageMaker sends SIGKILL 30 s after SIGTERM: finish in-flight requests well before that.
            graceful_timeout_s=_int_env(env, "MODEL_SERVER_GRACEFUL_TIMEOUT", 25, 1, 29),
            # Off by default (a log line per request costs throughput); on for debugging and benchmarks.
            access_log=_int_env(env, "MODEL_SERVER_ACCESS_LOG", 0, 0, 1) == 1,
            log_level=log_level,
            capture_dir=env.get("MODEL_SERVER_CAPTURE_DIR", "").strip(),
        )
