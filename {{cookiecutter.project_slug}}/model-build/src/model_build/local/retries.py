"""A step's RetryPolicies as the local executor honours them.

SageMaker matches a failed step against its policies' ExceptionType lists and waits IntervalSeconds *
BackoffRate^(n-1) before retry n, for at most MaxAttempts retries, or until ExpireAfterMin minutes after
the step started (https://docs.aws.amazon.com/sagemaker/latest/dg/pipelines-retry-policy.html).

Locally a failure has an exception type only when a step runner raises StepFaultError (a runner that calls an
AWS emulator, or a test); a container that exits non-zero is the step's own error, which SageMaker does
not retry either. The attempts are the definition's; the waits are scaled by LOCAL_WAIT_SCALE and capped
at LOCAL_WAIT_CAP seconds, so a local run does not sit out minutes of backoff meant for EC2 capacity.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from model_build.errors import StepFailedError
from model_build.local.resolve import UnsupportedDefinitionError

# The step types SageMaker retries (of those the local executor runs), and the exception types it knows.
RETRYABLE_TYPES = ("Processing", "Training", "Transform", "RegisterModel")
EXCEPTION_TYPES = (
    "Step.SERVICE_FAULT",
    "Step.THROTTLING",
    "SageMaker.JOB_INTERNAL_ERROR",
    "SageMaker.CAPACITY_ERROR",
    "SageMaker.RESOURCE_LIMIT",
)
MAX_ATTEMPTS, MAX_INTERVAL_SECONDS, MAX_EXPIRE_AFTER_MIN = 20, 43200, 14400
# A minute of SageMaker backoff is a second here, and no wait is longer than two.
LOCAL_WAIT_SCALE = 1 / 60
LOCAL_WAIT_CAP = 2.0


class StepFaultError(StepFailedError):
    """A step failure of a kind retry policies match, e.g. ``SageMaker.CAPACITY_ERROR``."""

    def __init__(self, exception_type: str, message: str) -> None:
        super().__init__(f"{exception_type}: {message}")
        self.exception_type = exception_type


@dataclass(frozen=True)
class RetryPolicy:
    """One entry of a step's ``RetryPolicies``, with SageMaker's defaults for what it leaves out."""

    exception_types: frozenset[str]
    interval_seconds: float = 1
    backoff_rate: float = 2.0
    max_attempts: int | None = 5
    expire_after_min: float | None = None

    @classmethod
    def parse(cls, step: str, item: Mapping[str, Any]) -> RetryPolicy:
        """Read and check one policy as SageMaker's JSON schema for it allows."""
        known = {"ExceptionType", "IntervalSeconds", "BackoffRate", "MaxAttempts", "ExpireAfterMin"}
        extra = sorted(set(item) - known)
        kinds = item.get("ExceptionType") or []
        unknown = [kind for kind in kinds if kind not in EXCEPTION_TYPES]
        problem = None
        if extra:
            problem = f"unknown field {extra[0]!r}"
        elif not kinds or unknown:
            problem = f"ExceptionType {unknown[0] if unknown else kinds!r} is not one of {EXCEPTION_TYPES}"
        elif "MaxAttempts" in item and "ExpireAfterMin" in item:
            problem = "MaxAttempts and ExpireAfterMin are exclusive"
        elif not 0 <= item.get("MaxAttempts", 0) <= MAX_ATTEMPTS:
            problem = f"MaxAttempts must be 0-{MAX_ATTEMPTS}"
        elif not 0 <= item.get("IntervalSeconds", 1) <= MAX_INTERVAL_SECONDS:
            problem = f"IntervalSeconds must be 0-{MAX_INTERVAL_SECONDS}"
        elif not 0 <= item.get("ExpireAfterMin", 0) <= MAX_EXPIRE_AFTER_MIN:
            problem = f"ExpireAfterMin must be 0-{MAX_EXPIRE_AFTER_MIN}"
        if problem:
            raise UnsupportedDefinitionError(f"step {step!r}: retry policy {dict(item)}: {problem}")
        expire = item.get("ExpireAfterMin")
        return cls(
            exception_types=frozenset(kinds),
            interval_seconds=item.get("IntervalSeconds", 1),
            backoff_rate=item.get("BackoffRate", 2.0),
            max_attempts=None if expire is not None else item.get("MaxAttempts", 5),
            expire_after_min=expire,
        )


def step_policies(step: Mapping[str, Any]) -> list[RetryPolicy]:
    """The checked retry policies of a definition step (none for a step without RetryPolicies)."""
    items = step.get("RetryPolicies", [])
    if items and step["Type"] not in RETRYABLE_TYPES:
        raise UnsupportedDefinitionError(
            f"step {step['Name']!r}: a {step['Type']} step takes no RetryPolicies "
            f"(SageMaker retries {', '.join(RETRYABLE_TYPES)} steps)"
        )
    return [RetryPolicy.parse(step["Name"], item) for item in items]


class Retrier:
    """Decides, failure by failure, whether a step runs again and after how long (SageMaker's wait)."""

    def __init__(self, policies: list[RetryPolicy]) -> None:
        self.policies = policies
        self.retries = [0] * len(policies)  # each policy counts the retries it granted
        self.waited = 0.0  # SageMaker's waits so far, which count towards ExpireAfterMin

    def wait_before_retry(self, error: StepFailedError, elapsed: float) -> float | None:
        """SageMaker's wait before retrying after ``error``; None: the step fails now.

        ``elapsed``: seconds the step's attempts took so far (without the waits).
        """
        kind = getattr(error, "exception_type", None)
        for index, policy in enumerate(self.policies):
            if kind not in policy.exception_types:
                continue
            done = self.retries[index]
            if policy.max_attempts is not None and done >= policy.max_attempts:
                return None
            wait = policy.interval_seconds * policy.backoff_rate**done
            if policy.expire_after_min is not None and (
                elapsed + self.waited + wait >= policy.expire_after_min * 60
            ):
                return None
            self.retries[index] += 1
            self.waited += wait
            return wait
        return None

    @property
    def count(self) -> int:
        return sum(self.retries)


def local_wait(seconds: float) -> float:
    """How long the local run sleeps for SageMaker's ``seconds`` of backoff."""
    return min(seconds * LOCAL_WAIT_SCALE, LOCAL_WAIT_CAP)
