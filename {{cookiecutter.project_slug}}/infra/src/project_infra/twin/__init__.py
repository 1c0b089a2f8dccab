"""The cloud twin: the project's CI/CD flow rehearsed offline against an AWS emulator on 127.0.0.1."""
