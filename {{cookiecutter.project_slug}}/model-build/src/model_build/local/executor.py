"""Execute a SageMaker pipeline definition (the JSON ``Pipeline.definition()`` returns) locally.

Steps start as soon as the steps they reference have finished (independent steps run in parallel, as
in SageMaker). Supported step types: Processing, Training, Condition, Fail, RegisterModel, and
Transform where a transform runner is given (the cloud twin's; locally there is no model to name). A
failed step or a FailStep stops the run: steps already running finish, nothing new starts. A step's
RetryPolicies and CacheConfig are honoured as SageMaker does (``model_build.local.retries`` and
``model_build.local.cache`` say how); progress is logged one whole line per event.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import Any

from model_build import pipeline_kinds
from model_build.errors import StepFailedError, UsageError
from model_build.local import registry
from model_build.local.cache import StepCache, cache_lifetime
from model_build.local.jobs import run_processing, run_training
from model_build.local.resolve import (
    Context,
    UnsupportedDefinitionError,
    evaluate_condition,
    references,
    resolve,
)
from model_build.local.retries import Retrier, local_wait, step_policies
from model_build.local.storage import s3_path

SUPPORTED = ("Processing", "Training", "Condition", "Fail", "RegisterModel", "Transform")
# CreateTransformJob's request (resolved) and the step's environment -> its DescribeTransformJob record.
TransformRunner = Callable[[dict[str, Any], dict[str, str]], dict[str, Any]]
PARAMETER_TYPES: dict[str, Callable[[str], Any]] = {
    "String": str,
    "Integer": int,
    "Float": float,
    "Boolean": lambda text: text.lower() == "true",
}


@dataclass
class RunResult:
    """What a finished (or failed) local execution produced."""

    execution_id: str
    status: str  # Succeeded | Failed
    execution_arn: str = ""
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> {status, seconds, ...}
    property_files: dict[str, dict[str, Any]] = field(default_factory=dict)
    registered: list[dict[str, Any]] = field(default_factory=list)
    failure: str | None = None


class LocalExecutor:
    """Runs one pipeline definition under ``work`` (local S3, job folders, registry)."""

    def __init__(
        self,
        definition: dict[str, Any],
        work: Path,
        *,
        region: str = "us-east-1",
        account: str = "000000000000",
        log: Callable[[str], None] = print,
        max_parallel: int = 2,
        train_command: tuple[str, ...] = ("train",),
        register: Callable[..., dict[str, Any]] = registry.register,
        aws_steps: bool = False,
        transform: TransformRunner | None = None,
        code_version: str = "",
        sleep: Callable[[float], None] = time.sleep,
    ):
        """``code_version``: a digest of the step code (part of every cache key, see local.cache);
        ``sleep``: how retry waits are spent (tests record them instead)."""
        self.definition = definition
        self.work = work
        self.region = region
        self.account = account
        self._log, self._log_lock = log, threading.Lock()
        self.sleep = sleep
        self.max_parallel = max_parallel
        self.train_command = train_command
        # RegisterModel's registry: the local one, or (the cloud twin) the emulator's.
        self.register = register
        self.transform = transform
        kind = pipeline_kinds.kind_of(definition)
        # Cached runs are reused within one pipeline only, as on SageMaker.
        self.cache = StepCache(work, kind or "pipeline", code_version)
        # aws_steps: the steps' own AWS calls reach an emulator (the cloud twin sets the endpoint).
        if kind not in (None, pipeline_kinds.MODEL_BUILD) and not aws_steps:
            # Their steps read S3, the model registry and CloudWatch themselves: nothing to map.
            raise UnsupportedDefinitionError(
                f"this is the {kind} pipeline, which runs only on SageMaker (upsert it with "
                "upsert-pipelines); the local executor runs the model-build pipeline"
            )
        for step in self.all_steps(definition["Steps"]):
            if step["Type"] not in SUPPORTED:
                raise UnsupportedDefinitionError(
                    f"step {step['Name']!r} has type {step['Type']!r}, which the local "
                    f"executor does not run (supported: {', '.join(SUPPORTED)})"
                )
            if step["Type"] == "Transform" and transform is None:
                raise UnsupportedDefinitionError(
                    f"step {step['Name']!r} is a batch transform, which needs a SageMaker Model; "
                    "the local executor runs it only with a transform runner (the cloud twin's)"
                )
            step_policies(step)  # checked now: a bad policy is refused before anything runs
            cache_lifetime(step)

    def log(self, line: str) -> None:
        """One event, one line: concurrent steps never write into each other's lines."""
        with self._log_lock:
            self._log(line)

    def parameters(self, overrides: dict[str, str]) -> dict[str, Any]:
        """Parameter values: the definition's defaults, replaced by ``overrides`` (converted to the type)."""
        declared = {item["Name"]: item for item in self.definition.get("Parameters", [])}
        unknown = sorted(set(overrides) - set(declared))
        if unknown:
            raise UsageError(f"unknown parameter {unknown[0]!r}; defined: {', '.join(declared)}")
        values = {}
        for name, item in declared.items():
            convert = PARAMETER_TYPES[item.get("Type", "String")]
            if name in overrides:
                try:
                    values[name] = convert(overrides[name])
                except ValueError:
                    raise UsageError(
                        f"parameter {name}={overrides[name]!r} is not a valid {item['Type']}"
                    ) from None
            elif "DefaultValue" in item:
                values[name] = item["DefaultValue"]
            else:
                raise UsageError(
                    f"parameter {name} has no default; pass it with --parameter {name}=VALUE"
                )
        return values

    def run(
        self,
        overrides: dict[str, str] | None = None,
        env: dict[str, str] | None = None,
        started: float | None = None,
    ) -> RunResult:
        """Execute once; progress times count from ``started`` (a perf_counter value, default now)."""
        execution_id = uuid.uuid4().hex[:12]
        name = self.definition.get("PipelineName", "local-pipeline")
        ctx = Context(
            parameters=self.parameters(overrides or {}),
            execution={
                "PipelineExecutionId": execution_id,
                "PipelineName": name,
                "PipelineExecutionArn": f"arn:aws:sagemaker:{self.region}:{self.account}:pipeline/{name}/"
                f"execution/{execution_id}",
                "StartDateTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "CurrentDateTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            },
        )
        arn = ctx.execution["PipelineExecutionArn"]
        result = RunResult(execution_id=execution_id, status="Executing", execution_arn=arn)
        self._started = time.perf_counter() if started is None else started
        # Every job learns its execution, as a definition with tracking gives it to the Track and
        # LinkRun steps (model_build.steps.StepBuilder.tracking): the run is tagged with it.
        env = {"PIPELINE_EXECUTION_ARN": arn, **(env or {})}
        try:
            self._run_steps(self.definition["Steps"], ctx, result, env)
            result.status = "Succeeded"
        except StepFailedError as error:
            result.status, result.failure = "Failed", str(error)
        result.property_files = ctx.property_files
        return result

    # -- scheduling ---------------------------------------------------------------------------------------

    def _run_steps(
        self, steps: list[dict[str, Any]], ctx: Context, result: RunResult, env: dict[str, str]
    ) -> None:
        by_name = {step["Name"]: step for step in steps}
        graph = TopologicalSorter()
        for step in steps:
            # A branch's steps may read each other (LinkRun reads Register): they run in the branch.
            inner = {nested["Name"] for nested in self.all_steps([step])}
            needs = (references(step) | set(step.get("DependsOn", []))) - inner
            graph.add(step["Name"], *(need for need in needs if need in by_name))
            missing = [need for need in needs if need not in by_name and need not in ctx.steps]
            if missing:
                raise UsageError(f"step {step['Name']!r} refers to unknown step {missing[0]!r}")
        try:
            graph.prepare()
        except CycleError as error:
            raise UsageError(
                f"the pipeline's steps depend on each other in a cycle: {error.args[1]}"
            ) from None
        failure: StepFailedError | None = None
        running: dict[Future[None], str] = {}
        with ThreadPoolExecutor(max_workers=self.max_parallel) as pool:
            while graph.is_active():
                if failure is None:
                    for ready in graph.get_ready():
                        running[pool.submit(self._run_step, by_name[ready], ctx, result, env)] = (
                            ready
                        )
                if not running:
                    break
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    name = running.pop(future)
                    error = future.exception()
                    if isinstance(error, StepFailedError):
                        failure = failure or error
                    elif error is not None:
                        raise error
                    graph.done(name)
        if failure is not None:
            raise failure

    def _run_step(
        self, step: dict[str, Any], ctx: Context, result: RunResult, env: dict[str, str]
    ) -> None:
        name, kind = step["Name"], step["Type"]
        start = time.perf_counter()
        self.log(f"[{start - self._started:6.1f}s] {name} ({kind}) started")
        outcome, reused = "ok", False
        branch: list[dict[str, Any]] = []
        try:
            if kind == "Condition":
                outcome, branch = self._condition(step, ctx)
            elif kind == "Fail":
                message = resolve(step.get("Arguments", {}).get("ErrorMessage", ""), ctx)
                raise StepFailedError(f"{name}: {message}")
            else:
                outcome, reused = self._job_step(step, ctx, result, env)
        except (StepFailedError, UsageError) as error:
            result.steps[name] = {"status": "Failed", "seconds": time.perf_counter() - start}
            self.log(f"[{time.perf_counter() - self._started:6.1f}s] {name} FAILED")
            if isinstance(error, StepFailedError):
                raise
            raise StepFailedError(f"{name}: {error}") from None
        seconds = time.perf_counter() - start
        result.steps[name] = {"status": "Succeeded", "seconds": seconds}
        if reused:
            result.steps[name]["cached"] = True
        self.log(f"[{time.perf_counter() - self._started:6.1f}s] {name} {outcome} ({seconds:.1f}s)")
        # As in SageMaker, a condition step succeeds once it has chosen; its branch's steps succeed
        # or fail on their own.
        if branch:
            self._run_steps(branch, ctx, result, env)

    def _job_step(
        self, step: dict[str, Any], ctx: Context, result: RunResult, env: dict[str, str]
    ) -> tuple[str, bool]:
        """Run (or reuse, when cached) a Processing, Training, Transform or RegisterModel step;
        its outcome as logged, and whether an earlier run was reused."""
        name, kind = step["Name"], step["Type"]
        args = resolve(step.get("Arguments", {}), ctx)
        lifetime = cache_lifetime(step)
        key = self.cache.key(kind, args) if lifetime is not None else ""
        hit = self.cache.lookup(name, key, lifetime) if lifetime is not None else None
        if hit is not None:
            ctx.steps[name] = hit["properties"]
        else:
            ctx.steps[name] = self._attempts(step, lambda: self._job(kind, name, args, env))
        if kind == "Processing":
            self._load_property_files(step, ctx)
        if lifetime is not None and hit is None:
            self.cache.store(
                name, key, ctx.steps[name], ctx.execution["PipelineExecutionId"], lifetime
            )
        if hit is not None:
            return f"cached: reused execution {hit['execution_id']}", True
        if kind == "Transform":
            return f"output {args['TransformOutput']['S3OutputPath']}", False
        if kind == "RegisterModel":
            record = ctx.steps[name]
            result.registered.append(record)
            outcome = (
                f"{record['ModelPackageGroupName']} v{record['ModelPackageVersion']} "
                f"{record['ModelApprovalStatus']}"
            )
            return outcome, False
        return "ok", False

    def _job(
        self, kind: str, name: str, args: dict[str, Any], env: dict[str, str]
    ) -> dict[str, Any]:
        """Run one attempt of a job step; its Describe*-shaped properties."""
        if kind == "Processing":
            return run_processing(self.work, name, args, env)
        if kind == "Training":
            return run_training(self.work, name, args, env, self.train_command)
        if kind == "Transform":
            assert self.transform is not None  # checked in __init__
            return self.transform(args, env)
        return self.register(self.work, args, region=self.region, account=self.account)

    def _attempts(
        self, step: dict[str, Any], attempt: Callable[[], dict[str, Any]]
    ) -> dict[str, Any]:
        """``attempt()`` until it succeeds or the step's retry policies give up (their waits scaled)."""
        retrier = Retrier(step_policies(step))
        busy = 0.0
        while True:
            began = time.perf_counter()
            try:
                return attempt()
            except StepFailedError as error:
                busy += time.perf_counter() - began
                wait = retrier.wait_before_retry(error, busy)
                if wait is None:
                    if retrier.count:
                        raise StepFailedError(f"{error} (after {retrier.count} retries)") from None
                    raise
                self.log(
                    f"[{time.perf_counter() - self._started:6.1f}s] {step['Name']} attempt "
                    f"{retrier.count} failed: {error}; retrying after {wait:g}s "
                    f"(locally {local_wait(wait):.2f}s)"
                )
                self.sleep(local_wait(wait))

    def _condition(self, step: dict[str, Any], ctx: Context) -> tuple[str, list[dict[str, Any]]]:
        """The condition's outcome (as logged) and the branch it chose."""
        args = step["Arguments"]
        outcome = all(
            evaluate_condition(condition, ctx) for condition in args.get("Conditions", [])
        )
        ctx.steps[step["Name"]] = {"Outcome": outcome}
        branch = args.get("IfSteps" if outcome else "ElseSteps", [])
        self.log(
            f"         {step['Name']}: conditions {'met' if outcome else 'not met'} -> "
            f"{', '.join(s['Name'] for s in branch) or 'nothing'}"
        )
        return f"outcome {str(outcome).lower()}", branch

    def _load_property_files(self, step: dict[str, Any], ctx: Context) -> None:
        outputs = {
            item["OutputName"]: item["S3Output"]["S3Uri"]
            for item in ctx.steps[step["Name"]].get("ProcessingOutputConfig", {}).get("Outputs", [])
        }
        for spec in step.get("PropertyFiles", []):
            uri = outputs.get(spec["OutputName"])
            if uri is None:
                raise UsageError(
                    f"property file {spec['PropertyFileName']}: step {step['Name']!r} has no output "
                    f"{spec['OutputName']!r}"
                )
            path = s3_path(self.work, uri) / spec["FilePath"]
            try:
                document = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as error:
                raise StepFailedError(
                    f"{step['Name']}: property file {spec['FilePath']} is missing or not JSON "
                    f"({error})"
                ) from None
            ctx.property_files.setdefault(step["Name"], {})[spec["PropertyFileName"]] = document

    @staticmethod
    def all_steps(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Every step of ``steps``, those inside condition branches included."""
        found = []
        for step in steps:
            found.append(step)
            if step.get("Type") == "Condition":
                args = step.get("Arguments", {})
                found += LocalExecutor.all_steps(
                    args.get("IfSteps", []) + args.get("ElseSteps", [])
                )
        return found
