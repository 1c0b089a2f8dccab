"""How the endpoint suite reaches a model server: plain HTTP (a container or `make local-serve` on
loopback), the SageMaker runtime API (a deployed endpoint) or the stage's API front door (SigV4-signed
for execute-api), all with the same `call` shape."""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.exceptions import ClientError


@dataclass
class Reply:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip()

    def json(self) -> object:
        return json.loads(self.body)


class HttpTransport:
    """One keep-alive connection to `http://host:port` (reopened if the server closed it)."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"ENDPOINT_URL={url!r} is not an http://host:port URL")
        self.host, self.port, self.timeout = parts.hostname, parts.port or 80, timeout
        self._conn: http.client.HTTPConnection | None = None

    def call(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        for attempt in (1, 2):
            if self._conn is None:
                self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                self._conn.request(method, path, body=body, headers=headers or {})
                response = self._conn.getresponse()
                data = response.read()
            except (ConnectionError, http.client.RemoteDisconnected):
                self.close()  # the server may close an idle keep-alive connection; retry once
                if attempt == 2:
                    raise
                continue
            reply = Reply(response.status, data, {k.lower(): v for k, v in response.getheaders()})
            if response.will_close:
                self.close()
            return reply
        raise AssertionError("unreachable")

    def send_headers_only(self, path: str, headers: dict[str, str]) -> Reply:
        """A request whose announced body is never sent (for the size limit); uses its own connection."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            conn.putrequest("POST", path)
            for name, value in headers.items():
                conn.putheader(name, value)
            conn.endheaders()
            response = conn.getresponse()
            return Reply(
                response.status, response.read(), {k.lower(): v for k, v in response.getheaders()}
            )
        finally:
            conn.close()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class SageMakerTransport:
    """The same `call` shape over the SageMaker runtime API (InvokeEndpoint), for a deployed endpoint.

    `POST /invocations` is InvokeEndpoint; the container's own 4xx come back as ModelError with the
    original status and body. `GET /ping` is answered from DescribeEndpoint (InService = 200); routes
    the runtime API does not expose skip the test that needs them.
    """

    def __init__(self, endpoint_name: str, region: str | None = None) -> None:
        self.endpoint_name = endpoint_name
        self.runtime = boto3.client("sagemaker-runtime", region_name=region)
        self.control = boto3.client("sagemaker", region_name=region)

    def call(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        headers = {k.lower(): v for k, v in (headers or {}).items()}
        if (method, path) == ("GET", "/ping"):
            status = self.control.describe_endpoint(EndpointName=self.endpoint_name)[
                "EndpointStatus"
            ]
            return Reply(200 if status == "InService" else 503, status.encode(), {})
        if (method, path) != ("POST", "/invocations"):
            pytest.skip(f"{method} {path} is not reachable through the SageMaker runtime API")
        request = {"EndpointName": self.endpoint_name, "Body": body or b""}
        if "content-type" in headers:
            request["ContentType"] = headers["content-type"]
        if "accept" in headers:
            request["Accept"] = headers["accept"]
        if "x-amzn-sagemaker-inference-id" in headers:
            request["InferenceId"] = headers["x-amzn-sagemaker-inference-id"]
        try:
            response = self.runtime.invoke_endpoint(**request)
        except ClientError as error:
            details = error.response.get("Error", {})
            status = int(error.response.get("OriginalStatusCode") or 400)
            message = error.response.get("OriginalMessage") or details.get("Message", "")
            return Reply(status, str(message).encode(), {"content-type": "application/json"})
        return Reply(
            200, response["Body"].read(), {"content-type": response.get("ContentType", "")}
        )

    def send_headers_only(self, path: str, headers: dict[str, str]) -> Reply:
        pytest.skip("a body-less request cannot be sent through the SageMaker runtime API")

    def close(self) -> None:
        return None


class ApiTransport:
    """The same `call` shape through the stage's API (the stack's ApiUrl output), each request signed
    with SigV4 for the service execute-api as IAM authorization requires
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-control-access-using-iam-policies-to-invoke-api.html).
    The API exposes `POST /invocations` only; tests of other routes skip."""

    def __init__(self, url: str, region: str | None = None, timeout: float = 30.0) -> None:
        parts = urlsplit(url.rstrip("/"))
        if parts.scheme not in ("https", "http") or not parts.hostname or not parts.path:
            raise ValueError(
                f"ENDPOINT_API_URL={url!r} is not the stack's ApiUrl (https://.../<stage>)"
            )
        self.url, self.timeout = url.rstrip("/"), timeout
        session = boto3.Session()
        host = parts.hostname.split(".")
        self.region = region or (host[2] if host[1:2] == ["execute-api"] else session.region_name)
        credentials = session.get_credentials()
        if credentials is None:
            raise ValueError("ENDPOINT_API_URL: no AWS credentials to sign the requests with")
        self.signer = SigV4Auth(credentials.get_frozen_credentials(), "execute-api", self.region)

    def call(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        if (method, path) != ("POST", "/invocations"):
            pytest.skip(f"{method} {path} is not exposed by the API (POST /invocations only)")
        request = AWSRequest(method, self.url + path, data=body or b"", headers=headers or {})
        self.signer.add_auth(request)
        prepared = request.prepare()
        parts = urlsplit(prepared.url)
        kind = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        conn = kind(parts.netloc, timeout=self.timeout)
        try:
            conn.request(method, parts.path, body=prepared.body, headers=dict(prepared.headers))
            response = conn.getresponse()
            return Reply(
                response.status, response.read(), {k.lower(): v for k, v in response.getheaders()}
            )
        finally:
            conn.close()

    def send_headers_only(self, path: str, headers: dict[str, str]) -> Reply:
        pytest.skip("a body-less request cannot be sent through the API")

    def close(self) -> None:
        return None
