"""The CI workflow: linted by a real workflow linter, and every Windows step also run
here, on the emulated backend."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from portpool._cli import main

REPO = Path(__file__).resolve().parent.parent
WORKFLOW = REPO / ".github" / "workflows" / "ci.yml"
README_TEST_COMMAND = "pip install -e '.[test]' && python -m pytest"


def _workflow() -> Any:
    return YAML(typ="safe").load(WORKFLOW.read_text(encoding="utf-8"))


def test_the_workflow_passes_the_github_workflow_schema() -> None:
    """check-jsonschema (the `test` extra) with its bundled SchemaStore schema for GitHub
    workflows: no network."""
    linter = shutil.which("check-jsonschema") or str(Path(sys.executable).with_name("check-jsonschema"))
    done = subprocess.run([linter, "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_linter_bites(tmp_path: Path) -> None:
    broken = tmp_path / "ci.yml"
    broken.write_text("name: x\non: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
                      "      - run: echo\n        uses: actions/checkout@v4\n        wtih: {}\n",
                      encoding="utf-8")
    linter = shutil.which("check-jsonschema") or str(Path(sys.executable).with_name("check-jsonschema"))
    done = subprocess.run([linter, "--builtin-schema", "vendor.github-workflows", str(broken)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 1


def _runs(job: str) -> list[str]:
    return [step["run"].strip() for step in _workflow()["jobs"][job]["steps"] if "run" in step]


def test_the_linux_job_runs_ci_run_which_runs_the_readme_test_command() -> None:
    assert any(run.endswith("bash .ci/run") for run in _runs("linux"))
    assert README_TEST_COMMAND in (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert README_TEST_COMMAND in (REPO / "README.md").read_text(encoding="utf-8")


def test_the_windows_job_tests_probes_records_and_uploads() -> None:
    job = _workflow()["jobs"]["windows"]
    assert job["runs-on"] == "windows-latest"
    runs = _runs("windows")
    assert runs[0] == README_TEST_COMMAND
    assert runs[1:] == ["portpool probe --json profile.json",
                        "portpool conformance record --backend windows -o trace.json"]
    upload = next(step for step in job["steps"] if step.get("uses", "").startswith(
        "actions/upload-artifact@"))
    assert upload["with"]["path"].split() == ["profile.json", "trace.json"]
    assert all(step.get("if") == "${{ always() }}" for step in job["steps"][3:])


@pytest.mark.parametrize("command", [run for run in _runs("windows") if run.startswith("portpool ")])
def test_every_windows_portpool_step_runs_here_on_the_emulated_backend(
        command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """The same words, with the real machine swapped for an emulated one (off Windows the
    default backend is already the emulated one)."""
    argv = shlex.split(command)[1:]
    if "--backend" in argv:
        argv[argv.index("--backend") + 1] = "emulated"
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 0, capsys.readouterr()
    written = argv[argv.index("--json" if "--json" in argv else "-o") + 1]
    data = json.loads((tmp_path / written).read_text(encoding="utf-8"))
    assert data["machine"]["backend"] == "emulated"
