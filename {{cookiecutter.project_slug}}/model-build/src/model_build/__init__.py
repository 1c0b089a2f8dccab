"""Build the project's SageMaker pipeline, run it in the cloud, or run its definition locally."""
