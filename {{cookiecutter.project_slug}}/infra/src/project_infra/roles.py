"""Roles SageMaker itself assumes: the pipeline's execution role and, when staging and prod live in
the tooling account, the endpoints' model execution role, the API handler's role and CloudFormation's
deployment policy. (In the multi layout the last three come from ``bootstrap/target-account.yml`` in
each account.)"""

from __future__ import annotations

from collections.abc import Iterable

from aws_cdk import Aws
from aws_cdk import aws_iam as iam
from constructs import Construct

from project_infra import arns
from project_infra.artifacts import Artifacts
from project_infra.builds import STAGES
from project_infra.nag import AUTOSCALING_ACTIONS, LOG_UNSCOPABLE_ACTIONS
from project_infra.network import VpcIds
from project_names import Names

SAGEMAKER = iam.ServicePrincipal("sagemaker.amazonaws.com")
# SageMaker Pipelines names its jobs pipelines-<execution id>-<step>-<suffix>, not after the project.
PIPELINE_JOBS = (
    "processing-job/pipelines-*",
    "training-job/pipelines-*",
    "transform-job/pipelines-*",
)


def _logs(resource_prefix: str) -> iam.PolicyStatement:
    return iam.PolicyStatement(
        actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
        resources=[
            f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:{resource_prefix}*"
        ],
    )


def _metrics(namespace: str = "/aws/sagemaker/*") -> iam.PolicyStatement:
    return iam.PolicyStatement(
        actions=["cloudwatch:PutMetricData"],
        resources=["*"],  # PutMetricData has no resource-level permissions; scoped by namespace.
        conditions={"StringLike": {"cloudwatch:namespace": [namespace]}},
    )


def pipeline_execution(
    scope: Construct, names: Names, artifacts: Artifacts, *, monitored: bool
) -> iam.Role:
    """Runs the project's SageMaker pipelines (model-build, batch inference and, when ``monitored``,
    monitoring): their jobs, the project's bucket, image and model package group only."""
    role = iam.Role(
        scope,
        "SageMakerPipelineRole",
        assumed_by=SAGEMAKER,
        description=f"SageMaker pipelines of {names.model_package_group}: jobs, models, registry",
    )
    jobs = [arns.sagemaker(job) for job in PIPELINE_JOBS]
    role.add_to_policy(
        iam.PolicyStatement(
            actions=[
                "sagemaker:CreateProcessingJob",
                "sagemaker:DescribeProcessingJob",
                "sagemaker:StopProcessingJob",
                "sagemaker:CreateTrainingJob",
                "sagemaker:DescribeTrainingJob",
                "sagemaker:StopTrainingJob",
                "sagemaker:CreateTransformJob",
                "sagemaker:DescribeTransformJob",
                "sagemaker:StopTransformJob",
                "sagemaker:AddTags",
            ],
            resources=jobs,
        )
    )
    # The batch pipeline's first step creates a Model from the newest Approved package
    # (<project>-<id>, cut to 40 characters, -<execution id>; lowercased in its ARN); its transform
    # job runs that model.
    role.add_to_policy(
        iam.PolicyStatement(
            actions=["sagemaker:CreateModel", "sagemaker:DescribeModel", "sagemaker:AddTags"],
            resources=[arns.sagemaker(f"model/{names.lowercase}-*")],
        )
    )
    # Finding the newest Approved package: IAM evaluates ListModelPackages without a resource.
    role.add_to_policy(
        iam.PolicyStatement(actions=["sagemaker:ListModelPackages"], resources=["*"])
    )
    role.add_to_policy(
        iam.PolicyStatement(
            actions=[
                "sagemaker:CreateModelPackage",
                "sagemaker:DescribeModelPackage",
                "sagemaker:DescribeModelPackageGroup",
                "sagemaker:AddTags",
                # approved_model copies the package's tags onto the Model it creates.
                "sagemaker:ListTags",
            ],
            resources=[arns.model_package_group(names), arns.model_packages(names)],
        )
    )
    # The jobs run with this same role.
    role.add_to_policy(
        iam.PolicyStatement(
            actions=["iam:PassRole"],
            resources=[role.role_arn],
            conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        )
    )
    # The bucket grant includes the key's Decrypt, DescribeKey, Encrypt and GenerateDataKey*: the
    # jobs' S3 outputs (KmsKeyId) are encrypted with it.
    artifacts.bucket.grant_read_write(role)
    # The jobs' ML storage volumes (VolumeKmsKeyId) are encrypted through a grant that SageMaker
    # creates on the role's behalf: kms:CreateGrant, only for an AWS service's resource
    # (https://repost.aws/knowledge-center/sagemaker-s3-accessdenied-training,
    # https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html,
    # https://docs.aws.amazon.com/kms/latest/developerguide/grant-authorization.html). The key
    # policy lets the account's IAM policies grant its use (the CDK default key policy).
    role.add_to_policy(
        iam.PolicyStatement(
            actions=["kms:CreateGrant"],
            resources=[artifacts.key.key_arn],
            conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
        )
    )
    artifacts.repository.grant_pull(role)
    role.add_to_policy(_logs("/aws/sagemaker/ProcessingJobs"))
    role.add_to_policy(_logs("/aws/sagemaker/TrainingJobs"))
    role.add_to_policy(_logs("/aws/sagemaker/TransformJobs"))
    role.add_to_policy(_metrics())
    if monitored:  # the monitors publish the metrics that the drift and model-quality alarms watch
        role.add_to_policy(_metrics(names.drift_namespace))
        role.add_to_policy(_metrics(names.quality_namespace))
    return role


# What SageMaker does with the role to attach a job (or the batch transform's Model) to the VPC
# (https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html, CreateTrainingJob and
# CreateProcessingJob API: Execution Role Permissions), and an endpoint's model the same actions
# (https://docs.aws.amazon.com/sagemaker/latest/dg/host-vpc.html, "Add Permissions for Endpoint
# Access for Containers Running in a VPC"). The Describe calls take no resource ARN.
NETWORK_DESCRIBE_ACTIONS = (
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeVpcs",
    "ec2:DescribeDhcpOptions",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
)


def network_interface_access(role: iam.Role, network: VpcIds) -> None:
    """Lets SageMaker create, use and delete the network interfaces of the role's jobs or endpoints
    in ``network`` only (its subnets and security groups, its VPC)."""
    interfaces = f"arn:{Aws.PARTITION}:ec2:{Aws.REGION}:{Aws.ACCOUNT_ID}:network-interface/*"
    role.add_to_policy(iam.PolicyStatement(actions=list(NETWORK_DESCRIBE_ACTIONS), resources=["*"]))
    role.add_to_policy(
        iam.PolicyStatement(
            actions=["ec2:CreateNetworkInterface"],
            resources=[
                interfaces,
                *(
                    f"arn:{Aws.PARTITION}:ec2:{Aws.REGION}:{Aws.ACCOUNT_ID}:subnet/{subnet}"
                    for subnet in network.subnet_id_list
                ),
                *(
                    f"arn:{Aws.PARTITION}:ec2:{Aws.REGION}:{Aws.ACCOUNT_ID}:security-group/{group}"
                    for group in network.security_group_id_list
                ),
            ],
        )
    )
    role.add_to_policy(
        iam.PolicyStatement(
            actions=[
                "ec2:CreateNetworkInterfacePermission",
                "ec2:DeleteNetworkInterface",
                "ec2:DeleteNetworkInterfacePermission",
            ],
            resources=[interfaces],
            # IfExists: the network-interface resource carries ec2:Vpc in EC2's service authorization
            # reference as we read it, but no page here confirms it for each of these three actions;
            # an absent key must not stop a job or an endpoint from starting (AWS's
            # AmazonSageMakerFullAccess grants them on "*"), a present one keeps them to the VPC given.
            conditions={
                "ArnEqualsIfExists": {
                    "ec2:Vpc": f"arn:{Aws.PARTITION}:ec2:{Aws.REGION}:{Aws.ACCOUNT_ID}:vpc/"
                    + network.vpc_id
                }
            },
        )
    )


def model_execution(
    scope: Construct,
    names: Names,
    artifacts: Artifacts,
    networks: Iterable[VpcIds] = (),
) -> iam.Role:
    """The endpoints' role (single layout): pull the image, read the model, write data capture; and
    attach an endpoint to each of ``networks``, the VPCs of the stages that have one (project.toml
    [network.<stage>], or the jobs' VPC: Settings.endpoints_in_job_vpc)."""
    role = iam.Role(
        scope,
        "ModelExecutionRole",
        assumed_by=SAGEMAKER,
        description=f"Endpoints {names.endpoint('staging')} and {names.endpoint('prod')}",
    )
    artifacts.repository.grant_pull(role)
    artifacts.bucket.grant_read(role)
    artifacts.bucket.grant_put(role, "data-capture/*")
    # The endpoints are named after the lowercase project name (Names.endpoint).
    role.add_to_policy(_logs(f"/aws/sagemaker/Endpoints/{names.lowercase}-"))
    role.add_to_policy(_metrics())
    for network in networks:
        network_interface_access(role, network)
    return role


LAMBDA = iam.ServicePrincipal("lambda.amazonaws.com")


def api_function(names: Names, stage: str) -> str:
    """The stage API's Lambda function (endpoint.yml: <SageMakerProjectName>-<StageName>-api)."""
    return f"{names.endpoint(stage)}-api"


def api_handler(scope: Construct, names: Names) -> iam.Role:
    """The stage APIs' Lambda role (single layout; endpoint.yml takes it as ApiHandlerRoleArn so the
    endpoint stack holds no IAM resource): invoke the staging and prod endpoints, write the
    functions' own log groups; nothing else."""
    role = iam.Role(
        scope,
        "ApiHandlerRole",
        assumed_by=LAMBDA,
        description=f"API handlers of endpoints {names.endpoint('staging')} and "
        f"{names.endpoint('prod')}",
    )
    role.add_to_policy(
        iam.PolicyStatement(
            actions=["sagemaker:InvokeEndpoint"],
            resources=[arns.endpoint(names, stage) for stage in STAGES],
        )
    )
    # The log group endpoint.yml creates per stage; ":*" covers its log streams.
    role.add_to_policy(
        iam.PolicyStatement(
            actions=["logs:CreateLogStream", "logs:PutLogEvents"],
            resources=[f"{arns.api_log_group(names, stage)}:*" for stage in STAGES],
        )
    )
    return role


def deployment_statements(
    names: Names, model_role: iam.IRole, api_role: iam.IRole, artifacts: Artifacts
) -> list[iam.PolicyStatement]:
    """What CloudFormation needs to create one stage's endpoint stack (single layout): the same
    permissions ``bootstrap/target-account.yml`` gives the cfn-exec role in a target account
    (tests/test_deployment_roles.py keeps them equal). ``model-deploy/endpoint.yml`` names
    everything after the lowercase project name (``Names.endpoint_prefix``), which is also how
    SageMaker writes it into ARNs."""
    sagemaker_resources = [
        arns.sagemaker(f"{kind}/{names.lowercase}-*")
        for kind in ("model", "endpoint-config", "endpoint")
    ]
    return [
        iam.PolicyStatement(
            actions=[
                "sagemaker:CreateModel",
                "sagemaker:DeleteModel",
                "sagemaker:DescribeModel",
                "sagemaker:CreateEndpointConfig",
                "sagemaker:DeleteEndpointConfig",
                "sagemaker:DescribeEndpointConfig",
                "sagemaker:CreateEndpoint",
                "sagemaker:UpdateEndpoint",
                "sagemaker:DeleteEndpoint",
                "sagemaker:DescribeEndpoint",
                "sagemaker:AddTags",
                "sagemaker:DeleteTags",
                "sagemaker:ListTags",
            ],
            resources=sagemaker_resources,
        ),
        iam.PolicyStatement(
            actions=["sagemaker:DescribeModelPackage"],
            resources=[arns.model_packages(names)],
        ),
        iam.PolicyStatement(
            actions=[
                "cloudwatch:PutMetricAlarm",
                "cloudwatch:DeleteAlarms",
                "cloudwatch:DescribeAlarms",
                "cloudwatch:TagResource",
            ],
            resources=[
                f"arn:{Aws.PARTITION}:cloudwatch:{Aws.REGION}:{Aws.ACCOUNT_ID}:alarm:{names.lowercase}-*"
            ],
        ),
        iam.PolicyStatement(
            actions=list(AUTOSCALING_ACTIONS),
            resources=["*"],  # Application Auto Scaling has no resource-level ARNs for these calls.
        ),
        iam.PolicyStatement(
            actions=["iam:PassRole"],
            resources=[model_role.role_arn],
            conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        ),
        *api_statements(names, api_role, artifacts),
    ]


# What the optional API front door's resources in endpoint.yml need (README "API front door"); the
# actions and ARN forms are those of the Service Authorization Reference:
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonapigatewaymanagement.html
# (REST APIs and everything below them are paths under /restapis; stack tags go through /tags),
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_awslambda.html,
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatchlogs.html
# Which calls CloudFormation makes per resource type: the handlers' permissions in each type's
# resource schema (tests/test_deployment_roles.py checks these lists against them).
API_GATEWAY_ACTIONS = (
    "apigateway:GET",
    "apigateway:POST",
    "apigateway:PUT",
    "apigateway:PATCH",
    "apigateway:DELETE",
)
LAMBDA_ACTIONS = (
    "lambda:CreateFunction",
    "lambda:GetFunction",
    "lambda:GetFunctionConfiguration",
    "lambda:UpdateFunctionCode",
    "lambda:UpdateFunctionConfiguration",
    "lambda:DeleteFunction",
    "lambda:AddPermission",
    "lambda:RemovePermission",
    "lambda:GetPolicy",
    "lambda:TagResource",
    "lambda:UntagResource",
    "lambda:ListTags",
    # What CloudFormation's read of a function calls besides GetFunction (its resource schema).
    "lambda:GetFunctionCodeSigningConfig",
    "lambda:GetRuntimeManagementConfig",
    "lambda:GetFunctionRecursionConfig",
    "lambda:GetFunctionScalingConfig",
)
LOG_GROUP_ACTIONS = (
    "logs:CreateLogGroup",
    "logs:DeleteLogGroup",
    "logs:PutRetentionPolicy",
    "logs:DeleteRetentionPolicy",
    "logs:TagResource",
    "logs:UntagResource",
    "logs:ListTagsForResource",
    "logs:GetDataProtectionPolicy",
    "logs:DescribeIndexPolicies",
)


def api_statements(
    names: Names, api_role: iam.IRole, artifacts: Artifacts
) -> list[iam.PolicyStatement]:
    """The API front door's part of the deployment statements."""
    apigateway = f"arn:{Aws.PARTITION}:apigateway:{Aws.REGION}::"
    functions = (
        f"arn:{Aws.PARTITION}:lambda:{Aws.REGION}:{Aws.ACCOUNT_ID}:function:{names.lowercase}-*-api"
    )
    log_groups = arns.logs(f"/aws/lambda/{names.lowercase}-*-api")
    return [
        iam.PolicyStatement(
            actions=list(API_GATEWAY_ACTIONS),
            resources=[
                f"{apigateway}/restapis",
                f"{apigateway}/restapis/*",
                f"{apigateway}/tags/*",
            ],
        ),
        iam.PolicyStatement(actions=list(LAMBDA_ACTIONS), resources=[functions]),
        iam.PolicyStatement(
            actions=list(LOG_GROUP_ACTIONS), resources=[log_groups, f"{log_groups}:*"]
        ),
        # CloudFormation reads a log group back by listing the account's groups by name prefix.
        iam.PolicyStatement(actions=["logs:DescribeLogGroups"], resources=[arns.logs("*")]),
        iam.PolicyStatement(actions=list(LOG_UNSCOPABLE_ACTIONS), resources=["*"]),
        iam.PolicyStatement(
            actions=["iam:PassRole"],
            resources=[api_role.role_arn],
            conditions={"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}},
        ),
        # The code `aws cloudformation package` uploaded (model-deploy/ci/build-config.sh:
        # <project name>/model-deploy/; "*" for the name's case, the bucket is the project's own):
        # the caller of CreateFunction/UpdateFunctionCode, CloudFormation's role, needs to read it
        # (AWS::Lambda::Function's resource schema lists s3:GetObject and kms:Decrypt in its create
        # and update handlers' permissions), and the bucket may be in another account (the tooling
        # account's bucket and key policies let the stage accounts read, artifacts.py):
        # https://docs.aws.amazon.com/lambda/latest/dg/API_FunctionCode.html (S3Bucket).
        iam.PolicyStatement(
            actions=["s3:GetObject"],
            resources=[artifacts.bucket.arn_for_objects("*/model-deploy/*")],
        ),
        iam.PolicyStatement(actions=["kms:Decrypt"], resources=[artifacts.key.key_arn]),
    ]
