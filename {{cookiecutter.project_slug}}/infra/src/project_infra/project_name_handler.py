"""The handler of the stack's ``Custom::ProjectName`` resource (``project_infra.project_name``): it
answers Create and Update with the project name in lower case (``Data.Lowercase``), which every name
AWS wants in lower case is built from; Delete has nothing to do.

It runs in Lambda as the function's inline ``index.py`` (standard library only); the tests and the
twin import it as ``project_infra.project_name_handler`` and run the same code.
Protocol: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-responses.html
"""

from __future__ import annotations

import json
import re
import urllib.request
from typing import Any

RESOURCE_TYPE = "Custom::ProjectName"
ATTRIBUTE = "Lowercase"
# CreateProject's ProjectName (botocore sagemaker service-2.json, shape ProjectEntityName).
PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}$")


def data(name: str) -> dict[str, str]:
    """The resource's attributes for project name ``name``; a name Studio cannot give raises."""
    if not PATTERN.fullmatch(name):
        raise ValueError(
            f"project name {name!r} is not a SageMaker project name; allowed: "
            f"{PATTERN.pattern} (letters, digits, single hyphens between; 1-32 characters)"
        )
    return {ATTRIBUTE: name.lower()}


def response(event: dict[str, Any]) -> dict[str, Any]:
    """The response object; the physical id is the one CloudFormation sent (Update, Delete) or the
    lowercase name (Create): a new id on Update would make CloudFormation delete the old resource."""
    body: dict[str, Any] = {
        "Status": "SUCCESS",
        "Reason": "",
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
        "Data": {},
    }
    try:
        if event["RequestType"] != "Delete":
            body["Data"] = data(str(event["ResourceProperties"]["ProjectName"]))
    except Exception as error:  # every path answers: CloudFormation would wait an hour otherwise
        body["Status"], body["Reason"] = "FAILED", f"{type(error).__name__}: {error}"
    body["PhysicalResourceId"] = event.get("PhysicalResourceId") or body["Data"].get(
        ATTRIBUTE, event["LogicalResourceId"]
    )
    return body


def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    """Lambda's entry point (``index.handler``): PUT the response to the presigned URL (Content-Type
    empty: the URL is signed without one)."""
    body = response(event)
    print(json.dumps({"RequestType": event.get("RequestType"), "Status": body["Status"]}))
    payload = json.dumps(body).encode()
    request = urllib.request.Request(
        event["ResponseURL"],
        data=payload,
        method="PUT",
        headers={"Content-Type": "", "Content-Length": str(len(payload))},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        answer.read()
    return body
