"""Publish the template to SageMaker Studio: a Service Catalog portfolio and product, and the same
product template as an S3-provisioned Studio organization template."""
