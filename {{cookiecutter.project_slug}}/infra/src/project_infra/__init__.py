"""The project's CI/CD infrastructure: settings, resource names and the CDK construct and app."""

import os

# jsii (the bridge to the CDK's JavaScript) prints a banner on stderr for Node releases it calls
# end-of-life (Node 20 here); the CDK still works, so keep the banner out of every synth's output.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION", "1")
