"""The project's CI/CD infrastructure: settings, resource names and (with CDK) the stacks."""
