"""The repository stands alone and is tidy: a fresh clone with nothing beside it has every
file its tests, documents and rules name; the examples run without arguments; the virtual
environments the README and .ci/run make are ignored by git."""

from __future__ import annotations

import json
import re
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

import portpool

ROOT = Path(__file__).resolve().parent.parent
NETSH = ROOT / "tests" / "data" / "netsh"
# What the repository must never name: files beside the checkout, or this machine's paths.
OUTSIDE = re.compile(r'shared/(?:netsh-samples|research|seed)|\.\./shared\b|/work/|"shared" / "')
SKIP_DIRS = {".git", "build", "dist", "site", ".venv", "venv", ".hypothesis", ".mypy_cache",
             ".ruff_cache", ".pytest_cache", "__pycache__", ".wine"}


def _text_files() -> list[Path]:
    found = []
    for path in ROOT.rglob("*"):
        parts = set(path.relative_to(ROOT).parts)
        if parts & SKIP_DIRS or any(part.endswith(".egg-info") for part in parts):
            continue
        if path.is_file() and path != Path(__file__).resolve() and path.suffix in {
                ".py", ".md", ".txt", ".toml", ".yml", ".yaml", ".json", ".cfg", ".svg", ""}:
            found.append(path)
    return found


def test_nothing_names_files_outside_the_repository() -> None:
    files = _text_files()
    assert len(files) > 50
    offenders = []
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        offenders += [f"{path.relative_to(ROOT)}: {match[0]}" for match in OUTSIDE.finditer(text)]
    assert offenders == []


def test_the_rules_cite_sources_a_user_can_open() -> None:
    from portpool._model._rules import SOURCES

    # A source with no public address known: the test file is named, its suite and its words.
    unaddressed = {"PAL_REUSE"}
    for key, text in SOURCES.items():
        assert "shared/" not in text and "research/" not in text, key
        if key not in unaddressed:
            assert re.search(r"https?://|tests/|docs/", text), (key, text)
    for key in ("WINE", "NETSH_SAMPLES", "WILD_OBS"):
        named = re.search(r"\b((?:tests|docs)/[\w./-]+)", SOURCES[key])
        assert named and (ROOT / named[1]).exists(), key


def test_a_rule_that_cites_only_the_research_notes_is_an_assumption() -> None:
    """D-Rnn / D-Qnn point into unpublished notes: they may stand beside a source a user can
    open, or on an assumed row, never alone on a documented or observed one."""
    from portpool._model._rules import ALTERNATIVES, RULES, SOURCES
    from portpool._model._rules._schema import Confidence

    openable = [key for key in SOURCES if key != "DOSSIER"]
    rows = [(rule.id, rule.source, rule.confidence) for rule in RULES.values()]
    rows += [(f"{rule}: {alt.name}", alt.source, alt.confidence)
             for rule, alts in ALTERNATIVES.items() for alt in alts]
    alone = [row_id for row_id, source, confidence in rows
             if confidence is not Confidence.ASSUMED
             and not re.search(r"https?://|tests/|#\d|\b(?:" + "|".join(openable) + r")\b", source)]
    assert alone == []


# --- the netsh samples live here, with their provenance ----------------------------------------

def test_the_netsh_samples_are_in_the_repository_with_their_sources() -> None:
    truths = sorted(NETSH.glob("[0-9][0-9].json"))
    assert len(truths) >= 7
    assert (NETSH / "README.md").is_file()
    for path in truths:
        truth = json.loads(path.read_text(encoding="utf-8"))
        assert (NETSH / truth["file"]).is_file(), truth["file"]
        assert truth["source"] and truth["source_kind"], path.name
        assert truth.get("rows") or truth.get("dynamic"), path.name


# --- hygiene ------------------------------------------------------------------------------------

def test_git_ignores_the_virtual_environments_and_the_site() -> None:
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").split()
    assert {".venv/", ".ci/venv/", "site/"} <= set(ignored)


def test_ci_uses_a_virtual_environment_of_its_own() -> None:
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"-m venv --clear \S*\.ci/venv", script)
    assert re.search(r'(\.|source) "?\$?\S*\.ci/venv/bin/activate', script)
    assert "mkdocs build --strict" in script
    subprocess.run(["bash", "-n", str(ROOT / ".ci" / "run")], check=True)


EXAMPLES = sorted(path.name for path in (ROOT / "examples").glob("*.py"))


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_example_runs_without_arguments(name: str, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """Under the patch, as the README runs them: with no arguments each runs a default case."""
    monkeypatch.setattr(sys, "argv", [name])
    with portpool.patch(admin=True), pytest.raises(SystemExit) as info:
        runpy.run_path(str(ROOT / "examples" / name), run_name="__main__")
    out = capsys.readouterr().out
    assert info.value.code in (0, None), out
    assert out.strip()


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_example_says_its_usage_for_bad_arguments(name: str, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "argv", [name, "not-a-number"])
    with portpool.patch(), pytest.raises(SystemExit) as info:
        runpy.run_path(str(ROOT / "examples" / name), run_name="__main__")
    assert info.value.code == 2
    assert capsys.readouterr().err.startswith("usage:")


@pytest.mark.skipif(sys.platform == "win32", reason="on Windows the examples are at home")
@pytest.mark.parametrize("name", EXAMPLES)
def test_an_example_off_windows_says_how_to_run_it(name: str) -> None:
    """Without the patch, off Windows, a Windows program says what it is, not a traceback."""
    done = subprocess.run([sys.executable, str(ROOT / "examples" / name)],
                          capture_output=True, text=True, check=False, timeout=60)
    if done.returncode == 0:  # written against portpool's interface: it runs anywhere
        assert done.stdout.strip()
        return
    assert "Traceback" not in done.stderr, done.stderr
    assert "portpool.patch()" in done.stderr
