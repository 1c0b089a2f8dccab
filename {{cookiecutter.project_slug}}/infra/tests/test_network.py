"""The jobs' VPC (size large, Settings.job_vpc): private isolated subnets in two AZs, no NAT, one
security group for the jobs, endpoints for exactly the AWS APIs the job containers call, an S3
gateway endpoint limited to the project's buckets; the model-build passes subnets and group to the
pipelines. Other sizes have none of it."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from conftest import Synthesized

from project_infra.network import JOB_ENDPOINTS, S3_ACTIONS, TRACKING_SERVICE

CONTAINER_SOURCE = Path("model-build/container/src/model_container")
NETWORK_TYPES = (
    "AWS::EC2::VPC",
    "AWS::EC2::Subnet",
    "AWS::EC2::SecurityGroup",
    "AWS::EC2::VPCEndpoint",
    "AWS::EC2::FlowLog",
)


def _callee(func: ast.expr) -> str | None:
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else None


def _calls(tree: ast.AST) -> list[tuple[ast.Call, str | None]]:
    """Every ``[<x>.]client(...)`` / ``[<x>.]resource(...)`` call with the function it is made in."""
    found: list[tuple[ast.Call, str | None]] = []

    def visit(node: ast.AST, function: str | None) -> None:
        for child in ast.iter_child_nodes(node):
            inner = child.name if isinstance(child, ast.FunctionDef) else function
            if isinstance(child, ast.Call) and _callee(child.func) in {"client", "resource"}:
                found.append((child, function))
            visit(child, inner)

    visit(tree, None)
    return found


def called_services(source: Path) -> dict[str, list[str]]:
    """boto3 service name -> where the container code creates a client for it. A client whose
    service is not a literal is allowed only inside a pass-through ``client(service, ...)``
    (registry.client, local_aws.client); anywhere else the test cannot know it, so it fails."""
    services: dict[str, list[str]] = {}
    for path in sorted(source.rglob("*.py")):
        for call, function in _calls(ast.parse(path.read_text(encoding="utf-8"))):
            where = f"{path.relative_to(source)}:{call.lineno}"
            first = call.args[0] if call.args else None
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                services.setdefault(first.value, []).append(where)
            elif not (function == "client" and isinstance(first, ast.Name)):
                raise AssertionError(f"{where}: a client whose service the test cannot read")
    return services


def test_every_service_the_job_containers_call_has_an_endpoint_and_no_other(
    synthesized: Synthesized,
) -> None:
    called = called_services(synthesized.repo_root / CONTAINER_SOURCE)
    missing = sorted(set(called) - set(JOB_ENDPOINTS))
    assert not missing, f"called without a VPC endpoint: { {s: called[s] for s in missing} }"
    unused = sorted(set(JOB_ENDPOINTS) - set(called))
    assert not unused, f"VPC endpoints that no job container calls: {unused}"


def test_the_scan_finds_calls_and_refuses_what_it_cannot_read(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(
        "import boto3\n"
        "def client(service, region):\n"
        "    return boto3.client(service, region_name=region)\n"
        "s3 = client('s3', 'r')\n"
        "sts = boto3.Session().client('sts')\n"
    )
    assert called_services(tmp_path) == {"s3": ["a.py:4"], "sts": ["a.py:5"]}
    (tmp_path / "b.py").write_text("import boto3\nname = 'kms'\nboto3.client(name)\n")
    with pytest.raises(AssertionError, match=r"b\.py:3: a client whose service"):
        called_services(tmp_path)


def _only(synthesized: Synthesized, kind: str) -> tuple[str, dict[str, Any]]:
    ((logical, resource),) = synthesized.resources(kind).items()
    return logical, resource


def _pipeline_run_variables(synthesized: Synthesized) -> dict[str, Any]:
    (build,) = [
        p
        for p in synthesized.resources("AWS::CodeBuild::Project").values()
        if p["Properties"]["Source"]["BuildSpec"] == "model-build/buildspec.yml"
    ]
    return {
        v["Name"]: v["Value"] for v in build["Properties"]["Environment"]["EnvironmentVariables"]
    }


@pytest.fixture
def large(codepipeline_synthesized: Synthesized) -> Synthesized:
    """The stack with [ci] system codepipeline: some checks read the CodeBuild projects'
    variables (a GitHub Actions / GitLab CI job gets the same: test_external_ci.py)."""
    synthesized = codepipeline_synthesized
    if synthesized.settings.network is not None:
        pytest.skip("the jobs run in the VPC project.toml [network] gives (test_given_network.py)")
    if not synthesized.settings.creates_job_vpc:
        pytest.skip(f"size {synthesized.settings.size}: the jobs run without a VPC")
    return synthesized


def test_other_sizes_have_no_job_network(codepipeline_synthesized: Synthesized) -> None:
    if codepipeline_synthesized.settings.job_vpc:
        pytest.skip("the jobs run in a VPC (size large, or project.toml [network])")
    for kind in NETWORK_TYPES:
        assert not codepipeline_synthesized.resources(kind), kind
    assert not {"JOB_SUBNET_IDS", "JOB_SECURITY_GROUP_IDS"} & set(
        _pipeline_run_variables(codepipeline_synthesized)
    )


def test_private_isolated_subnets_in_two_zones_and_no_route_out(large: Synthesized) -> None:
    vpc_id, _ = _only(large, "AWS::EC2::VPC")
    subnets = large.resources("AWS::EC2::Subnet")
    assert len(subnets) == 2
    zones = {str(s["Properties"]["AvailabilityZone"]) for s in subnets.values()}
    assert len(zones) == 2  # Fn::Select 0 and 1 of Fn::GetAZs
    for subnet in subnets.values():
        assert subnet["Properties"]["VpcId"] == {"Ref": vpc_id}
        assert subnet["Properties"]["MapPublicIpOnLaunch"] is False
    for kind in ("AWS::EC2::NatGateway", "AWS::EC2::InternetGateway", "AWS::EC2::EIP"):
        assert not large.resources(kind), kind
    assert not large.resources("AWS::EC2::Route")  # only the local route (and S3's prefix list)
    (flow_log,) = large.resources("AWS::EC2::FlowLog").values()
    assert flow_log["Properties"]["ResourceId"] == {"Ref": vpc_id}
    assert flow_log["Properties"]["TrafficType"] == "ALL"


def _security_groups(large: Synthesized) -> tuple[str, str]:
    groups = large.resources("AWS::EC2::SecurityGroup")
    (jobs,) = [k for k in groups if "JobSecurityGroup" in k]
    (endpoints,) = [k for k in groups if "EndpointSecurityGroup" in k]
    return jobs, endpoints


def _group_id(logical: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical, "GroupId"]}


def test_the_jobs_reach_each_other_the_endpoints_and_s3_only(large: Synthesized) -> None:
    jobs, endpoints = _security_groups(large)
    groups = large.resources("AWS::EC2::SecurityGroup")
    inline_egress = groups[jobs]["Properties"].get("SecurityGroupEgress", [])
    assert [(e["CidrIp"], e["IpProtocol"], e["FromPort"], e["ToPort"]) for e in inline_egress] == [
        ("0.0.0.0/0", "tcp", 443, 443)
    ]
    assert not groups[jobs]["Properties"].get("SecurityGroupIngress")
    ingress = [r["Properties"] for r in large.resources("AWS::EC2::SecurityGroupIngress").values()]
    egress = [r["Properties"] for r in large.resources("AWS::EC2::SecurityGroupEgress").values()]

    def rule(props: dict[str, Any], peer: str) -> tuple[Any, ...]:
        return (props["GroupId"], props[peer], props["IpProtocol"], props.get("FromPort"))

    assert sorted(map(str, (rule(r, "SourceSecurityGroupId") for r in ingress))) == sorted(
        map(str, [(_group_id(jobs), _group_id(jobs), "-1", None),
                  (_group_id(endpoints), _group_id(jobs), "tcp", 443)])
    )  # fmt: skip
    assert sorted(map(str, (rule(r, "DestinationSecurityGroupId") for r in egress))) == sorted(
        map(str, [(_group_id(jobs), _group_id(jobs), "-1", None),
                  (_group_id(jobs), _group_id(endpoints), "tcp", 443)])
    )  # fmt: skip


def test_endpoints_are_the_derived_list(large: Synthesized) -> None:
    vpc_id, _ = _only(large, "AWS::EC2::VPC")
    _, endpoint_group = _security_groups(large)
    route_tables = set(large.resources("AWS::EC2::RouteTable"))
    found = {}
    for endpoint in large.resources("AWS::EC2::VPCEndpoint").values():
        props = endpoint["Properties"]
        assert props["VpcId"] == {"Ref": vpc_id}
        name = large.resolver.resolve(props["ServiceName"])
        found[name] = props
    region = large.settings.region
    expected = {f"com.amazonaws.{region}.{e.name}": e.gateway for e in JOB_ENDPOINTS.values()}
    if large.settings.mlflow_app:  # the MLflow App's API, for the Track and LinkRun steps
        expected[TRACKING_SERVICE.format(region=region)] = False
    assert set(found) == set(expected)
    for service, gateway in expected.items():
        props = found[service]
        if gateway:
            assert props["VpcEndpointType"] == "Gateway"
            assert {t["Ref"] for t in props["RouteTableIds"]} == route_tables
        else:
            assert props["VpcEndpointType"] == "Interface"
            assert props["PrivateDnsEnabled"] is True
            assert props["SecurityGroupIds"] == [_group_id(endpoint_group)]
            assert len(props["SubnetIds"]) == 2


def test_the_s3_endpoint_admits_the_project_buckets_only(large: Synthesized) -> None:
    (gateway,) = [
        e["Properties"]
        for e in large.resources("AWS::EC2::VPCEndpoint").values()
        if e["Properties"]["VpcEndpointType"] == "Gateway"
    ]
    (bucket,) = [k for k in large.resources("AWS::S3::Bucket") if "ArtifactBucket" in k]
    arn = {"Fn::GetAtt": [bucket, "Arn"]}
    (statement,) = gateway["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow" and statement["Principal"] == {"AWS": "*"}
    assert sorted(statement["Action"]) == sorted(S3_ACTIONS)
    assert statement["Resource"] == [arn, {"Fn::Join": ["", [arn, "/*"]]}]


def test_the_model_build_passes_the_subnets_and_the_security_group(large: Synthesized) -> None:
    variables = _pipeline_run_variables(large)
    jobs, _ = _security_groups(large)
    subnets = sorted(large.resources("AWS::EC2::Subnet"))
    assert variables["JOB_SUBNET_IDS"] == {"Fn::Join": [",", [{"Ref": s} for s in subnets]]}
    assert variables["JOB_SECURITY_GROUP_IDS"] == _group_id(jobs)


def test_sagemaker_may_attach_the_jobs_to_the_project_vpc_only(large: Synthesized) -> None:
    (role_id,) = [k for k in large.resources("AWS::IAM::Role") if "SageMakerPipelineRole" in k]
    statements = [
        s
        for p in large.resources("AWS::IAM::Policy").values()
        if p["Properties"]["Roles"] == [{"Ref": role_id}]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    (create,) = [s for s in statements if s["Action"] == "ec2:CreateNetworkInterface"]
    text = str(create["Resource"])
    for subnet in large.resources("AWS::EC2::Subnet"):
        assert subnet in text
    assert _security_groups(large)[0] in text
    (delete,) = [s for s in statements if "ec2:DeleteNetworkInterface" in s["Action"]]
    vpc_id, _ = _only(large, "AWS::EC2::VPC")
    assert vpc_id in str(delete["Condition"]["ArnEqualsIfExists"]["ec2:Vpc"])


def test_one_account_endpoints_run_in_the_jobs_vpc(large: Synthesized) -> None:
    """Large, staging and prod in the tooling account: the endpoints join the jobs' subnets and
    security group (the deploy build's <STAGE>_* variables) and the model role may attach them
    there; in their own accounts they run in none unless project.toml gives one (the bootstrap)."""
    (build,) = [
        p
        for p in large.resources("AWS::CodeBuild::Project").values()
        if p["Properties"]["Source"]["BuildSpec"] == "model-deploy/buildspec.yml"
    ]
    variables = {
        v["Name"]: v["Value"] for v in build["Properties"]["Environment"]["EnvironmentVariables"]
    }
    networked = {n: v for n, v in variables.items() if n.endswith(("SUBNET_IDS", "GROUP_IDS"))}
    if not large.settings.endpoints_in_job_vpc:
        assert networked == {}
        return
    jobs, _ = _security_groups(large)
    subnets = sorted(large.resources("AWS::EC2::Subnet"))
    assert networked == {
        f"{stage}_{key}": value
        for stage in ("STAGING", "PROD")
        for key, value in (
            ("SUBNET_IDS", {"Fn::Join": [",", [{"Ref": s} for s in subnets]]}),
            ("SECURITY_GROUP_IDS", _group_id(jobs)),
        )
    }
    (role_id,) = [k for k in large.resources("AWS::IAM::Role") if "ModelExecutionRole" in k]
    (create,) = [
        s
        for p in large.resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s["Action"] == "ec2:CreateNetworkInterface"
    ]
    assert all(subnet in str(create["Resource"]) for subnet in subnets)
    assert jobs in str(create["Resource"])


def test_flow_logs_may_be_delivered_into_the_access_log_bucket(large: Synthesized) -> None:
    (logs,) = [k for k in large.resources("AWS::S3::Bucket") if "AccessLogs" in k]
    (policy,) = [
        p["Properties"]["PolicyDocument"]
        for p in large.resources("AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": logs}
    ]
    delivery = [
        s
        for s in policy["Statement"]
        if s.get("Principal") == {"Service": "delivery.logs.amazonaws.com"}
    ]
    assert {s["Sid"] for s in delivery} == {"FlowLogDeliveryWrite", "FlowLogDeliveryCheck"}
    for statement in delivery:
        assert statement["Condition"]["StringEquals"]["aws:SourceAccount"] == {
            "Ref": "AWS::AccountId"
        }
