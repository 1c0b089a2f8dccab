"""``Custom::ProjectName``'s handler: the protocol (one PUT per request, to the presigned URL) and
its answer, the lower-case name, for every name Studio can give; anything else FAILED, in one line."""

from __future__ import annotations

from typing import Any

import pytest

from project_infra import project_name_handler
from project_infra.twin.cleanup import response_url


def _event(request_type: str, name: str, url: str, **extra: Any) -> dict[str, Any]:
    return {
        "RequestType": request_type,
        "ResponseURL": url,
        "StackId": "arn:aws:cloudformation:eu-west-1:123456789012:stack/s/abc",
        "RequestId": "r-1",
        "ResourceType": project_name_handler.RESOURCE_TYPE,
        "LogicalResourceId": "ProjectName",
        "ResourceProperties": {"ServiceToken": "arn:fn", "ProjectName": name},
        **extra,
    }


@pytest.mark.parametrize(
    ("name", "lowercase"),
    [("Churn-Model2", "churn-model2"), ("7up", "7up"), ("A" * 32, "a" * 32), ("a--B", "a--b")],
)
def test_create_and_update_answer_the_lowercase_name(name: str, lowercase: str) -> None:
    with response_url() as (url, received):
        project_name_handler.handler(_event("Create", name, url), None)
        project_name_handler.handler(_event("Update", name, url, PhysicalResourceId="old-id"), None)
    create, update = received
    assert create["Status"] == update["Status"] == "SUCCESS"
    assert create["Data"] == update["Data"] == {"Lowercase": lowercase}
    assert create["PhysicalResourceId"] == lowercase
    assert update["PhysicalResourceId"] == "old-id"  # CloudFormation's, or it is a replacement


@pytest.mark.parametrize("name", ["", "-a", "a-", "a_b", "A" * 33, "ünï"])
def test_a_name_studio_cannot_give_fails_in_one_line(name: str) -> None:
    with response_url() as (url, received):
        project_name_handler.handler(_event("Create", name, url), None)
    (body,) = received
    assert body["Status"] == "FAILED"
    assert repr(name) in body["Reason"] and "allowed" in body["Reason"]
    assert "\n" not in body["Reason"]


def test_delete_succeeds_without_data() -> None:
    with response_url() as (url, received):
        project_name_handler.handler(
            _event("Delete", "Churn-Model2", url, PhysicalResourceId="churn-model2"), None
        )
    (body,) = received
    assert body["Status"] == "SUCCESS" and body["Data"] == {}
    assert body["PhysicalResourceId"] == "churn-model2"
