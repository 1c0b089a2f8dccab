"""Run the pipeline definition on this machine: same JSON, step entry points as subprocesses."""
