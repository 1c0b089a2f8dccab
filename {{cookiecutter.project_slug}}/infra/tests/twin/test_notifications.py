"""One incident, one e-mail: every event AWS emits for one incident (a failed step emits its own
event, then its execution another) goes through this project's synthesized rules in the emulator's
EventBridge, and the topic gets exactly one message, rendered as EventBridge renders the rule's
input transformer, saying what happened and what was started in response."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from conftest import Synthesized

from project_infra.events import NOTHING_STARTED
from project_infra.synth_checks import ACCOUNT
from project_infra.twin import samples
from project_infra.twin.bus import Bus, Delivery


@pytest.fixture(scope="session")
def synthesized(codepipeline_synthesized: Synthesized) -> Synthesized:
    """The twin's CodePipeline and CodeBuild emulation reads this project's stack with [ci] system
    codepipeline (test_ci_jobs.py covers what the twin does for GitHub Actions / GitLab CI)."""
    return codepipeline_synthesized


Event = dict[str, Any]


class Run:
    """One execution of one of this project's SageMaker pipelines, as a deploy with the parameters'
    defaults names it, and the events it emits."""

    def __init__(self, synthesized: Synthesized, suffix: str) -> None:
        region, prefix = synthesized.settings.region, f"{synthesized.project_name}-manual"
        self.pipeline = f"{prefix}-{suffix}"
        # SageMaker writes the pipeline's name lowercased into its ARN.
        self.pipeline_arn = f"arn:aws:sagemaker:{region}:{ACCOUNT}:pipeline/{self.pipeline.lower()}"
        self.arn = f"{self.pipeline_arn}/execution/{uuid.uuid4().hex[:12]}"

    def failed(self, step: str, reason: str, step_type: str = "Processing") -> list[Event]:
        """What SageMaker emits when ``step`` fails: the step's event, then the execution's."""
        return [
            samples.pipeline_step_status_change(
                self.pipeline_arn,
                self.arn,
                step,
                "Failed",
                step_type=step_type,
                failure_reason=reason,
            ),
            samples.pipeline_execution_status_change(self.pipeline_arn, self.arn, "Failed"),
        ]

    def succeeded(self, step: str) -> list[Event]:
        return [
            samples.pipeline_step_status_change(self.pipeline_arn, self.arn, step, "Succeeded"),
            samples.pipeline_execution_status_change(self.pipeline_arn, self.arn, "Succeeded"),
        ]


def _deliveries(bus: Bus, events: list[Event]) -> tuple[list[str], list[Delivery]]:
    """(the messages the topic gets, the other deliveries) for the events of one incident."""
    delivered = [d for event in events for d in bus.put(event)]
    messages = [d.text for d in delivered if ":sns:" in d.target.arn]
    return messages, [d for d in delivered if ":sns:" not in d.target.arn]


def _started_pipelines(others: list[Delivery]) -> list[str]:
    return [d.target.arn.rsplit("/", 1)[-1] for d in others if ":pipeline/" in d.target.arn]


def test_a_drifted_batch_sends_one_message_and_starts_retraining(
    synthesized: Synthesized, bus: Bus
) -> None:
    batch, build = Run(synthesized, "batch-inference"), Run(synthesized, "model-build")
    events = batch.failed("BatchInputDrift", "Batch input drifted: 3 of 5 features", "Fail")
    messages, others = _deliveries(bus, events)
    (message,) = messages
    assert message.startswith("Batch input drifted from the model's baselines")
    assert batch.arn in message
    assert f"retraining ({build.pipeline}) was started" in message
    # The target is the pipeline's ARN, in which SageMaker writes the name lowercased.
    assert _started_pipelines(others) == [build.pipeline.lower()]


BATCH_FAILED = "Batch inference failed: step {step} of {run} failed ({reason}). " + NOTHING_STARTED
RUN_FAILED = (
    "SageMaker pipeline execution {run} failed. "
    + NOTHING_STARTED
    + " Its failed step and reason: SageMaker Studio, Pipelines."
)


@pytest.mark.parametrize(
    ("suffix", "step", "expected"),
    [
        ("batch-inference", "LatestApprovedModel", BATCH_FAILED),
        ("batch-inference", "CheckBatchInput", BATCH_FAILED),
        ("batch-inference", "BatchTransform", BATCH_FAILED),
        ("model-build", "Train", RUN_FAILED),
        ("monitoring", "CheckCapturedData", RUN_FAILED),
    ],
)
def test_a_failed_run_sends_one_message_and_starts_nothing(
    synthesized: Synthesized, bus: Bus, suffix: str, step: str, expected: str
) -> None:
    if suffix == "monitoring" and not synthesized.settings.monitored:
        pytest.skip(f"no monitoring pipeline at size {synthesized.settings.size}")
    run, reason = Run(synthesized, suffix), "ClientError: AccessDenied"
    messages, others = _deliveries(bus, run.failed(step, reason))
    assert messages == [expected.format(step=step, run=run.arn, reason=reason)]
    assert others == []


@pytest.mark.parametrize("suffix", ["build", "deploy"])
def test_a_failed_codepipeline_run_sends_one_message(
    synthesized: Synthesized, bus: Bus, suffix: str
) -> None:
    pipeline = f"{synthesized.project_name}-manual-{suffix}"
    execution = str(uuid.uuid4())
    event = samples.codepipeline_execution_state_change(
        pipeline, "FAILED", region=synthesized.settings.region, execution_id=execution
    )
    messages, others = _deliveries(bus, [event])
    assert messages == [
        f"CodePipeline pipeline {pipeline} failed (execution {execution}). {NOTHING_STARTED} "
        "Its failed action and log: the CodePipeline console."
    ]
    assert others == []


@pytest.mark.parametrize("suffix", ["batch-inference", "model-build", "monitoring"])
def test_a_successful_run_sends_nothing(synthesized: Synthesized, bus: Bus, suffix: str) -> None:
    messages, others = _deliveries(bus, Run(synthesized, suffix).succeeded("Step"))
    assert (messages, others) == ([], [])
