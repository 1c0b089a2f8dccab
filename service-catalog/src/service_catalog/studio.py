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
# The domain tag that points Studio at the S3 templates, value s3://<bucket>/<prefix>/ (docs below).
DOMAIN_TEMPLATES_TAG = "sagemaker:projectS3TemplatesLocation"
# The developer guide asks for "a CORS policy" without giving one; this is the rule of AWS's sample
# for the S3 route (S3_TEMPLATES_SAMPLE, cors-policy.json), so Studio, a browser app on
# *.sagemaker.aws, can read the bucket. CORS grants nothing by itself: the bucket policy limits
# Studio to reading the templates.
CORS_ORIGINS = ("https://*.sagemaker.aws",)
CORS_METHODS = ("POST", "PUT", "GET", "HEAD", "DELETE")
CORS_ALLOWED_HEADERS = ("*",)
CORS_EXPOSED_HEADERS = (
    "ETag",
    "x-amz-delete-marker",
    "x-amz-id-2",
    "x-amz-request-id",
    "x-amz-server-side-encryption",
    "x-amz-version-id",
)
S3_TEMPLATES_GUIDE = (
    "https://docs.aws.amazon.com/sagemaker/latest/dg/"
    "sagemaker-projects-templates-custom.html#sagemaker-projects-templates-s3"
)
S3_TEMPLATES_SAMPLE = (
    "https://github.com/aws-samples/sagemaker-custom-project-templates/tree/main/s3_templates"
)
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
