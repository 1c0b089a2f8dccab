"""The seams the twin's slow tier breaks on one side only, each with the stage that must fail and
a piece of its one-line message. Kept apart from the slow tier so a fast test can check that every
edit still applies to a fresh bake (a mutation whose text drifted fails only after an hour of CI)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mutation:
    """One seam broken on one side only: the file, the text replaced, and what must fail."""

    file: str
    edits: tuple[tuple[str, str], ...]  # (old, new), each old text found exactly once
    stage: str  # the stage name's number
    message: str  # a piece of the one-line failure


MUTATIONS = {
    "s3-prefix-one-side": Mutation(
        # Both sides take the prefix from project_names; a prefix written by hand on one side is
        # the break (the stack's rule and output keep data/raw/, the pipeline reads elsewhere).
        # model-build's own test of the names it uses (test_config_names.py) stops the push's build
        # before any pipeline runs on the wrong prefix.
        "model-build/src/model_build/config.py",
        (
            (
                'f"s3://{self.bucket}/{self.names.raw_data_prefix}"',
                'f"s3://{self.bucket}/{self.names.base}/data/incoming/"',
            ),
        ),
        "2",
        "unit tests failed in: model-build",
    ),
    "output-artifact-renamed": Mutation(
        "model-deploy/buildspec.yml",
        (("    - staging-config-export.json", "    - staging-config.json"),),
        "4",
        "staging-config.json",
    ),
    "codebuild-variable-dropped": Mutation(
        "infra/src/project_infra/builds.py",
        (
            (
                '        "ARTIFACT_BUCKET": artifacts.bucket.bucket_name,\n'
                '        "SAGEMAKER_PIPELINE_ROLE_ARN"',
                '        "SAGEMAKER_PIPELINE_ROLE_ARN"',
            ),
        ),
        "2",
        "ARTIFACT_BUCKET",
    ),
    "event-detail-type-typo": Mutation(
        "infra/src/project_infra/events.py",
        (('"SageMaker Model Package State Change"', '"SageMaker Model Package State Changed"'),),
        "4",
        "the approval event started no deploy pipeline",
    ),
    "endpoint-parameter-renamed": Mutation(
        "model-deploy/endpoint.yml",
        # renamed consistently inside endpoint.yml: only the deploy build's side still says InstanceType
        (
            ("  InstanceType:\n", "  EndpointInstanceType:\n"),
            ("!Ref InstanceType\n", "!Ref EndpointInstanceType\n"),
        ),
        "4",
        "Build/StackParameters",  # the deploy build's own template tests catch it first
    ),
    "endpoint-tests-input-dropped": Mutation(
        # The endpoint tests send the examples of the deployed package, which reach them as the
        # deploy build's output (CODEBUILD_SRC_DIR_BuildArtifact); without that second input the
        # step stops before sending anything (infra's test_repo_contract.py checks the input too).
        "infra/src/project_infra/pipelines.py",
        (("                extra_inputs=[build],  # examples.csv of the package deployed\n", ""),),
        "4",
        "ENDPOINT_EXAMPLES=/examples.csv is not a file",
    ),
    # Not here: a renamed stage-config key. The deploy build's same test run stops it (the shipped configs
    # against stage-config.schema.json, model-deploy/tests/test_stage_config.py, which also rejects
    # unknown keys); the mutation above already shows that step runs before any deploy. Each
    # mutation here reruns the flow's first stages (about a minute where model-build's unit tests
    # are unchanged: the twin reuses their passing run, twin/reuse.py; three where they changed).
}
