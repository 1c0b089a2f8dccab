"""InvokeEndpoint's InferenceId rule (botocore's shape: 1-64 chars, \\A\\S[\\p{Print}]*\\z)."""

from __future__ import annotations

import uuid

import pytest

from model_container.serve import inference_id

ACCEPTED = ["a", "order-17 #a/b:c", "~" * 64, "x y", "trailing space ", '"quoted"']
REJECTED = [
    "",  # min length 1
    "x" * 65,  # max length 64
    " leading space",  # \S first
    "\tx",
    "caf\xe9",  # \p{Print} is US-ASCII
    "a\x7f",
    "a\tb",
]


@pytest.mark.parametrize("value", ACCEPTED)
def test_ids_invoke_endpoint_accepts_pass(value: str) -> None:
    assert inference_id.check(value) == value


@pytest.mark.parametrize("value", REJECTED)
def test_other_ids_fail_in_one_line_naming_value_and_rule(value: str) -> None:
    with pytest.raises(inference_id.InferenceIdError) as caught:
        inference_id.check(value)
    message = str(caught.value)
    assert "\n" not in message
    shown = f"{value!r}" if value else "'' (empty, or not ASCII text)"
    assert message.startswith(f"X-Amzn-SageMaker-Inference-Id {shown} is not valid")
    assert message.endswith("allowed: 1 to 64 printable ASCII characters, the first not a space")


def test_a_long_value_is_shown_cut() -> None:
    with pytest.raises(inference_id.InferenceIdError, match=r"'x{80}'\.\.\. is not valid"):
        inference_id.check("x" * 5000)


def test_from_environ_reads_the_wsgi_header_and_generates_uuids() -> None:
    assert inference_id.from_environ({}) is None
    assert inference_id.from_environ({"HTTP_X_AMZN_SAGEMAKER_INFERENCE_ID": "id-1"}) == "id-1"
    with pytest.raises(inference_id.InferenceIdError):
        inference_id.from_environ({"HTTP_X_AMZN_SAGEMAKER_INFERENCE_ID": ""})
    made = {inference_id.generate() for _ in range(3)}
    assert len(made) == 3 and all(uuid.UUID(value).version == 4 for value in made)
    assert all(inference_id.check(value) for value in made)
