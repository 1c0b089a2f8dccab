"""The pipelines' jobs' own network (size large): a VPC with private isolated subnets in two
Availability Zones, no NAT and no internet gateway, a security group for the jobs, and VPC endpoints
for exactly the AWS APIs that the job containers call (JOB_ENDPOINTS).

SageMaker attaches each job to these subnets through network interfaces
(https://docs.aws.amazon.com/sagemaker/latest/dg/process-vpc.html,
https://docs.aws.amazon.com/sagemaker/latest/dg/train-vpc.html,
https://docs.aws.amazon.com/sagemaker/latest/dg/batch-vpc.html). It pulls the image from ECR itself
("Amazon SageMaker AI automatically pulls the processing container from Amazon ECR", process-vpc.html),
so the VPC needs no ECR endpoint; it copies the jobs' S3 inputs and outputs through the VPC, hence the
S3 gateway endpoint, whose policy admits only the project's buckets.

A VPC your network team owns replaces all of it (project.toml [network], GivenVpc): the jobs
then join its subnets and security groups, and that VPC must give them what this one does (infra
README, "The jobs' network"). A stage's endpoint runs in the VPC its [network.<stage>] gives
(GivenVpc too), else in the jobs' VPC where it deploys beside it (Settings.endpoints_in_job_vpc).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from aws_cdk import Aws, Fn
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from constructs import Construct

from project_infra.artifacts import Artifacts
from project_infra.settings import GivenNetwork

# REPLACE: the jobs' address range; pick one that does not overlap networks you may peer with.
CIDR = "10.64.0.0/16"
AVAILABILITY_ZONES = 2
# 4091 usable addresses per subnet; SageMaker needs two per job instance ("Ensure That Subnets Have
# Enough IP Addresses", process-vpc.html).
SUBNET_MASK = 20


@dataclass(frozen=True)
class Endpoint:
    """A VPC endpoint: ``com.amazonaws.<region>.<name>``, a gateway (S3) or an interface one."""

    name: str
    gateway: bool
    reason: str


# boto3 service name (as model_container calls boto3.client / registry.client) -> its VPC endpoint.
# Only the steps without network isolation (model_build.steps.NETWORK_ISOLATION False: Champion,
# LatestApprovedModel, MonitorDataCapture, MonitorModelQuality) call AWS from their container; a
# test scans the container's source and fails when a called service has no endpoint here, or an
# endpoint here has no caller.
JOB_ENDPOINTS: dict[str, Endpoint] = {
    "s3": Endpoint(
        "s3",
        gateway=True,
        reason="every job's inputs and outputs; the registered models' baselines",
    ),
    "sagemaker": Endpoint(
        "sagemaker.api",
        gateway=False,
        reason="the model registry (newest Approved package, its tags); the batch Model's CreateModel",
    ),
    "cloudwatch": Endpoint(
        "monitoring", gateway=False, reason="the drift and model-quality monitors' PutMetricData"
    ),
}

# The MLflow App's API: an interface endpoint of its own (not a com.amazonaws service), for
# projects with [tracking] mlflow_app only; the Track and LinkRun steps call it.
TRACKING_ENDPOINT = "sagemaker-mlflow"
TRACKING_SERVICE = "aws.sagemaker.{region}.experiments"

# What SageMaker's data copy and the containers do in the project's buckets (GetObject also serves
# HeadObject, ListBucket HeadBucket; multipart uploads for large outputs).
S3_ACTIONS = (
    "s3:GetObject",
    "s3:PutObject",
    "s3:ListBucket",
    "s3:GetBucketLocation",
    "s3:AbortMultipartUpload",
    "s3:ListMultipartUploadParts",
)


FLOW_LOG_PREFIX = "vpc-flow-logs/"


def _allow_flow_log_delivery(artifacts: Artifacts) -> None:
    """The log delivery service writes the flow logs into the access-log bucket. Declared here, not
    left to the service: it would add them to a bucket policy that the next stack update replaces
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/AWS-logs-infrastructure-V2-S3.html)."""
    delivery = iam.ServicePrincipal("delivery.logs.amazonaws.com")
    account = {"aws:SourceAccount": Aws.ACCOUNT_ID}
    source = f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:*"
    bucket = artifacts.access_logs
    bucket.add_to_resource_policy(
        iam.PolicyStatement(
            sid="FlowLogDeliveryWrite",
            principals=[delivery],
            actions=["s3:PutObject"],
            resources=[bucket.arn_for_objects(f"{FLOW_LOG_PREFIX}AWSLogs/{Aws.ACCOUNT_ID}/*")],
            conditions={
                "StringEquals": {**account, "s3:x-amz-acl": "bucket-owner-full-control"},
                "ArnLike": {"aws:SourceArn": source},
            },
        )
    )
    bucket.add_to_resource_policy(
        iam.PolicyStatement(
            sid="FlowLogDeliveryCheck",
            principals=[delivery],
            actions=["s3:GetBucketAcl", "s3:ListBucket"],
            resources=[bucket.bucket_arn],
            conditions={"StringEquals": account, "ArnLike": {"aws:SourceArn": source}},
        )
    )


class VpcIds(Protocol):
    """What a role's network-interface permissions name (roles.network_interface_access): the VPC,
    the subnets and the security groups SageMaker attaches a job or an endpoint to."""

    @property
    def vpc_id(self) -> str: ...

    @property
    def subnet_id_list(self) -> list[str]: ...

    @property
    def security_group_id_list(self) -> list[str]: ...


class JobsVpc(VpcIds, Protocol):
    """What the pipeline role and the builds need of the jobs' VPC, created here or given."""

    @property
    def subnet_ids(self) -> str: ...

    @property
    def security_group_ids(self) -> str: ...


@dataclass(frozen=True)
class GivenVpc:
    """A VPC project.toml names ([network] for the jobs, [network.<stage>] for a stage's endpoint):
    nothing is created, the ids are used as they are."""

    given: GivenNetwork

    @property
    def vpc_id(self) -> str:
        return self.given.vpc_id

    @property
    def subnet_id_list(self) -> list[str]:
        return list(self.given.subnet_ids)

    @property
    def security_group_id_list(self) -> list[str]:
        return list(self.given.security_group_ids)

    @property
    def subnet_ids(self) -> str:
        """Comma-separated, no spaces: CodeBuild's JOB_SUBNET_IDS or <STAGE>_SUBNET_IDS."""
        return ",".join(self.given.subnet_ids)

    @property
    def security_group_ids(self) -> str:
        return ",".join(self.given.security_group_ids)


class JobNetwork(Construct):
    """The VPC, subnets, security groups and endpoints the pipelines' jobs run with."""

    def __init__(
        self, scope: Construct, construct_id: str, *, artifacts: Artifacts, tracking: bool = False
    ) -> None:
        super().__init__(scope, construct_id)
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(CIDR),
            max_azs=AVAILABILITY_ZONES,
            nat_gateways=0,  # no route out: the jobs reach AWS through the endpoints only
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="Jobs", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=SUBNET_MASK
                )
            ],
            # Every packet accepted or rejected, into the access-log bucket (kept LOG_DAYS).
            flow_logs={
                "FlowLogs": ec2.FlowLogOptions(
                    destination=ec2.FlowLogDestination.to_s3(artifacts.access_logs, FLOW_LOG_PREFIX)
                )
            },
        )
        _allow_flow_log_delivery(artifacts)
        self.subnets = self.vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        self.jobs = ec2.SecurityGroup(
            self,
            "JobSecurityGroup",
            vpc=self.vpc,
            description="SageMaker pipeline jobs: to each other and to the VPC endpoints only",
            allow_all_outbound=False,
        )
        # A job's hosts talk to each other (distributed training, multi-instance processing:
        # train-vpc.html, "Configure the VPC security group").
        self.jobs.add_ingress_rule(self.jobs, ec2.Port.all_traffic(), "hosts of the same job")
        self.jobs.add_egress_rule(self.jobs, ec2.Port.all_traffic(), "hosts of the same job")
        endpoints = ec2.SecurityGroup(
            self,
            "EndpointSecurityGroup",
            vpc=self.vpc,
            description="Interface VPC endpoints of the AWS APIs the jobs call: HTTPS from the jobs only",
            allow_all_outbound=False,
        )
        endpoints.add_ingress_rule(self.jobs, ec2.Port.tcp(443), "HTTPS from the jobs")
        self.jobs.add_egress_rule(endpoints, ec2.Port.tcp(443), "the AWS APIs' interface endpoints")
        # S3 through the gateway endpoint. Its managed prefix list has no CloudFormation attribute, and
        # the subnets' route tables hold only the VPC's own range and that prefix list (no NAT, no
        # internet gateway), so HTTPS "anywhere" reaches nothing but S3 and the endpoints above.
        self.jobs.add_egress_rule(
            ec2.Peer.any_ipv4(),
            ec2.Port.tcp(443),
            "S3 through the gateway endpoint (no other route)",
        )

        subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        self.endpoints: dict[str, ec2.GatewayVpcEndpoint | ec2.InterfaceVpcEndpoint] = {}
        for service, endpoint in JOB_ENDPOINTS.items():
            logical = "".join(part.capitalize() for part in endpoint.name.split("."))
            if endpoint.gateway:
                gateway = self.vpc.add_gateway_endpoint(
                    f"{logical}Endpoint",
                    service=ec2.GatewayVpcEndpointAwsService(endpoint.name),
                    subnets=[subnets],
                )
                # The project's buckets only: the artifact bucket holds the raw data, the runs'
                # artifacts, the data capture and the batches (REPLACE: add a bucket the jobs read
                # when InputDataUrl or BatchInputUrl points elsewhere).
                gateway.add_to_policy(
                    iam.PolicyStatement(
                        principals=[iam.AnyPrincipal()],
                        actions=list(S3_ACTIONS),
                        resources=[
                            artifacts.bucket.bucket_arn,
                            artifacts.bucket.arn_for_objects("*"),
                        ],
                    )
                )
                self.endpoints[service] = gateway
            else:
                self.endpoints[service] = self.vpc.add_interface_endpoint(
                    f"{logical}Endpoint",
                    service=ec2.InterfaceVpcEndpointAwsService(endpoint.name),
                    subnets=subnets,
                    security_groups=[endpoints],
                    private_dns_enabled=True,  # boto3's default endpoint names resolve to it
                    open=False,  # only the rule above, not the whole VPC range
                )
        if tracking:
            # The MLflow App's API (<region>.experiments.sagemaker.aws, which the sagemaker-mlflow
            # plugin calls) for the Track and LinkRun jobs; their artifacts go through S3's endpoint
            # (https://docs.aws.amazon.com/sagemaker/latest/dg/mlflow-interface-endpoint.html).
            self.endpoints[TRACKING_ENDPOINT] = self.vpc.add_interface_endpoint(
                "MlflowEndpoint",
                service=ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_EXPERIMENTS,
                subnets=subnets,
                security_groups=[endpoints],
                private_dns_enabled=True,
                open=False,
            )

    @property
    def vpc_id(self) -> str:
        return self.vpc.vpc_id

    @property
    def subnet_id_list(self) -> list[str]:
        return self.subnets.subnet_ids

    @property
    def security_group_id_list(self) -> list[str]:
        return [self.jobs.security_group_id]

    @property
    def subnet_ids(self) -> str:
        """The jobs' subnet ids, comma-separated (CodeBuild's JOB_SUBNET_IDS)."""
        return Fn.join(",", self.subnets.subnet_ids)

    @property
    def security_group_ids(self) -> str:
        """CodeBuild's JOB_SECURITY_GROUP_IDS."""
        return self.jobs.security_group_id
