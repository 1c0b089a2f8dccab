"""What SageMaker Studio needs to list a template, by either route (README, "How Studio finds it").

Service Catalog route: portfolio and product tagged ``sagemaker:studio-visibility=true``, a launch
constraint naming the role that creates the resources, and the Studio user's role associated with
the portfolio. S3 route (SageMaker Projects' CfnTemplateProvider, June 2025): the template object
tagged the same way, a CORS rule so Studio in the browser can read the bucket, and the domain tagged
with the S3 location of the templates."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

VISIBILITY_TAG = ("sagemaker:studio-visibility", "true")
DOMAIN_TEMPLATES_TAG = "sagemaker:projectS3TemplatesLocation"  # value: s3://<bucket>/<prefix>
# The role SageMaker creates for its own Service Catalog products (Studio "Projects" settings).
DEFAULT_LAUNCH_ROLE = "AmazonSageMakerServiceCatalogProductsLaunchRole"
# Studio runs in the browser under *.sagemaker.aws and reads the template with GET/HEAD.
CORS_ORIGINS = ("https://*.sagemaker.aws",)
CORS_METHODS = ("GET", "HEAD")
CORS_EXPOSED_HEADERS = ("ETag", "x-amz-version-id")
TEMPLATE_PREFIX = "sagemaker-project-templates/"


@dataclass(frozen=True)
class StudioTemplate:
    """The synthesized product template as the S3 route stores it."""

    file: Path
    key: str  # one key per template: Studio lists each tagged object; bucket versioning keeps history
    version: str  # the product version name, stored as object metadata

    def tagging(self) -> str:
        """The object's tags in the ``PutObject`` Tagging form (URL query)."""
        return f"{VISIBILITY_TAG[0]}={VISIBILITY_TAG[1]}"
