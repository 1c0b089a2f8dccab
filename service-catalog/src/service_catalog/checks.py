"""What SageMaker Projects needs of a published template, as checks of the synthesized templates
(the tests run them for every bake; each returns the problems it finds, empty when all is well)."""

from __future__ import annotations

import json
from typing import Any

from project_infra.parameters import PROJECT_ID, PROJECT_NAME

from service_catalog.studio import VISIBILITY_TAG

Template = dict[str, Any]


def _of_type(template: Template, kind: str) -> dict[str, Template]:
    return {k: r for k, r in template.get("Resources", {}).items() if r["Type"] == kind}


def _visible(resource: Template) -> bool:
    tags = resource.get("Properties", {}).get("Tags", [])
    return {"Key": VISIBILITY_TAG[0], "Value": VISIBILITY_TAG[1]} in tags


def product_problems(product: Template) -> list[str]:
    """The product template: the two parameters Studio passes, and nothing Service Catalog or the
    S3 route cannot resolve (CDK bootstrap parameters or buckets, other stacks' exports)."""
    problems = []
    parameters = product.get("Parameters", {})
    for name in (PROJECT_NAME, PROJECT_ID):
        if parameters.get(name, {}).get("Type") != "String":
            problems.append(f"parameter {name} (String) missing")
    if "BootstrapVersion" in parameters or "Rules" in product:
        problems.append("depends on the CDK bootstrap version")
    text = json.dumps(product)
    if "cdk-hnb659fds" in text:
        problems.append("references the CDK bootstrap bucket")
    if "Fn::ImportValue" in text:
        problems.append("imports another stack's export")
    return problems


def catalog_problems(catalog: Template) -> list[str]:
    """The catalog stack: one portfolio and one product, both Studio-visible, the product in the
    portfolio, a launch-role constraint on the pair, and a principal association."""
    problems = []
    portfolios = _of_type(catalog, "AWS::ServiceCatalog::Portfolio")
    products = _of_type(catalog, "AWS::ServiceCatalog::CloudFormationProduct")
    if len(portfolios) != 1 or len(products) != 1:
        return [f"expected one portfolio and one product, found {len(portfolios)}, {len(products)}"]
    ((portfolio_id, portfolio),) = portfolios.items()
    ((product_id, product),) = products.items()
    for name, resource in (("portfolio", portfolio), ("product", product)):
        if not _visible(resource):
            problems.append(f"{name} lacks the tag {VISIBILITY_TAG[0]}={VISIBILITY_TAG[1]}")
    pair = {"PortfolioId": {"Ref": portfolio_id}, "ProductId": {"Ref": product_id}}

    def linked(kind: str) -> list[Template]:
        return [
            r
            for r in _of_type(catalog, kind).values()
            if all(r["Properties"].get(k) == v for k, v in pair.items())
        ]

    if len(linked("AWS::ServiceCatalog::PortfolioProductAssociation")) != 1:
        problems.append("the product is not in the portfolio")
    constraints = linked("AWS::ServiceCatalog::LaunchRoleConstraint")
    if len(constraints) != 1:
        problems.append("no launch-role constraint on the product in the portfolio")
    elif not {"LocalRoleName", "RoleArn"} & set(constraints[0]["Properties"]):
        problems.append("the launch-role constraint names no role")
    principals = [
        r
        for r in _of_type(catalog, "AWS::ServiceCatalog::PortfolioPrincipalAssociation").values()
        if r["Properties"].get("PortfolioId") == {"Ref": portfolio_id}
    ]
    if not principals:
        problems.append("no principal may use the portfolio")
    return problems
