"""CodePipeline executions as AWS runs them, read from the synthesized pipeline's properties: stages
in order, actions by run order, artifacts passed by name, action variables by namespace, and the
V2 triggers' branch and file-path filters."""

from __future__ import annotations

import fnmatch
import json
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from project_infra.twin.codebuild import BuildInput, run_build
from project_infra.twin.provision import Resource, Stack
from project_infra.twin.reuse import PassedTests

VARIABLE = re.compile(r"#\{([A-Za-z0-9@\-_]+)\.([A-Za-z0-9@\-_]+)\}")


class ActionError(RuntimeError):
    """One line: the stage, the action and the first error."""


@dataclass
class ActionResult:
    stage: str
    action: str
    provider: str
    status: str  # Succeeded | Failed
    seconds: float
    detail: str = ""


@dataclass
class PipelineRun:
    pipeline: str
    trigger: str
    status: str = "InProgress"
    actions: list[ActionResult] = field(default_factory=list)
    failure: str = ""
    # "<action>/<report group>" -> the report files its CodeBuild build wrote (JUnit XML, ...)
    reports: dict[str, list[Path]] = field(default_factory=dict)


@dataclass
class Handlers:
    """What the flow supplies for actions that reach beyond CodeBuild."""

    # (action, its configuration with variables filled in, its input artifacts by name)
    cloudformation: Callable[[dict[str, Any], dict[str, Any], dict[str, Path]], str]
    approval: Callable[[dict[str, Any], Resource], str]
    environment: Callable[[str], dict[str, str]]  # action name -> extra variables (the emulator's)


def path_matches(path: str, pattern: str) -> bool:
    """CodePipeline's glob on file paths: ``**`` spans folders, ``*`` stays within one."""
    regex = re.escape(pattern).replace(r"\*\*", "\0").replace(r"\*", "[^/]*").replace("\0", ".*")
    return re.fullmatch(regex, path) is not None


def triggered(pipeline: Resource, branch: str, changed: list[str]) -> bool | None:
    """Whether a push of ``changed`` files to ``branch`` starts ``pipeline`` through its V2 git
    triggers; None when it has no triggers (its source starts it another way)."""
    triggers = pipeline.properties.get("Triggers") or []
    if not triggers:
        return None
    for trigger in triggers:
        for push in trigger.get("GitConfiguration", {}).get("Push", []):
            branches = push.get("Branches", {})
            if branches and not any(
                fnmatch.fnmatch(branch, b) for b in branches.get("Includes", ["*"])
            ):
                continue
            if any(fnmatch.fnmatch(branch, b) for b in branches.get("Excludes", [])):
                continue
            paths = push.get("FilePaths", {})
            includes, excludes = paths.get("Includes", ["**"]), paths.get("Excludes", [])
            for path in changed:
                if any(path_matches(path, p) for p in includes) and not any(
                    path_matches(path, p) for p in excludes
                ):
                    return True
    return False


class Runner:
    def __init__(
        self,
        stack: Stack,
        repo: Path,
        work: Path,
        handlers: Handlers,
        log: Callable[[str], None],
        *,
        passed: PassedTests | None = None,
    ) -> None:
        self.stack = stack
        self.repo = repo
        self.work = work
        self.handlers = handlers
        self.log = log
        self.passed = passed  # test runs the builds may reuse (twin.reuse)
        self.runs = 0
        self.reports: dict[str, list[Path]] = {}  # the running pipeline's (PipelineRun.reports)

    def pipeline(self, name: str) -> Resource:
        for res in self.stack.of_type("AWS::CodePipeline::Pipeline").values():
            if res.physical_id == name:
                return res
        raise ActionError(f"no CodePipeline pipeline named {name!r} in stack {self.stack.name}")

    def project(self, name: str) -> Resource:
        for res in self.stack.of_type("AWS::CodeBuild::Project").values():
            if res.physical_id == name:
                return res
        raise ActionError(f"no CodeBuild project named {name!r} in stack {self.stack.name}")

    def start(self, name: str, trigger: str) -> PipelineRun:
        pipeline = self.pipeline(name)
        self.runs += 1
        run = PipelineRun(name, trigger)
        self.reports = run.reports
        folder = self.work / f"{self.runs:02d}-{name}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        artifacts: dict[str, Path] = {}
        variables: dict[str, dict[str, str]] = {}
        self.log(f"pipeline {name} started ({trigger})")
        for stage in pipeline.properties["Stages"]:
            for action in sorted(stage["Actions"], key=lambda a: a.get("RunOrder", 1)):
                started = time.perf_counter()
                provider = action["ActionTypeId"]["Provider"]
                label = f"{stage['Name']}/{action['Name']}"
                try:
                    detail = self._action(action, folder, artifacts, variables, pipeline)
                except ActionError as error:
                    seconds = time.perf_counter() - started
                    run.actions.append(
                        ActionResult(
                            stage["Name"], action["Name"], provider, "Failed", seconds, str(error)
                        )
                    )
                    run.status = "Failed"
                    run.failure = f"{name}: {label} ({provider}) failed: {error}"
                    self.log(f"  {label} FAILED ({seconds:.1f}s): {error}")
                    return run
                seconds = time.perf_counter() - started
                run.actions.append(
                    ActionResult(
                        stage["Name"], action["Name"], provider, "Succeeded", seconds, detail
                    )
                )
                self.log(
                    f"  {label} ({provider}) ok ({seconds:.1f}s){': ' + detail if detail else ''}"
                )
        run.status = "Succeeded"
        return run

    # -- actions ----------------------------------------------------------------------------------------

    def _action(
        self,
        action: dict[str, Any],
        folder: Path,
        artifacts: dict[str, Path],
        variables: dict[str, dict[str, str]],
        pipeline: Resource,
    ) -> str:
        provider = action["ActionTypeId"]["Provider"]
        config = {
            k: self._substitute(str(v), variables)
            for k, v in action.get("Configuration", {}).items()
        }
        inputs = [i["Name"] for i in action.get("InputArtifacts", [])]
        outputs = [o["Name"] for o in action.get("OutputArtifacts", [])]
        missing = [name for name in inputs if name not in artifacts]
        if missing:
            raise ActionError(
                f"input artifact {missing[0]!r} was not produced by an earlier action"
            )
        namespace = action.get("Namespace")
        if provider in ("CodeStarSourceConnection", "CodeCommit"):
            target = folder / outputs[0]
            commit = self._checkout(
                target, full_clone=config.get("OutputArtifactFormat") == "CODEBUILD_CLONE_REF"
            )
            artifacts[outputs[0]] = target
            if namespace:
                variables[namespace] = {
                    "CommitId": commit,
                    "BranchName": config.get("BranchName", ""),
                }
            self.source_version = commit
            return f"commit {commit[:12]}"
        if provider == "CodeBuild":
            return self._codebuild(
                action,
                config,
                folder,
                artifacts=artifacts,
                variables=variables,
                inputs=inputs,
                outputs=outputs,
            )
        if provider == "CloudFormation":
            files = {name: artifacts[name] for name in inputs}
            return self.handlers.cloudformation(action, config, files)
        if provider == "Manual":
            return self.handlers.approval(config, pipeline)
        raise ActionError(f"action provider {provider!r} is not emulated by the twin")

    def _checkout(self, target: Path, *, full_clone: bool) -> str:
        commit = _git(self.repo, "rev-parse", "HEAD")
        if full_clone:  # CODEBUILD_CLONE_REF: CodeBuild gets a clone with history
            subprocess.run(["git", "clone", "-q", str(self.repo), str(target)], check=True)
        else:  # CODE_ZIP: the files of the commit, no .git
            target.mkdir(parents=True)
            archive = subprocess.run(
                ["git", "-C", str(self.repo), "archive", "HEAD"], check=True, capture_output=True
            )
            subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
        return commit

    def _codebuild(
        self,
        action: dict[str, Any],
        config: dict[str, str],
        folder: Path,
        *,
        artifacts: dict[str, Path],
        variables: dict[str, dict[str, str]],
        inputs: list[str],
        outputs: list[str],
    ) -> str:
        project = self.project(config["ProjectName"])
        env_spec = project.properties["Environment"]
        environment = {v["Name"]: str(v["Value"]) for v in env_spec.get("EnvironmentVariables", [])}
        for item in json.loads(config.get("EnvironmentVariables", "[]")):
            environment[item["name"]] = self._substitute(str(item["value"]), variables)
        environment.update(self.handlers.environment(action["Name"]))
        buildspec = project.properties["Source"].get("BuildSpec", "buildspec.yml")
        result = run_build(
            buildspec,
            [BuildInput(name, artifacts[name]) for name in inputs],
            environment=environment,
            work=folder / f"build-{action['Name']}",
            primary_artifact=outputs[0] if outputs else None,
            source_version=getattr(self, "source_version", ""),
            log=lambda line: self.log(f"    {line}"),
            passed=self.passed,
        )
        if result.status != "SUCCEEDED":
            raise ActionError(f"CodeBuild project {project.physical_id}: {result.error}")
        for name in outputs:
            if name not in result.artifacts:
                raise ActionError(
                    f"output artifact {name!r} is not among the build's artifacts "
                    f"({', '.join(sorted(result.artifacts)) or 'none'})"
                )
            artifacts[name] = result.artifacts[name]
        if action.get("Namespace"):
            variables[action["Namespace"]] = dict(result.exported)
        for group, files in result.reports.items():
            self.reports[f"{action['Name']}/{group}"] = files
        return f"{result.seconds:.1f}s in CodeBuild"

    @staticmethod
    def _substitute(text: str, variables: dict[str, dict[str, str]]) -> str:
        def replace(match: re.Match[str]) -> str:
            namespace, name = match.groups()
            if name not in variables.get(namespace, {}):
                raise ActionError(
                    f"variable #{{{namespace}.{name}}} is not set by an earlier action"
                )
            return variables[namespace][name]

        return VARIABLE.sub(replace, text)


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout.strip()
