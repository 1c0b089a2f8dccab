"""The stack's CloudFormation parameters: the two SageMaker Projects passes, plus the source and
the schedules (retraining, batch inference, drift monitoring), each with a working default."""

from __future__ import annotations

from dataclasses import dataclass, field

from aws_cdk import CfnParameter, Stack

from project_infra.settings import Settings
from project_names import Names

# The names Studio gives (CreateProject's ProjectName: botocore sagemaker service-2.json, shape
# ProjectEntityName, 1-32 characters; https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateProject.html).
# Upper case is fine: every name AWS wants in lower case comes from project_name.ProjectName.
PROJECT_NAME_PATTERN = "^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}$"
PROJECT_ID_PATTERN = "^[a-z0-9](-*[a-z0-9]){0,19}$"
CONNECTION_ARN_PATTERN = (
    "^arn:aws[a-z-]*:(codeconnections|codestar-connections):[a-z0-9-]+:[0-9]{12}:"
    "connection/[0-9a-f-]{36}$"
)
PROJECT_NAME = "SageMakerProjectName"  # the two parameters SageMaker Projects passes
PROJECT_ID = "SageMakerProjectId"
HAND_DEPLOY_PROJECT_ID = "manual"  # the id of a project deployed with `cdk deploy`, not from Studio
DEFAULT_SCHEDULE = "cron(0 3 ? * MON *)"  # weekly retraining, Monday 03:00 UTC
# Daily, just after midnight UTC: the monitoring window (WindowHours, default 24) ends at the
# scheduled time, so each run covers the previous day once the capture files of its last hour land.
DEFAULT_MONITORING_SCHEDULE = "cron(15 0 * * ? *)"
DEFAULT_BATCH_SCHEDULE = "cron(0 2 * * ? *)"  # daily 02:00 UTC, after the monitoring run
SCHEDULE_PATTERN = r"^(cron|rate)\(.+\)$"
SCHEDULE_STATES = ["ENABLED", "DISABLED"]


@dataclass(frozen=True)
class StackNames(Names):
    """Names built from the parameter values, which are tokens until deploy time: nothing may
    transform them (``str.lower()`` on a token breaks it). ``lowercase_token`` is the lower-case
    project name as the stack computes it (``project_name.ProjectName.lowercase``); for the same
    values these equal :class:`Names` (a test checks it)."""

    lowercase_token: str = field(default="", kw_only=True)

    def __post_init__(self) -> None:
        if not self.lowercase_token:
            raise ValueError(
                f"StackNames({self.slug!r}) needs lowercase_token: the lower-case project name "
                "from project_name.ProjectName (a token cannot be lowercased in Python)"
            )

    @property
    def lowercase(self) -> str:
        return self.lowercase_token


@dataclass(frozen=True)
class Parameters:
    """Parameter values as tokens (strings that resolve to ``Ref``s at synth time)."""

    project_name: str
    project_id: str
    branch: str
    retrain_schedule: str
    batch_schedule: str
    batch_schedule_state: str
    monitoring_schedule: str = ""  # medium and large only
    monitoring_schedule_state: str = ""
    connection_arn: str = ""  # CodeConnections sources only
    repository_owner: str = ""
    repository_name: str = ""
    gitlab_project_id: str = ""  # [ci] system gitlab-ci: the approval trigger's API path


def declare(stack: Stack, settings: Settings) -> Parameters:
    """Add the parameters to ``stack`` (the names SageMaker Projects expects come first)."""

    def parameter(name: str, description: str, **props: object) -> str:
        return CfnParameter(
            stack, name, type="String", description=description, **props
        ).value_as_string

    project_name = parameter(
        PROJECT_NAME,
        "Name of the SageMaker project (letters, digits, hyphens; up to 32 characters).",
        default=settings.slug,
        allowed_pattern=PROJECT_NAME_PATTERN,
        constraint_description="letters (either case), digits and single hyphens between them; "
        "starts and ends with a letter or digit; 1-32 characters",
    )
    project_id = parameter(
        PROJECT_ID,
        "Id of the SageMaker project (Studio sets p-xxxxxxxxxxxx; hand deploys use 'manual').",
        default=HAND_DEPLOY_PROJECT_ID,
        allowed_pattern=PROJECT_ID_PATTERN,
        constraint_description="lowercase letters, digits and hyphens; 1-20 characters",
    )
    branch = parameter("BranchName", "Branch the pipelines build.", default="main", min_length=1)
    schedules = {
        "retrain_schedule": parameter(
            "RetrainingSchedule",
            "EventBridge Scheduler expression of the retraining run (cron(...) or rate(...)).",
            default=DEFAULT_SCHEDULE,
            allowed_pattern=SCHEDULE_PATTERN,
        ),
        "batch_schedule": parameter(
            "BatchInferenceSchedule",
            "EventBridge Scheduler expression of the batch inference run (cron(...) or rate(...)).",
            default=DEFAULT_BATCH_SCHEDULE,
            allowed_pattern=SCHEDULE_PATTERN,
        ),
        "batch_schedule_state": parameter(
            "BatchInferenceScheduleState",
            "TODO: ENABLED once batch input files arrive under "
            "s3://<artifact bucket>/<project>-<id>/batch/input/ (until then every run fails).",
            default="DISABLED",
            allowed_values=SCHEDULE_STATES,
        ),
    }
    if settings.monitored:
        schedules["monitoring_schedule"] = parameter(
            "MonitoringSchedule",
            "EventBridge Scheduler expression of the drift monitoring run; each run checks the "
            "WindowHours (default 24) before its scheduled time.",
            default=DEFAULT_MONITORING_SCHEDULE,
            allowed_pattern=SCHEDULE_PATTERN,
        )
        schedules["monitoring_schedule_state"] = parameter(
            "MonitoringScheduleState",
            "DISABLED pauses drift monitoring (runs fail while the prod endpoint has no traffic).",
            default="ENABLED",
            allowed_values=SCHEDULE_STATES,
        )
    if settings.git_provider == "codecommit":
        return Parameters(project_name, project_id, branch, **schedules)
    # GitHub Actions / GitLab CI fetch the code themselves: no connection (external_ci.py).
    connection_arn = ""
    if not settings.ci.external:
        connection_props: dict[str, object] = {"allowed_pattern": CONNECTION_ARN_PATTERN}
        if settings.codeconnection_arn:
            connection_props["default"] = settings.codeconnection_arn
        connection_arn = parameter(
            "CodeConnectionArn",
            f"ARN of the AWS CodeConnections connection to {settings.git_provider}.",
            **connection_props,
        )
    repository = {
        "repository_owner": parameter(
            "RepositoryOwner",
            "Owner (user, group or workspace) of the repository.",
            min_length=1,
        ),
        "repository_name": parameter(
            "RepositoryName",
            "Name of the repository that holds this project.",
            default=settings.slug,
        ),
    }
    if settings.ci.system == "gitlab-ci":
        repository["gitlab_project_id"] = parameter(
            "GitLabProjectId",
            "Numeric id of the GitLab project (its settings page shows it): model package "
            "decisions start its deploy jobs through the pipelines API.",
            allowed_pattern="^[0-9]{1,19}$",
            constraint_description="the project's numeric id",
        )
    return Parameters(
        project_name, project_id, branch, **schedules, **repository, connection_arn=connection_arn
    )
