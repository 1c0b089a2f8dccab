"""What SageMaker Projects needs of a published template, as checks of the synthesized templates
(the tests run them for every bake; each returns the problems it finds, empty when all is well)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from project_infra.parameters import PROJECT_ID, PROJECT_NAME
from project_infra.synth_checks import Resolver

from service_catalog import launch_role
from service_catalog.permissions import (
    Action,
    PermissionsError,
    arn_format,
    describe,
    handler_actions,
)
from service_catalog.studio import VISIBILITY_TAG

Template = dict[str, Any]


def _of_type(template: Template, kind: str) -> dict[str, Template]:
    return {k: r for k, r in template.get("Resources", {}).items() if r["Type"] == kind}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _visible(resource: Template) -> bool:
    tags = resource.get("Properties", {}).get("Tags", [])
    return {"Key": VISIBILITY_TAG[0], "Value": VISIBILITY_TAG[1]} in tags


def product_problems(product: Template) -> list[str]:
    """The product template: the two parameters Studio passes, and nothing Service Catalog or the
    S3 route cannot resolve (CDK bootstrap parameters or buckets, other stacks' exports)."""
    problems = []
    parameters = product.get("Parameters", {})
    for name in (PROJECT_NAME, PROJECT_ID):
        if parameters.get(name, {}).get("Type") != "String":
            problems.append(f"parameter {name} (String) missing")
    if "BootstrapVersion" in parameters or "Rules" in product:
        problems.append("depends on the CDK bootstrap version")
    text = json.dumps(product)
    if "cdk-hnb659fds" in text:
        problems.append("references the CDK bootstrap bucket")
    if "Fn::ImportValue" in text:
        problems.append("imports another stack's export")
    return problems


def catalog_problems(catalog: Template) -> list[str]:
    """The catalog stack: one portfolio and one product, both Studio-visible, the product in the
    portfolio, a launch-role constraint on the pair, and a principal association."""
    problems = []
    portfolios = _of_type(catalog, "AWS::ServiceCatalog::Portfolio")
    products = _of_type(catalog, "AWS::ServiceCatalog::CloudFormationProduct")
    if len(portfolios) != 1 or len(products) != 1:
        return [f"expected one portfolio and one product, found {len(portfolios)}, {len(products)}"]
    ((portfolio_id, portfolio),) = portfolios.items()
    ((product_id, product),) = products.items()
    for name, resource in (("portfolio", portfolio), ("product", product)):
        if not _visible(resource):
            problems.append(f"{name} lacks the tag {VISIBILITY_TAG[0]}={VISIBILITY_TAG[1]}")
    pair = {"PortfolioId": {"Ref": portfolio_id}, "ProductId": {"Ref": product_id}}

    def linked(kind: str) -> list[Template]:
        return [
            r
            for r in _of_type(catalog, kind).values()
            if all(r["Properties"].get(k) == v for k, v in pair.items())
        ]

    if len(linked("AWS::ServiceCatalog::PortfolioProductAssociation")) != 1:
        problems.append("the product is not in the portfolio")
    constraints = linked("AWS::ServiceCatalog::LaunchRoleConstraint")
    if len(constraints) != 1:
        problems.append("no launch-role constraint on the product in the portfolio")
    elif not {"LocalRoleName", "RoleArn"} & set(constraints[0]["Properties"]):
        problems.append("the launch-role constraint names no role")
    principals = [
        r
        for r in _of_type(catalog, "AWS::ServiceCatalog::PortfolioPrincipalAssociation").values()
        if r["Properties"].get("PortfolioId") == {"Ref": portfolio_id}
    ]
    if not principals:
        problems.append("no principal may use the portfolio")
    return problems


def _statements(catalog: Template, region: str) -> list[Template] | None:
    """The launch role's policy statements (resolved), or None when the catalog has no own role."""
    constraints = _of_type(catalog, "AWS::ServiceCatalog::LaunchRoleConstraint").values()
    roles = [
        branch["Ref"]
        for constraint in constraints
        for branch in constraint["Properties"]
        .get("LocalRoleName", {})
        .get("Fn::If", [None, {}])[1:2]
        if isinstance(branch, dict) and "Ref" in branch
    ]
    if len(roles) != 1:
        return None
    resolver = Resolver(catalog, region)
    return [
        resolver.resolve(statement)
        for policy in _of_type(catalog, "AWS::IAM::Policy").values()
        if {"Ref": roles[0]} in policy["Properties"].get("Roles", [])
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def _arn_pattern(action: Action) -> re.Pattern[str]:
    """IAM's ARN formats of the action's resource types, as one regex (placeholders: anything)."""
    formats = [arn_format(action.service, r) for r in action.resource_types]
    return re.compile(
        "|".join(".*".join(map(re.escape, re.split(r"\$\{\w+\}", f))) for f in formats)
    )


def _trusted_services(product: Template) -> set[str]:
    return {
        service
        for role in _of_type(product, "AWS::IAM::Role").values()
        for s in role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        for service in _as_list(s.get("Principal", {}).get("Service", []))
    }


def _scopable(action: Action) -> bool:
    return bool(action.resource_types) and action.name not in launch_role.CALLED_WITHOUT_RESOURCE


def _coverage(resource_type: str, statements: list[Template], dropped: set[str]) -> list[str]:
    """Each action the type's handlers call is granted, on ARNs of its IAM resource types."""
    problems = []
    for name in sorted(handler_actions(resource_type) - dropped):
        action = describe(name)
        if action is None:
            continue
        granting = [s for s in statements if name in _as_list(s.get("Action", []))]
        if not granting:
            problems.append(f"{resource_type}: the launch role may not {name}")
            continue
        # A conditioned grant on * (Service Catalog's artifacts) does not scope the action.
        resources = {
            r for s in granting if "Condition" not in s for r in _as_list(s["Resource"])
        } or {r for s in granting for r in _as_list(s["Resource"])}
        if not _scopable(action):
            continue
        if "*" in resources:
            problems.append(f"{resource_type}: {name} on * though IAM can scope it")
        pattern = _arn_pattern(action)
        problems += [
            f"{name}: {arn} is not an ARN of {', '.join(action.resource_types)}"
            for arn in sorted(resources - {"*"})
            if not pattern.fullmatch(arn)
        ]
    return problems


def _shape_problems(statements: list[Template]) -> list[str]:
    """No wildcard actions; ``*`` without a condition only for actions IAM cannot scope."""
    problems = []
    for statement in statements:
        actions = _as_list(statement.get("Action", []))
        problems += [f"wildcard action {a}" for a in actions if "*" in a]
        if "*" in _as_list(statement["Resource"]) and "Condition" not in statement:
            for name in actions:
                action = describe(name)
                if action is not None and _scopable(action):
                    problems.append(f"{name} on * though IAM can scope it")
    return problems


# Resources the launch role may create only under the name CloudFormation generates from the stack
# name (SC-/SP-), or, for the others, with the prefix its scope allows (launch_role.scopes()).
GENERATED_NAMES = {
    "AWS::IAM::Role": "RoleName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::Events::Rule": "Name",
    "AWS::Lambda::Function": "FunctionName",
}
NAME_PREFIXES = {
    "AWS::ECR::Repository": ("RepositoryName", "sagemaker-"),
    "AWS::CodeCommit::Repository": ("RepositoryName", "sagemaker-"),
}


def _leading_text(value: Any) -> str:
    """The literal start of a name (a string, or the first part of an Fn::Join)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        _, parts = value["Fn::Join"]
        return parts[0] if parts and isinstance(parts[0], str) else ""
    return ""


def _name_problems(product: Template) -> list[str]:
    """Names the launch role's scopes assume: generated where scoped by stack name, the scope's
    prefix for ECR and CodeCommit, the default schedule group."""
    problems = []
    for key, resource in product.get("Resources", {}).items():
        kind, properties = resource["Type"], resource.get("Properties", {})
        if GENERATED_NAMES.get(kind) in properties:
            problems.append(
                f"{key} ({kind}) sets {GENERATED_NAMES[kind]}: the launch role creates these only "
                "under the names CloudFormation generates (SC-/SP-)"
            )
        if kind in NAME_PREFIXES:
            name_property, prefix = NAME_PREFIXES[kind]
            if not _leading_text(properties.get(name_property)).startswith(prefix):
                problems.append(f"{key} ({kind}): {name_property} must start with {prefix}")
        if (
            kind == "AWS::Scheduler::Schedule"
            and properties.get("GroupName", "default") != "default"
        ):
            problems.append(f"{key}: the launch role creates schedules in the default group only")
    return problems


def launch_role_problems(product: Template, catalog: Template, region: str) -> list[str]:
    """The launch role can create, update and delete everything in the product template: every
    action each resource type's CloudFormation handlers call is allowed (or dropped by
    ``launch_role`` with its reason), on ARNs of the right shape, ``*`` only for actions IAM cannot
    scope, no wildcard actions, PassRole to every service the product's roles trust, and resource
    names inside the scopes."""
    statements = _statements(catalog, region)
    if statements is None:
        return ["the launch-role constraint does not name the catalog's own launch role"]
    types = {r["Type"] for r in product.get("Resources", {}).values()}
    trusted = _trusted_services(product)
    try:
        grants = launch_role.derive(
            types,
            asset_bucket="",
            passed_to_services=trusted,
            takes_connection=launch_role.CONNECTION_PARAMETER in product.get("Parameters", {}),
        )
    except PermissionsError as error:
        return [str(error)]
    dropped = set(grants.dropped)
    problems = _shape_problems(statements) + _name_problems(product)
    for resource_type in sorted(types):
        problems += _coverage(resource_type, statements, dropped)
    allowed = {
        service
        for s in statements
        if "iam:PassRole" in _as_list(s.get("Action", []))
        for service in _as_list(
            s.get("Condition", {}).get("StringEquals", {}).get("iam:PassedToService", [])
        )
    }
    if trusted - allowed:
        problems.append(f"iam:PassRole lacks services {sorted(trusted - allowed)}")
    return problems


def policy_size(catalog: Template, region: str) -> int:
    """Characters of the launch role's inline policy without whitespace (IAM's quota: 10,240)."""
    statements = _statements(catalog, region) or []
    return len(
        json.dumps({"Version": "2012-10-17", "Statement": statements}, separators=(",", ":"))
    )


# Where the product template names things, and the API parameter (botocore's service model) whose
# pattern and length the name must satisfy: (resource type, property) -> (service, operation, member).
NAMED: dict[tuple[str, str], tuple[str, str, str]] = {
    ("AWS::ECR::Repository", "RepositoryName"): ("ecr", "CreateRepository", "repositoryName"),
    ("AWS::SageMaker::ModelPackageGroup", "ModelPackageGroupName"): (
        "sagemaker",
        "CreateModelPackageGroup",
        "ModelPackageGroupName",
    ),
    ("AWS::CodeCommit::Repository", "RepositoryName"): (
        "codecommit",
        "CreateRepository",
        "repositoryName",
    ),
    ("AWS::CodePipeline::Pipeline", "Name"): ("codepipeline", "CreatePipeline", "pipeline.name"),
    ("AWS::CodeBuild::Project", "Name"): ("codebuild", "CreateProject", "name"),
    ("AWS::CloudWatch::Alarm", "AlarmName"): ("cloudwatch", "PutMetricAlarm", "AlarmName"),
    ("AWS::CloudWatch::Alarm", "Namespace"): ("cloudwatch", "PutMetricAlarm", "Namespace"),
    ("AWS::Scheduler::Schedule", "Name"): ("scheduler", "CreateSchedule", "Name"),
    ("AWS::Events::Rule", "Name"): ("events", "PutRule", "Name"),
    ("AWS::IAM::Role", "RoleName"): ("iam", "CreateRole", "RoleName"),
    ("AWS::Lambda::Function", "FunctionName"): ("lambda", "CreateFunction", "FunctionName"),
}
DEPLOY_STACK = ("cloudformation", "CreateStack", "StackName")  # CodePipeline's deploy actions
ENDPOINT = ("sagemaker", "CreateEndpoint", "EndpointName")  # model-deploy names them (Names)
# S3 bucket names: 3-63 lowercase letters, digits, dots and hyphens, a letter or digit at each end
# (botocore has no pattern for them):
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def _shape_problem(rule: tuple[str, str, str], value: Any, where: str) -> str | None:
    """Whether ``value`` satisfies the botocore shape of ``rule``; a one-line problem if not."""
    import botocore.session  # noqa: PLC0415 - botocore ships with the CDK's test tooling

    service, operation, member = rule
    shape = botocore.session.get_session().get_service_model(service)
    shape = shape.operation_model(operation).input_shape
    for part in member.split("."):
        shape = shape.members[part]
    if not isinstance(value, str):
        return f"{where}: {value!r} does not resolve to a string"
    meta = shape.metadata
    pattern = meta.get("pattern")
    if pattern and not re.fullmatch(pattern, value):
        return f"{where}: {value!r} does not match {service} {operation} {member} {pattern}"
    if not meta.get("min", 0) <= len(value) <= meta.get("max", len(value)):
        return (
            f"{where}: {value!r} has {len(value)} characters; {service} {operation} {member} "
            f"allows {meta.get('min', 0)}-{meta.get('max')}"
        )
    return None


def _derived_names(
    logical: str, resource: Template, resolver: Resolver, project_id: str
) -> Iterator[tuple[tuple[str, str, str], Any, str]]:
    """(API rule, resolved value, where) of every name ``resource`` gives something."""
    from project_names import Names  # noqa: PLC0415 - the project's own names package

    kind, properties = resource["Type"], resource.get("Properties", {})
    where = f"{logical} ({kind})"
    for (named_kind, prop), rule in NAMED.items():
        if named_kind == kind and prop in properties:
            yield rule, resolver.resolve(properties[prop]), f"{where} {prop}"
    if kind == "AWS::CodePipeline::Pipeline":
        for stage in properties.get("Stages", []):
            for action in stage["Actions"]:
                if "StackName" in action.get("Configuration", {}):
                    stack = resolver.resolve(action["Configuration"]["StackName"])
                    yield DEPLOY_STACK, stack, f"{where} {action['Name']}"
    if kind == "AWS::CodeBuild::Project":
        for variable in properties.get("Environment", {}).get("EnvironmentVariables", []):
            if variable["Name"] == "SAGEMAKER_PROJECT_NAME":
                names = Names(resolver.resolve(variable["Value"]), project_id)
                for stage in ("staging", "prod"):
                    yield ENDPOINT, names.endpoint(stage), f"{where} endpoint"


def _sagemaker_arns(policy: Template, resolver: Resolver) -> Iterator[str]:
    """The SageMaker ARNs ``policy`` grants on (those that resolve: not other resources' ARNs)."""
    for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
        for resource in _as_list(statement.get("Resource", [])):
            try:
                arn = resolver.resolve(resource)
            except KeyError:  # another resource's ARN: CloudFormation names it
                continue
            if isinstance(arn, str) and ":sagemaker:" in arn:
                yield arn


def name_problems(product: Template, region: str, project_name: str, project_id: str) -> list[str]:
    """Launching ``product`` as SageMaker project ``project_name`` (id ``project_id``): the
    parameters accept them, and every name the template derives (resolved with them and with what
    ``Custom::ProjectName`` answers) satisfies its API's pattern and length; SageMaker ARNs in the
    policies are lower case, as SageMaker writes them."""
    problems = []
    values = {PROJECT_NAME: project_name, PROJECT_ID: project_id}
    for name, value in values.items():
        pattern = product.get("Parameters", {}).get(name, {}).get("AllowedPattern", ".*")
        if not re.fullmatch(pattern, value):
            problems.append(f"parameter {name} refuses {value!r} (AllowedPattern {pattern})")
    if problems:  # CloudFormation refuses the launch: nothing is named
        return problems
    resolver = Resolver(product, region, parameters=values)
    for logical, resource in product.get("Resources", {}).items():
        for rule, value, where in _derived_names(logical, resource, resolver, project_id):
            problem = _shape_problem(rule, value, where)
            problems += [problem] if problem else []
        bucket = resource.get("Properties", {}).get("BucketName")
        if resource["Type"] == "AWS::S3::Bucket" and bucket is not None:
            bucket = resolver.resolve(bucket)
            if not (isinstance(bucket, str) and BUCKET_NAME.fullmatch(bucket)):
                problems.append(f"{logical} BucketName: {bucket!r} is not a valid bucket name")
        if resource["Type"] == "AWS::IAM::Policy":
            problems += [
                f"{logical}: {arn} is not lower case, as SageMaker writes it"
                for arn in _sagemaker_arns(resource, resolver)
                if arn != arn.lower()
            ]
    return problems
