"""The inference id of a request: InvokeEndpoint's ``InferenceId``, or one made here.

A caller sets ``InferenceId`` on InvokeEndpoint and the runtime sends it as the
``X-Amzn-SageMaker-Inference-Id`` header (botocore's sagemaker-runtime model, member ``InferenceId``
of ``InvokeEndpointInput``, ``locationName`` of that header; the SageMaker Python SDK's local mode
forwards it to the container under the same name). Data capture then records it as
``eventMetadata.inferenceId``, and Model Monitor joins ground truth on it; without one, SageMaker
records only its own ``eventId``, and the join uses that
(https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-model-quality-merge.html).

Stdlib only: the twin's runtime stand-in validates with the same rule.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping

HEADER = "X-Amzn-SageMaker-Inference-Id"
ENVIRON_KEY = "HTTP_X_AMZN_SAGEMAKER_INFERENCE_ID"  # the header as WSGI names it (PEP 3333)
MAX_LENGTH = 64
# botocore's shape InferenceId: min 1, max 64, pattern \A\S[\p{Print}]*\z. \p{Print} is Java's
# POSIX class (US-ASCII 0x20-0x7E), so: a visible ASCII character, then visible ASCII or spaces.
_VALID = re.compile(rf"[!-~][ -~]{{0,{MAX_LENGTH - 1}}}")
ALLOWED = f"1 to {MAX_LENGTH} printable ASCII characters, the first not a space"


class InferenceIdError(ValueError):
    """An inference id InvokeEndpoint would not accept."""


def check(value: str) -> str:
    """``value`` if InvokeEndpoint accepts it as ``InferenceId``; else InferenceIdError (one line)."""
    if _VALID.fullmatch(value) is None:
        shown = repr(value[:80]) + ("..." if len(value) > 80 else "")
        if not value:  # granian hands a header that is not ASCII text to WSGI as ""
            shown = "'' (empty, or not ASCII text)"
        raise InferenceIdError(f"{HEADER} {shown} is not valid; allowed: {ALLOWED}")
    return value


def from_environ(environ: Mapping[str, object]) -> str | None:
    """The caller's inference id of a WSGI request (None without the header), checked."""
    value = environ.get(ENVIRON_KEY)
    return None if value is None else check(str(value))


def generate() -> str:
    """A new id (a random UUID) for a request that came without one."""
    return str(uuid.uuid4())
