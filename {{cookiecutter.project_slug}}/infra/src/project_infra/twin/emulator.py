"""The AWS emulator the twin runs against: moto in server mode on 127.0.0.1, and the environment that
points every AWS client of the flow at it (boto3, the AWS CLI in buildspecs, the SageMaker SDK)."""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
from botocore.config import Config

TOOLING_ACCOUNT = "123456789012"  # moto's default account: the tooling account of the twin
# Fake credentials: moto accepts any; nothing here is ever sent outside 127.0.0.1.
ACCESS_KEY = "testing"
SECRET_KEY = "testing"
# Variables that could point a client elsewhere (a real profile, a role, another endpoint).
CLEARED = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
)
# make's own: `make twin ARGS=--keep` exports its command-line variables (ARGS itself, and MAKEFLAGS
# naming them) to everything it starts, so the README's `make deploy-infra` would get the twin's
# ARGS. What the twin runs stands for a fresh terminal, which has none of them.
MAKE_VARIABLES = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")


def command_line_variables(makeflags: str) -> set[str]:
    """The names of the variables set on make's command line, as MAKEFLAGS lists them after
    ``--`` (``-- ARGS=--work-dir\\ /tmp/w X=1``: spaces inside a value are escaped)."""
    _, separator, assignments = makeflags.partition("-- ")
    if not separator:
        return set()
    words = re.split(r"(?<!\\) ", assignments)
    return {word.split("=", 1)[0] for word in words if "=" in word}


@dataclass
class Emulator:
    region: str
    url: str = ""
    credentials_url: str = ""  # the container credentials endpoint builds read, as in CodeBuild
    _server: Any = field(default=None, repr=False)
    _credentials: Any = field(default=None, repr=False)

    def start(self) -> Emulator:
        from moto.server import ThreadedMotoServer  # noqa: PLC0415 - heavy, only when the twin runs

        _fix_moto()
        # One line per request drowned the build logs a failure is read from (verbose only
        # silences moto's own banner).
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        self._credentials = _credentials_endpoint()
        port = self._credentials.server_address[1]
        self.credentials_url = f"http://127.0.0.1:{port}/v2/credentials/twin"
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self._credentials is not None:
            self._credentials.shutdown()
            self._credentials = None

    def container_environment(self) -> dict[str, str]:
        """How a CodeBuild build finds its role's credentials: a container credentials endpoint,
        not keys in the environment (so a build's own tests can tell the two apart)."""
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": self.credentials_url,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
        }

    def environment(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """``base`` (default: this process's environment) pointed at the emulator."""
        base = dict(os.environ if base is None else base)
        cleared = {*CLEARED, *MAKE_VARIABLES, *command_line_variables(base.get("MAKEFLAGS", ""))}
        env = {k: v for k, v in base.items() if k not in cleared}
        env = {k: v for k, v in env.items() if not k.startswith("AWS_ENDPOINT_URL")}
        env.update(
            AWS_ENDPOINT_URL=self.url,
            AWS_ACCESS_KEY_ID=ACCESS_KEY,
            AWS_SECRET_ACCESS_KEY=SECRET_KEY,
            AWS_DEFAULT_REGION=self.region,
            AWS_REGION=self.region,
            AWS_CONFIG_FILE=os.devnull,
            AWS_SHARED_CREDENTIALS_FILE=os.devnull,
            AWS_EC2_METADATA_DISABLED="true",
            # The SageMaker SDK: no telemetry calls, no IAM role validation.
            SAGEMAKER_TELEMETRY_OPT_OUT="true",
            SAGEMAKER_VALIDATE_ROLE="false",
        )
        return env

    def session(self, credentials: dict[str, str] | None = None) -> boto3.Session:
        """A session in the tooling account, or with ``credentials`` (an assumed role's)."""
        creds = credentials or {"AccessKeyId": ACCESS_KEY, "SecretAccessKey": SECRET_KEY}
        return boto3.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds.get("SessionToken"),
            region_name=self.region,
        )

    def client(self, service: str, session: boto3.Session | None = None) -> Any:
        return (session or self.session()).client(
            service,  # type: ignore[call-overload]
            endpoint_url=self.url,
            config=Config(retries={"max_attempts": 2, "mode": "standard"}),
        )

    def assume(self, role_arn: str, session_name: str) -> boto3.Session:
        """A session as ``role_arn``; moto puts its calls in the role's account, as AWS does."""
        creds = self.client("sts").assume_role(RoleArn=role_arn, RoleSessionName=session_name)
        return self.session(creds["Credentials"])


def _fix_moto() -> None:
    """Where moto (pinned) differs from AWS on a call the flow makes, make it answer as AWS does.
    Each fix names the defect; the emulator runs in this process, so the fix reaches the server.

    - ListTags on a versioned model package ARN (``model-package/<group>/<version>``): moto 5.2.5
      looks the resource up as ``<type>/<name>`` and answers 500; AWS lists the package's tags
      (the batch pipeline's LatestApprovedModel step copies them to the Model it creates).
    - UpdateModelPackage: moto 5.2.5 replaces the package's CustomerMetadataProperties with the
      call's (none, for an approval: every property is lost); AWS adds and overwrites the given
      keys and removes only CustomerMetadataPropertiesToRemove (which exists for that reason), so
      the approved package keeps what the pipeline registered (``endpoint_examples``, which the
      deploy build reads)."""
    from moto.sagemaker.models import SageMakerModelBackend  # noqa: PLC0415

    resolve = SageMakerModelBackend._get_resource_from_arn
    if getattr(resolve, "twin_fix", False):
        return
    update = SageMakerModelBackend.update_model_package

    def update_model_package(
        self: SageMakerModelBackend,
        model_package_arn: str,
        model_approval_status: str | None,
        approval_description: str | None,
        customer_metadata_properties: dict[str, str] | None,
        *args: Any,
        **kwargs: Any,
    ) -> str:
        mapped = self.model_package_name_mapping.get(model_package_arn, model_package_arn)
        package = self.model_packages.get(mapped)
        kept = dict(getattr(package, "customer_metadata_properties", None) or {})
        return update(
            self,
            model_package_arn,
            model_approval_status,
            approval_description,
            {**kept, **(customer_metadata_properties or {})},
            *args,
            **kwargs,
        )

    SageMakerModelBackend.update_model_package = update_model_package  # type: ignore[method-assign]

    def resource_from_arn(self: SageMakerModelBackend, arn: str) -> Any:
        if ":model-package/" in arn:
            return self.describe_model_package(arn)
        return resolve(self, arn)

    resource_from_arn.twin_fix = True  # type: ignore[attr-defined]
    SageMakerModelBackend._get_resource_from_arn = resource_from_arn  # type: ignore[method-assign]


def _credentials_endpoint() -> ThreadingHTTPServer:
    """The ECS/CodeBuild container credentials protocol on 127.0.0.1 (botocore and the AWS CLI
    accept a loopback AWS_CONTAINER_CREDENTIALS_FULL_URI)."""
    body = json.dumps(
        {
            "AccessKeyId": ACCESS_KEY,
            "SecretAccessKey": SECRET_KEY,
            "Token": "twin",
            "Expiration": "2099-01-01T00:00:00Z",
        }
    ).encode()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
