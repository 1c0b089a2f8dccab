"""Generated documents and copied data stay in step with their sources."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re

from tests.baking import PROJECT_TEMPLATE, REPO, load_hook

SHARED_DATA_MD5 = "67324af803dada5165a55ec9625783af"  # of the UCI file as distributed


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_options_doc_is_generated_from_cookiecutter_json() -> None:
    assert (REPO / "docs" / "options.md").read_text(encoding="utf-8") == _script(
        "options_doc"
    ).render(), "docs/options.md is stale: run .venv/bin/python scripts/options_doc.py"


def test_every_prompt_has_a_label_and_a_rule() -> None:
    config = json.loads((REPO / "cookiecutter.json").read_text(encoding="utf-8"))
    asked = {key for key in config if not key.startswith("_")}
    assert asked == set(config["__prompts__"])
    assert asked == set(load_hook("pre_gen_project").ALLOWED)


def test_hook_aws_data_matches_pinned_botocore() -> None:
    hook = load_hook("pre_gen_project")
    for name, values in _script("sync_aws_enums").aws_data().items():
        assert getattr(hook, name) == frozenset(values), (
            f"{name} is stale: run .venv/bin/python scripts/sync_aws_enums.py"
        )


def test_defaults_are_in_the_hook_data() -> None:
    config = json.loads((REPO / "cookiecutter.json").read_text(encoding="utf-8"))
    hook = load_hook("pre_gen_project")
    assert config["aws_region"] in hook.AWS_REGIONS
    assert config["processing_instance_type"] in hook.PROCESSING_INSTANCE_TYPES
    assert config["training_instance_type"] in hook.TRAINING_INSTANCE_TYPES
    assert config["endpoint_instance_type"] in hook.ENDPOINT_INSTANCE_TYPES


def test_bundled_data_is_the_uci_file_with_its_attribution() -> None:
    data = REPO / PROJECT_TEMPLATE / "model-build" / "data"
    raw = (data / "raw" / "mammographic_masses.data").read_bytes()
    assert hashlib.md5(raw).hexdigest() == SHARED_DATA_MD5
    attribution = (data / "README.md").read_text(encoding="utf-8")
    assert "CC BY 4.0" in attribution
    assert "Elter" in attribution


def test_manifest_rows_name_real_template_paths() -> None:
    root = REPO / PROJECT_TEMPLATE
    for row in load_hook("post_gen_project").MANIFEST:
        assert (root / row).exists(), f"MANIFEST row {row!r} names nothing in the template"


def test_no_jinja_in_template_python() -> None:
    """Python is copied unrendered (_copy_without_render), so it must not need rendering."""
    for path in (REPO / PROJECT_TEMPLATE).rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "{{ cookiecutter" not in text and "{%" not in text, path


def test_generated_files_refer_only_to_what_ships() -> None:
    """No template-only document, benchmark folder or issue number in a generated text file."""
    forbidden = re.compile(r"docs/design\.md|\bbench/|\bissue #\d", re.IGNORECASE)
    root = REPO / PROJECT_TEMPLATE
    offenders = []
    for path in root.rglob("*"):
        if path.is_file() and path.suffix in {".py", ".md", ".yml", ".toml", ".txt", ".json", ""}:
            text = path.read_text(encoding="utf-8", errors="replace")
            offenders += [
                f"{path.relative_to(root)}: {m.group()}" for m in forbidden.finditer(text)
            ]
    assert not offenders, offenders


def test_your_model_section_names_the_whole_interface() -> None:
    """The project README's "Your model" lists exactly what the model folder exports for the
    machinery (its ``__all__``; ``Fitted`` is the type ``fit`` returns, not a name to call), and the
    package's docstring describes each."""
    readme = (REPO / PROJECT_TEMPLATE / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Your model", 1)[1].split("\n## ", 1)[0]
    listed = section.split("project_model/__init__.py`:", 1)[1].split("(what", 1)[0]
    init = (
        REPO / PROJECT_TEMPLATE / "model-build" / "model" / "src" / "project_model" / "__init__.py"
    )
    text = init.read_text(encoding="utf-8")
    exported = set(re.findall(r'^    "(\w+)",$', text.split("__all__", 1)[1], re.MULTILINE))
    assert exported - {"Fitted"} == set(re.findall(r"`(\w+)`", listed))
    documented = set(re.findall(r"``(\w+)[(`]", text.split("__all__", 1)[0]))
    assert exported - {"Fitted"} <= documented
