"""The flow the twin rehearses, stage by stage, as AWS would run it: the README's first-run steps,
a push, the build pipeline and the SageMaker pipeline it starts, approval, the deploy pipeline
through staging, endpoint tests and prod, prod traffic and its capture, and the retraining triggers.
Each stage checks what the synthesized resources say should happen and fails with one line."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from model_container.data import read_raw
from model_container.monitor.requests import values as request_values
from project_infra.parameters import PROJECT_ID
from project_infra.settings import Settings
from project_infra.settings import load as load_settings
from project_infra.source import SEED_EXCLUDES
from project_infra.twin import endpoint_report, protection, samples
from project_infra.twin.bus import Bus, Delivery
from project_infra.twin.codepipeline import Handlers, PipelineRun, Runner
from project_infra.twin.emulator import TOOLING_ACCOUNT, Emulator
from project_infra.twin.interpreters import DELETERS, INTERPRETERS, NOT_EMULATED
from project_infra.twin.provision import ProvisionError, Resource, Stack, deploy, undeploy
from project_infra.twin.reuse import PassedTests
from project_infra.twin.runtime import Runtime
from project_infra.twin.sagemaker import Execution, executions, run_execution, tracked_run
from project_model import SCHEMA
from project_names import Names

FIRST_RUN_HEADING = "## First run on AWS"
# GitHub Actions / GitLab CI projects: what the twin does not run (its table's row; twin.ci_jobs).
CI_NOT_RUN = (
    "the CI's jobs themselves: GitHub-hosted runners and GitLab runners are not emulated; the "
    "twin checks their roles, environments and triggers, then deletes the project. The jobs run "
    "the CodeBuild steps' scripts (a CodePipeline project's twin runs those) and "
    "model-deploy/ci/deploy-stage.sh (its own tests)"
)
REPOSITORY_OWNER = "twin-owner"
# The deploy pipeline's EndpointTests build: its buildspec's report group (JUnit XML).
ENDPOINT_TESTS_REPORT = "EndpointTests/endpoint-tests"
# A connection ARN of the documented shape; CodeConnections itself is not emulated.
CODECONNECTION_ARN = (
    "arn:aws:codeconnections:{region}:123456789012:connection/00000000-0000-4000-8000-000000000000"
)


class StageError(RuntimeError):
    """One line: the stage, the resource and the first error."""


def check_endpoint_update(live: Stack, parameters: dict[str, Any], clients: Any) -> None:
    """What AWS enforces on the stage's endpoint update and moto does not: a variant registered
    with Application Auto Scaling cannot change its instance type
    (https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-scaling-update.html); CloudFormation
    then rolls the update back."""
    for config in live.of_type("AWS::SageMaker::EndpointConfig").values():
        for variant in config.properties.get("ProductionVariants", []):
            new_type = parameters.get("InstanceType", variant["InstanceType"])
            if new_type == variant["InstanceType"]:
                continue
            endpoint = next(iter(live.of_type("AWS::SageMaker::Endpoint").values()))
            resource = (
                f"endpoint/{endpoint.properties['EndpointName']}/variant/{variant['VariantName']}"
            )
            targets = clients("application-autoscaling").describe_scalable_targets(
                ServiceNamespace="sagemaker", ResourceIds=[resource]
            )["ScalableTargets"]
            if targets:
                raise StageError(
                    f"stack {live.name}: UpdateEndpoint fails: the instance type of {resource} "
                    f"changes ({variant['InstanceType']} -> {new_type}) while it is registered "
                    "with Application Auto Scaling (endpoint-scaling-update); the update is "
                    "rolled back"
                )


@dataclass
class StageReport:
    name: str
    outcome: str = "running"  # ok | failed
    seconds: float = 0.0
    resources: list[str] = field(default_factory=list)
    detail: list[str] = field(default_factory=list)


@dataclass
class Twin:
    root: Path  # the project
    work: Path  # .twin/
    settings: Settings
    emulator: Emulator
    log: Callable[[str], None]
    reports: list[StageReport] = field(default_factory=list)
    stack: Stack | None = None
    bus: Bus | None = None
    runner: Runner | None = None
    runtime: Runtime | None = None
    runs: dict[str, PipelineRun] = field(default_factory=dict)
    deployed: dict[str, Stack] = field(default_factory=dict)  # the stage stacks, by name
    deployed_inputs: dict[str, str] = field(default_factory=dict)  # their template + parameters
    stage_clients: dict[str, Callable[[str], Any]] = field(default_factory=dict)  # their accounts
    seen_executions: set[str] = field(default_factory=set)
    passed: PassedTests | None = None  # test runs the builds may reuse (twin.reuse); None: none
    ran: list[Execution] = field(default_factory=list)
    # GitHub Actions / GitLab CI projects: (endpoint, body) of each request the rules sent an API
    # destination (twin.ci_jobs reads them; nothing leaves the machine).
    dispatched: list[tuple[str, str]] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)

    # -- plumbing ---------------------------------------------------------------------------------------

    def env(self) -> dict[str, str]:
        env = self.emulator.environment()
        env.update(
            TWIN_STATE=str(self.work),
            CDK=f"{sys.executable} -m project_infra.twin.cdk",
            REPOSITORY_OWNER=REPOSITORY_OWNER,
            CODECONNECTION_ARN=CODECONNECTION_ARN.format(region=self.emulator.region),
            TWIN_DOCKER_STORE=str(self.work / "docker.json"),
            TWIN_SHIM_LOG=str(self.work / "shims.jsonl"),
        )
        if self.settings.ci.external:
            # The README's first run stores the approval trigger's token and passes the project id.
            env.update(
                GITHUB_TOKEN="twin-token", GITLAB_TOKEN="twin-token", GITLAB_PROJECT_ID="4242"
            )
        if self.settings.network is not None or self.settings.endpoint_networks:
            env["NETWORK_CHECK"] = f"{sys.executable} -m project_infra.twin.network_check"
        if self.settings.account_layout == "multi":
            env.update(
                AWS_CONFIG_FILE=str(self._profiles()),
                STAGING_PROFILE="staging",
                PROD_PROFILE="prod",
            )
        return env

    def _profiles(self) -> Path:
        """AWS CLI profiles of the staging and prod accounts: a role there, assumed with the
        tooling account's credentials (how an administrator of an organization often works)."""
        path = self.work / "aws-config"
        lines = []
        for stage, account in (
            ("staging", self.settings.staging_account),
            ("prod", self.settings.prod_account),
        ):
            lines += [
                f"[profile {stage}]",
                f"role_arn = arn:aws:iam::{account}:role/OrganizationAccountAccessRole",
                "credential_source = Environment",
                f"region = {self.emulator.region}",
                "",
            ]
        path.write_text("\n".join(lines), encoding="utf-8")
        return path

    def coverage(self) -> list[tuple[str, str, str]]:
        """What emulates what, over the CI/CD stack and every stage stack deployed."""
        stacks = [self.stack, *self.deployed.values()] if self.stack else []
        rows = {row for stack in stacks for row in stack.coverage()}
        if self.settings.ci.external:
            rows.add((f"{self.settings.ci.system} jobs", "NONE", CI_NOT_RUN))
        return sorted(rows)

    def schedule_input(self, parameter: str) -> str:
        """The Input of the Scheduler schedule that passes ``parameter`` (as deployed)."""
        assert self.stack is not None
        for res in self.stack.of_type("AWS::Scheduler::Schedule").values():
            text = res.properties["Target"].get("Input", "")
            if f'"{parameter}"' in text:
                return str(text)
        raise StageError(f"no Scheduler schedule of the CI/CD stack passes {parameter}")

    def schedule_target(self, pipeline: str) -> str:
        """The Scheduler schedule (logical id) whose target is SageMaker pipeline ``pipeline``."""
        assert self.stack is not None
        for logical_id, res in self.stack.of_type("AWS::Scheduler::Schedule").items():
            # SageMaker writes the name lowercased into the pipeline's ARN (project_infra.arns).
            if str(res.properties["Target"]["Arn"]).endswith(f":pipeline/{pipeline.lower()}"):
                return logical_id
        raise StageError(f"no Scheduler schedule of the CI/CD stack targets pipeline {pipeline}")

    def subscribe_queue(self, topic_arn: str) -> str:
        """An SQS queue subscribed to ``topic_arn`` (raw delivery): what the topic sends, observed."""
        sqs = self.clients("sqs")
        url = sqs.create_queue(QueueName=f"twin-inbox-{len(self.reports)}")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        self.clients("sns").subscribe(
            TopicArn=topic_arn,
            Protocol="sqs",
            Endpoint=queue_arn,
            Attributes={"RawMessageDelivery": "true"},
        )
        return str(url)

    def drain(self, queue_url: str) -> list[str]:
        """The messages waiting in ``queue_url``, removed from it."""
        sqs = self.clients("sqs")
        found: list[str] = []
        while True:
            messages = sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not messages:
                return found
            for message in messages:
                found.append(message["Body"])
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])

    def names(self) -> Names:
        """The resource names of the deployed CI/CD stack (its SageMakerProjectId)."""
        assert self.stack is not None
        return self.settings.names(self.stack.parameters[PROJECT_ID])

    def clients(self, service: str) -> Any:
        return self.emulator.client(service)

    def stage(self, name: str, body: Callable[[StageReport], None]) -> None:
        report = StageReport(name)
        self.reports.append(report)
        self.log(f"[{time.perf_counter() - self.started:6.1f}s] == {name}")
        began = time.perf_counter()
        try:
            body(report)
        except (StageError, ProvisionError) as error:
            report.outcome, report.seconds = "failed", time.perf_counter() - began
            report.detail.append(str(error))
            raise StageError(f"stage '{name}': {error}") from None
        report.outcome, report.seconds = "ok", time.perf_counter() - began
        self.log(f"[{time.perf_counter() - self.started:6.1f}s]    ok ({report.seconds:.1f}s)")

    def output(self, key: str) -> str:
        assert self.stack is not None
        if key not in self.stack.outputs:
            raise StageError(f"the CI/CD stack has no output {key!r}")
        return self.stack.outputs[key]

    # -- stages -----------------------------------------------------------------------------------------

    def first_run(self, report: StageReport) -> None:
        """The project README's first-run commands, executed as written."""
        for command in readme_commands(self.root / "README.md"):
            report.detail.append(f"$ {command}")
            self.log(f"  $ {command}")
            done = subprocess.run(
                ["bash", "-c", command],
                check=False,
                cwd=self.root,
                env=self.env(),
                capture_output=True,
                text=True,
            )
            (self.work / "first-run.log").open("a").write(done.stdout + done.stderr)
            if done.returncode != 0:
                raise StageError(f"README command `{command}` failed: {_last_error(done)}")
        stacks = sorted((self.work / "stacks").glob("*.json"))
        if not stacks:
            raise StageError(
                "the README's first-run steps deployed no CI/CD stack (make deploy-infra)"
            )
        self.stack = Stack.from_dict(json.loads(stacks[0].read_text(encoding="utf-8")))
        report.resources = [f"{r.type} {r.physical_id}" for r in self.stack.resources.values()]
        rules = {
            logical: res.properties
            for logical, res in self.stack.of_type("AWS::Events::Rule").items()
        }
        self.bus = Bus(rules, self.clients("events"), sqs=self.clients("sqs"))
        self.runtime = Runtime(self.clients, self.work, self.log)
        self.runner = Runner(
            self.stack,
            self.work / "repo",
            self.work / "pipelines",
            Handlers(self._deploy_stage, self._approve, self._action_environment),
            self.log,
            passed=self.passed,
        )

    def push(self, message: str, changed: list[str] | None = None) -> list[str]:
        """Commit the project's files to the twin's repository; return the changed paths."""
        repo = self.work / "repo"
        if not (repo / ".git").is_dir():
            repo.mkdir(parents=True, exist_ok=True)
            _git(repo, "init", "-q", "-b", "main")
            _git(repo, "config", "user.email", "twin@localhost")
            _git(repo, "config", "user.name", "cloud twin")
        if changed is None:
            _copy_project(self.root, repo)
        _git(repo, "add", "-A")
        _git(repo, "commit", "-q", "--allow-empty", "-m", message)
        listed = _git(repo, "show", "--name-only", "--format=", "HEAD")
        return [line for line in listed.splitlines() if line]

    def start_pipelines_on_create(self, report: StageReport) -> None:
        """CodePipeline starts every new pipeline once; the build one must succeed."""
        assert self.runner is not None
        self.push("initial commit")
        build = self.output("BuildPipelineName")
        run = self._run_pipeline(build, "pipeline created", report)
        if run.status != "Succeeded":
            raise StageError(run.failure)

    def sagemaker_runs(self, report: StageReport, expect: str = "") -> list[Execution]:
        """Run every execution the emulator holds that has not run yet."""
        ran = []
        for arn in executions(self.clients):
            if arn in self.seen_executions:
                continue
            self.seen_executions.add(arn)
            self.log(f"  SageMaker execution {arn.split(':pipeline/')[1]}")
            execution = run_execution(
                self.clients,
                arn,
                self.work / "sagemaker",
                region=self.emulator.region,
                account=TOOLING_ACCOUNT,
                env=self.emulator.environment(),
                log=lambda line: self.log(f"    {line}"),
            )
            report.resources.append(f"SageMaker pipeline execution {arn}")
            report.detail.append(
                f"{execution.pipeline}: {execution.status} {execution.failure}".strip()
            )
            ran.append(execution)
            self.ran.append(execution)
            self._publish_statuses(execution)
            self.check_job_protection(execution, report)
            self.check_tracking(execution, report)
        if expect and not any(e.pipeline == expect for e in ran):
            raise StageError(f"no execution of SageMaker pipeline {expect!r} was started")
        for execution in ran:
            if execution.pipeline == expect and execution.status != "Succeeded":
                raise StageError(
                    f"SageMaker pipeline {expect}: {execution.failure or execution.status}"
                )
        return ran

    def check_tracking(self, execution: Execution, report: StageReport) -> None:
        """With tracking, the run the Track step published (and LinkRun tagged) is in the store
        standing in for the MLflow App (twin/sagemaker.py)."""
        try:
            detail = tracked_run(execution)
        except ValueError as error:
            raise StageError(f"SageMaker pipeline {execution.pipeline}: {error}") from None
        if detail:
            report.detail.append(detail)

    def check_job_protection(self, execution: Execution, report: StageReport) -> None:
        """Every job of the run carries the stack's KMS key (volume, output), its step's network
        isolation and, when the stack has the jobs' VPC (large), its subnets and security group
        (twin/protection.py)."""
        if not execution.jobs:
            return
        assert self.stack is not None
        (key,) = self.stack.of_type("AWS::KMS::Key").values()
        network = self._jobs_network()
        wrong = protection.problems(execution.jobs, key.physical_id, network)
        if wrong:
            raise StageError(f"SageMaker pipeline {execution.pipeline}: " + "; ".join(wrong))
        report.detail.append(protection.summary(execution.pipeline, execution.jobs, network))

    def _jobs_network(self) -> protection.Network | None:
        """The jobs' VPC: project.toml [network] (the stack creates none), else the stack's own."""
        assert self.stack is not None
        given = self.settings.network
        if given is not None:
            return protection.Network(
                frozenset(given.subnet_ids), frozenset(given.security_group_ids)
            )
        return protection.stack_network(
            {k: (r.type, r.physical_id) for k, r in self.stack.resources.items()}
        )

    def _publish_statuses(self, execution: Execution) -> None:
        """The events SageMaker sends as a run ends: each step's final status (a failed one with its
        reason), then the execution's."""
        if execution.status not in ("Succeeded", "Failed"):
            return
        pipeline_arn = execution.arn.split("/execution/")[0]
        for step, status in execution.steps.items():
            self.publish(
                samples.pipeline_step_status_change(
                    pipeline_arn,
                    execution.arn,
                    step,
                    status,
                    step_type=execution.step_types.get(step, "Processing"),
                    failure_reason=execution.failure if status == "Failed" else None,
                )
            )
        self.publish(
            samples.pipeline_execution_status_change(pipeline_arn, execution.arn, execution.status)
        )

    def approve(self, report: StageReport) -> None:
        group = self.output("ModelPackageGroupName")
        done = subprocess.run(
            [
                str(Path(sys.executable).parent / "approve"),
                "--cloud",
                "--model-package-group",
                group,
            ],
            check=False,
            env=self.env(),
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise StageError(
                f"approve --cloud: {(done.stderr or done.stdout).strip().splitlines()[-1]}"
            )
        arn = done.stdout.split(":", maxsplit=0)[0].rsplit(": ", 1)[0].strip()
        package = self.clients("sagemaker").describe_model_package(ModelPackageName=arn)
        report.resources.append(arn)
        event = samples.model_package_state_change(
            group=group,
            version=int(package.get("ModelPackageVersion", arn.rsplit("/", 1)[-1])),
            status=package["ModelApprovalStatus"],
            arn=arn,
            region=self.emulator.region,
            account=TOOLING_ACCOUNT,
        )
        started = self.publish(event)
        deploy = self.output("DeployPipelineName")
        if deploy not in started:
            raise StageError(
                f"the approval event started no deploy pipeline {deploy!r} (rules matched: "
                f"{', '.join(sorted(started)) or 'none'})"
            )
        run = self.runs[deploy]
        report.detail.append(f"{deploy}: {run.status}")
        if run.status != "Succeeded":
            raise StageError(run.failure)
        tests = run.reports.get(ENDPOINT_TESTS_REPORT)
        if not tests:
            raise StageError(
                f"{deploy}: no {ENDPOINT_TESTS_REPORT} report (the buildspec's reports)"
            )
        try:
            report.detail.append(endpoint_report.scores_checked(tests[0]))
        except endpoint_report.ReportError as error:
            raise StageError(str(error)) from None

    # -- events and their targets -----------------------------------------------------------------------

    def publish(self, event: dict[str, Any]) -> list[str]:
        """Route ``event`` through the synthesized rules; run what their targets start. Returns the
        names of the CodePipeline and SageMaker pipelines started."""
        assert self.bus is not None
        started = []
        deliveries = self.bus.put(event)
        self.log(f"  event {event['detail-type']}: {len(deliveries)} target(s)")
        for delivery in deliveries:
            started += self._deliver(delivery)
        return started

    def _pipeline_of(self, arn: str) -> str:
        """The pipeline a target ARN names: SageMaker writes the name lowercased into the ARN
        (moto keeps its case and finds a pipeline by its exact name only)."""
        in_arn = arn.split(":pipeline/")[1]
        pages = self.clients("sagemaker").get_paginator("list_pipelines").paginate()
        for page in pages:
            for summary in page["PipelineSummaries"]:
                if summary["PipelineName"].lower() == in_arn.lower():
                    return str(summary["PipelineName"])
        return in_arn

    def _deliver(self, delivery: Delivery) -> list[str]:
        arn = delivery.target.arn
        service = arn.split(":")[2]
        if service == "codepipeline":
            name = arn.rsplit(":", 1)[-1]
            self.runs[name] = self._run_pipeline(name, f"rule {delivery.rule}", None)
            return [name]
        if service == "sagemaker":
            name = self._pipeline_of(arn)
            self.clients("sagemaker").start_pipeline_execution(PipelineName=name)
            self.log(f"  rule {delivery.rule} -> StartPipelineExecution {name}")
            return [name]
        if service == "events" and ":api-destination/" in arn:
            name = arn.split(":api-destination/", 1)[1].split("/", 1)[0]
            assert self.stack is not None
            (destination,) = [
                r
                for r in self.stack.of_type("AWS::Events::ApiDestination").values()
                if r.physical_id == name
            ]
            endpoint = str(destination.properties["InvocationEndpoint"])
            self.dispatched.append((endpoint, delivery.payload))
            self.log(f"  rule {delivery.rule} -> API destination POST {endpoint}")
            return []
        if service == "sns":
            self.clients("sns").publish(TopicArn=arn, Message=delivery.text)
            self.log(f"  rule {delivery.rule} -> SNS {arn.rsplit(':', 1)[-1]}")
            return []
        raise StageError(f"rule {delivery.rule}: target {arn} is not emulated by the twin")

    def _run_pipeline(self, name: str, trigger: str, report: StageReport | None) -> PipelineRun:
        assert self.runner is not None
        run = self.runner.start(name, trigger)
        self.runs[name] = run
        if report is not None:
            report.resources.append(f"CodePipeline {name}: {run.status}")
        return run

    # -- handlers for CodePipeline actions --------------------------------------------------------------

    def _action_environment(self, _action: str) -> dict[str, str]:
        """What a CodeBuild container has besides the project's variables: the emulator's
        endpoints and the role's credentials through the container endpoint."""
        assert self.runtime is not None
        return {
            **self.emulator.container_environment(),
            "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": self.runtime.url,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "SAGEMAKER_TELEMETRY_OPT_OUT": "true",
            "TWIN_DOCKER_STORE": str(self.work / "docker.json"),
            "TWIN_SHIM_LOG": str(self.work / "shims.jsonl"),
        }

    def assume(self, role_arn: str, principal: str) -> Any:
        """A session as ``role_arn`` after checking what IAM would: the role exists in its account
        and its trust policy lets ``principal`` (an account id or a service) assume it."""
        account = role_arn.split(":")[4]
        session = self.emulator.assume(role_arn, "twin-codepipeline")
        name = role_arn.rsplit("/", 1)[-1]
        try:
            role = self.emulator.client("iam", session).get_role(RoleName=name)["Role"]
        except Exception as error:
            raise StageError(
                f"role {role_arn} does not exist in account {account}: {error}"
            ) from None
        if not _trusts(role["AssumeRolePolicyDocument"], principal):
            raise StageError(
                f"role {role_arn} does not trust {principal} (AssumeRolePolicyDocument)"
            )
        return session

    def _deploy_stage(
        self, action: dict[str, Any], config: dict[str, Any], files: dict[str, Path]
    ) -> str:
        """A CloudFormation CREATE_UPDATE action: the stack from the artifacts, into the emulator,
        in the account of the action's role (CodePipeline assumes it) with CloudFormation's role
        checked there."""
        if config.get("ActionMode", "CREATE_UPDATE") != "CREATE_UPDATE":
            raise StageError(f"CloudFormation ActionMode {config['ActionMode']!r} is not emulated")
        template = json.loads(json.dumps(_artifact_file(config["TemplatePath"], files, yaml=True)))
        configuration: dict[str, Any] = {}
        if config.get("TemplateConfiguration"):
            configuration = _artifact_file(config["TemplateConfiguration"], files, yaml=False)
        parameters = dict(configuration.get("Parameters", {}))
        parameters.update(json.loads(config.get("ParameterOverrides", "{}")))
        name = config["StackName"]
        clients, account = self.clients, TOOLING_ACCOUNT
        if action.get("RoleArn"):
            session = self.assume(action["RoleArn"], TOOLING_ACCOUNT)
            account = action["RoleArn"].split(":")[4]

            def clients(service: str) -> Any:
                return self.emulator.client(service, session)

            if config.get("RoleArn"):
                self.assume(config["RoleArn"], "cloudformation.amazonaws.com")
        cloudformation = clients("cloudformation")
        inputs = hashlib.sha256(
            json.dumps([template, parameters], sort_keys=True, default=str).encode()
        ).hexdigest()
        if name in self.deployed and self.deployed_inputs.get(name) == inputs:
            # CodePipeline's CloudFormation action succeeds on "No updates are to be performed".
            return f"stack {name} in account {account}: no changes"
        if name in self.deployed:
            check_endpoint_update(self.deployed[name], parameters, clients)
            # Deployed again: what the twin created goes first (no orphans).
            undeploy(self.deployed[name], clients, DELETERS)
        try:
            cloudformation.describe_stacks(StackName=name)
            cloudformation.delete_stack(StackName=name)  # moto cannot update a split stack
        except Exception:
            pass
        stack = deploy(
            template,
            stack_name=name,
            parameters={k: str(v) for k, v in parameters.items()},
            clients=clients,
            account=account,
            region=self.emulator.region,
            interpreters=INTERPRETERS,
            not_emulated=NOT_EMULATED,
        )
        self.deployed[name] = stack
        self.deployed_inputs[name] = inputs
        self.stage_clients[name] = clients
        endpoint = next(iter(stack.of_type("AWS::SageMaker::Endpoint").values()))
        config_res = next(iter(stack.of_type("AWS::SageMaker::EndpointConfig").values()))
        assert self.runtime is not None
        self.runtime.host(
            endpoint.properties["EndpointName"],
            stack.parameters["ModelPackageArn"],
            config_res.properties,
        )
        return (
            f"stack {name} in account {account}: {len(stack.resources)} resources, "
            f"endpoint {endpoint.properties['EndpointName']}, {self._stage_network(stack, clients)}"
        )

    def _stage_network(self, stack: Stack, clients: Callable[[str], Any]) -> str:
        """The stage's models run in the VPC project.toml [network.<stage>] gives it, else in the
        jobs' VPC (Settings.endpoints_in_job_vpc) or in none: the seam from project.toml and the
        stack through the deploy project's environment and the build's parameters to endpoint.yml's
        VpcConfig, read back from the emulated SageMaker."""
        given = self.settings.endpoint_networks.get(stack.parameters["StageName"])
        jobs = self._jobs_network() if self.settings.endpoints_in_job_vpc else None
        expected: protection.Network | None = jobs
        if given is not None:
            expected = protection.Network(
                frozenset(given.subnet_ids), frozenset(given.security_group_ids)
            )
            where = f"models in {given.vpc_id} ({len(given.subnet_ids)} subnets)"
        elif jobs is not None:
            where = f"models in the jobs' VPC ({len(jobs.subnets)} subnets)"
        else:
            where = "no VPC"
        sagemaker = clients("sagemaker")
        models = {
            resource.physical_id: sagemaker.describe_model(ModelName=resource.physical_id)
            for resource in stack.of_type("AWS::SageMaker::Model").values()
        }  # the twin creates each model by name (interpreters.sagemaker_model)
        wrong = protection.model_network_problems(models, expected)
        if wrong:
            raise StageError(f"stack {stack.name}: " + "; ".join(wrong))
        return where

    def _approve(self, config: dict[str, Any], _pipeline: Resource) -> str:
        topic = config.get("NotificationArn")
        if topic:
            self.clients("sns").publish(
                TopicArn=topic, Message=config.get("CustomData", "approval needed")
            )
        return "approved by the twin as an approver would (PutApprovalResult)"

    def push_image(self, uri: str, report: StageReport) -> str:
        """``docker build`` + ``docker push`` of the project's image as a person would; its digest."""
        env = self.env()
        env["PATH"] = f"{Path(__file__).parent / 'shims'}:{env['PATH']}"
        env["TWIN_PYTHON"] = sys.executable
        registry = uri.split("/", 1)[0]
        region = self.emulator.region
        for command in (
            f"aws ecr get-login-password --region {region} | docker login --username AWS "
            f"--password-stdin {registry}",
            f"docker build --tag {uri} --file model-build/container/Dockerfile model-build",
            f"docker push {uri}",
        ):
            done = subprocess.run(
                ["bash", "-o", "pipefail", "-c", command],
                cwd=self.root,
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                raise StageError(f"`{command}`: {_last_error(done)}")
        repository, tag = uri.split("/", 1)[1].rsplit(":", 1)
        images = self.clients("ecr").describe_images(
            repositoryName=repository, imageIds=[{"imageTag": tag}]
        )
        digest = images["imageDetails"][0]["imageDigest"]
        report.resources.append(f"ECR {repository}:{tag} {digest}")
        return str(digest)

    # -- traffic ----------------------------------------------------------------------------------------

    def traffic(
        self, report: StageReport, requests: list[tuple[str, str]], endpoint: str
    ) -> list[str]:
        """Send ``(content type, body)`` requests through the runtime; the capture objects written."""
        assert self.runtime is not None
        client = self.emulator.session().client("sagemaker-runtime", endpoint_url=self.runtime.url)
        for content_type, body in requests:
            try:
                client.invoke_endpoint(
                    EndpointName=endpoint, ContentType=content_type, Body=body.encode()
                )
            except ClientError as error:
                raise StageError(f"InvokeEndpoint {endpoint} ({content_type}): {error}") from None
        keys = self.runtime.flush_all()
        report.detail.append(
            f"{len(requests)} requests to {endpoint}; capture: {', '.join(keys) or 'none'}"
        )
        return keys


def readme_commands(readme: Path) -> list[str]:
    """The commands of the first ```bash block under the first-run heading (comments dropped)."""
    text = readme.read_text(encoding="utf-8")
    start = text.find(FIRST_RUN_HEADING)
    if start < 0:
        raise StageError(f"{readme.name} has no '{FIRST_RUN_HEADING}' section")
    block = re.search(r"```bash\n(.*?)```", text[start:], re.S)
    if block is None:
        raise StageError(f"{readme.name}: the '{FIRST_RUN_HEADING}' section has no ```bash block")
    commands = []
    for line in block.group(1).splitlines():
        command = line.split(" #", 1)[0].strip()
        if command and not command.startswith("#"):
            commands.append(command)
    return commands


def _trusts(document: dict[str, Any] | str, principal: str) -> bool:
    """Whether a trust policy allows sts:AssumeRole to ``principal`` (an account id: its root or
    any of its roles; or a service principal)."""
    if isinstance(document, str):
        document = json.loads(urllib.parse.unquote(document))
    for statement in document.get("Statement", []):
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if statement.get("Effect") != "Allow" or "sts:AssumeRole" not in actions:
            continue
        for values in statement.get("Principal", {}).values():
            for value in [values] if isinstance(values, str) else values:
                # An account is trusted through its root or one of its roles (CodePipeline assumes
                # an action role with the pipeline's role).
                if value == principal or value.startswith(f"arn:aws:iam::{principal}:"):
                    return True
    return False


def _last_error(done: subprocess.CompletedProcess[str]) -> str:
    """The last line a failed command wrote to stderr that is not make's own epilogue."""
    for stream in (done.stderr, done.stdout):
        lines = [
            x
            for x in stream.splitlines()
            if x.strip() and not re.match(r"make(\[\d+\])?: (\*\*\*|Entering|Leaving)", x)
        ]
        if lines:
            return lines[-1].strip()
    return f"exit code {done.returncode}"


def _artifact_file(reference: str, files: dict[str, Path], *, yaml: bool) -> Any:
    artifact, _, path = reference.partition("::")
    if artifact not in files:
        raise StageError(f"{reference}: artifact {artifact!r} is not an input of the action")
    file = files[artifact] / path
    if not file.is_file():
        raise StageError(f"{reference}: no file {path!r} in artifact {artifact}")
    text = file.read_text(encoding="utf-8")
    if yaml:
        from cfnlint.decode import decode_str  # noqa: PLC0415 - CloudFormation's YAML tags

        template, errors = decode_str(text)
        if errors or template is None:
            raise StageError(
                f"{reference}: not a readable template ({errors[0] if errors else 'empty'})"
            )
        return json.loads(json.dumps(template, default=str))
    return json.loads(text)


def _copy_project(root: Path, repo: Path) -> None:
    for item in repo.iterdir():
        if item.name != ".git":
            shutil.rmtree(item) if item.is_dir() else item.unlink()
    ignore = shutil.ignore_patterns(
        *(p.replace("**/", "") for p in SEED_EXCLUDES), ".twin", ".local"
    )
    for item in root.iterdir():
        if item.name in (".git", ".venv", ".venv-scan", ".twin", ".local"):
            continue
        target = repo / item.name
        shutil.copytree(item, target, ignore=ignore) if item.is_dir() else shutil.copy2(
            item, target
        )


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def sample_rows(root: Path, count: int) -> list[tuple[str, str]]:
    """``count`` feature rows of the bundled data (as the model's schema reads them), as CSV requests."""
    features = read_raw(root / "model-build" / "data" / "raw", SCHEMA).data.features[:count]
    names = SCHEMA.feature_names
    return [
        ("text/csv", ",".join("" if v is None else str(v) for v in row))
        for row in request_values(features, names, SCHEMA.categories())
    ]


def load(root: Path) -> Settings:
    return load_settings(root / "project.toml")
