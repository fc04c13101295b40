"""The README and the documentation pages: their examples run, print what they show and
type-check; the README starts right; every link leads somewhere.

Conventions (docs/contributing.md): a block fenced ``python`` runs as it is; a ``text`` block
right after it is exactly what it prints.  A ``python`` block whose first line is ``# NAME.py``
is a file of a small project (the README's own code and its test), run by pytest.  Fragments
that cannot run here are fenced ``py`` and say why on their first line (``# not run: a test of
your suite``, ``# not run: Windows only``).  Python code in a block of no language (or another
one) is refused.  A ``sh`` block of one ``portpool`` command followed by a ``text`` block must
print that text.  Every page counts: the README and every page of docs/.
"""

from __future__ import annotations

import ast
import io
import re
import shlex
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
# Every page: its python blocks run as they are.
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```\s*$", re.MULTILINE | re.DOTALL)
FILE_BLOCK = re.compile(r"# (\w+\.py)\n")


def _blocks(page: Path) -> list[tuple[str, str]]:
    """(language, text) of every fenced block, in order (indented fences included).  A
    block that follows the one before it directly (nothing but blank lines between) gets
    the language ``+LANG``: an output block is one that follows its example directly."""
    text = page.read_text(encoding="utf-8")
    text = re.sub(r"^[ \t]+```", "```", text, flags=re.MULTILINE)  # fences inside list items
    found, end = [], -1
    for match in FENCE.finditer(text):
        adjacent = end >= 0 and not text[end:match.start()].strip()
        found.append((("+" if adjacent else "") + match[1], match[2]))
        end = match.end()
    return found


def _output_after(blocks: list[tuple[str, str]], index: int) -> str | None:
    """The ``text`` block that directly follows block ``index``, if there is one."""
    after = blocks[index + 1] if index + 1 < len(blocks) else None
    return after[1] if after is not None and after[0] == "+text" else None


def _examples() -> list[tuple[str, str, str | None]]:
    """(id, code, expected output or None) of every runnable python block."""
    found = []
    for page in PAGES:
        blocks = _blocks(page)
        for index, (lang, body) in enumerate(blocks):
            if lang.lstrip("+") != "python" or FILE_BLOCK.match(body):
                continue
            found.append((f"{page.name}-{index}", body, _output_after(blocks, index)))
    return found


def _files() -> dict[str, str]:
    """The README's project files (``# my_server.py`` ...), by name."""
    files = {}
    for lang, body in _blocks(README):
        named = FILE_BLOCK.match(body)
        if lang.lstrip("+") == "python" and named:
            files[named[1]] = body
    return files


# Fence languages whose blocks are not Python (an ini or toml file can parse as Python).
NOT_PYTHON = {"text", "sh", "console", "ini", "toml", "json", "yaml", "powershell", "bat", "c"}
NOT_RUN = re.compile(r"# not run: \S.{9,}")


def _unrun_python(page: Path) -> list[str]:
    """The Python blocks of ``page`` that neither run nor say why not: a ``py`` block whose
    first line is no ``# not run: REASON``, Python code in a block of no language."""
    found = []
    for index, (fence, body) in enumerate(_blocks(page)):
        lang = fence.lstrip("+")
        first = body.split("\n", 1)[0]
        if lang == "py" and not NOT_RUN.fullmatch(first):
            found.append(f"{page.name} block {index}: a py block whose first line is not"
                         f" '# not run: REASON' ({first!r})")
        elif lang not in NOT_PYTHON | {"py", "python"} and _is_code(body):
            found.append(f"{page.name} block {index}: Python in a {lang or 'plain'} block"
                         " (fence it python, or py with '# not run: REASON')")
    return found


def _is_code(body: str) -> bool:
    """Whether ``body`` parses as Python with a statement other than a bare expression
    (an output such as ``4`` or ``None`` parses too)."""
    try:
        tree = ast.parse(body)
    except SyntaxError:
        return False
    return any(not isinstance(node, ast.Expr) for node in tree.body)


def _same_lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.strip("\n").splitlines()]


EXAMPLES = _examples()


# --- the README starts right ------------------------------------------------------------------

def test_the_first_screen_says_who_it_is_for_and_has_both_commands() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    first_screen = "\n".join(lines[:40])
    assert "For people whose" in "\n".join(lines[:5])
    assert "pip install -e . && portpool demo" in first_screen
    assert "pip install -e '.[test]' && python -m pytest" in first_screen


def test_the_readme_is_short() -> None:
    assert len(README.read_text(encoding="utf-8").splitlines()) <= 300


# --- examples run and print what they show ------------------------------------------------------

def test_there_are_examples_with_their_output() -> None:
    assert len(EXAMPLES) >= 10
    assert sum(expected is not None for _, _, expected in EXAMPLES) >= 10


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_python_block_runs_or_says_why_not(page: Path) -> None:
    assert _unrun_python(page) == []


def test_a_block_that_neither_runs_nor_says_why_is_found(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("```py\nfrom portpool import patch\n```\n\n"
                    "```py\n# not run: Windows only (the real ws2_32)\nimport ctypes\n```\n\n"
                    "```py\n# not run:\nx = 1\n```\n\n"
                    "```\nimport portpool\nhost = portpool.EmulatedHost()\n```\n\n"
                    "```\nNone\n```\n\n"
                    "```ini\n[pytest]\nportpool_port_fixtures = false\n```\n", encoding="utf-8")
    assert [problem.split(":")[0] for problem in _unrun_python(page)] == [
        "page.md block 0", "page.md block 2", "page.md block 3"]


def test_every_page_of_the_docs_is_run() -> None:
    assert set(PAGES) == {README, *(ROOT / "docs").glob("*.md")}


def test_the_tests_map_names_every_test_file() -> None:
    """tests/README.md, the map of the tests, has a row for every test file and no row for
    a file that is gone."""
    import re

    text = (ROOT / "tests" / "README.md").read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| `(test_\w+\.py)` \|", text, flags=re.MULTILINE))
    files = {path.name for path in (ROOT / "tests").glob("test_*.py")}
    assert rows == files, {"without a row": sorted(files - rows), "gone": sorted(rows - files)}


def _in_a_scratch_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Examples name files of the repository (tests/data/netsh/...) and may write files of
    their own (machine.portpool): run them in a scratch folder that shows tests/."""
    (tmp_path / "tests").symlink_to(ROOT / "tests", target_is_directory=True)
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize(("code", "expected"), [(c, e) for _, c, e in EXAMPLES],
                         ids=[name for name, _, _ in EXAMPLES])
def test_example_runs_and_prints_what_the_page_shows(code: str, expected: str | None,
                                                     tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    _in_a_scratch_folder(tmp_path, monkeypatch)
    out = io.StringIO()
    with redirect_stdout(out):
        exec(compile(code, "example", "exec"), {"__name__": "example"})
    if expected is None:
        assert out.getvalue() == "", "a block that prints shows its output in a text block"
    else:
        assert _same_lines(out.getvalue()) == _same_lines(expected)


def _commands() -> list[tuple[str, list[str], str | None]]:
    """(id, argv, expected output or None) of the portpool commands the pages show."""
    found: list[tuple[str, list[str], str | None]] = []
    for page in PAGES:
        blocks = _blocks(page)
        for index, (lang, body) in enumerate(blocks):
            if lang.lstrip("+") != "sh":
                continue
            lines = [line.split("  #")[0].strip() for line in body.splitlines()]
            commands = [shlex.split(line) for line in lines if line.startswith("portpool ")]
            expected = _output_after(blocks, index)
            if len(commands) == 1 and expected is not None:
                found.append((f"{page.name}-{index}", commands[0][1:], expected))
            elif page == README:  # the README's commands all succeed
                found += [(f"{page.name}-{index}-{n}", argv[1:], None)
                          for n, argv in enumerate(commands)]
    return found


COMMANDS = _commands()


@pytest.mark.parametrize(("argv", "expected"), [(a, e) for _, a, e in COMMANDS],
                         ids=[name for name, _, _ in COMMANDS])
def test_command_runs_and_prints_what_the_page_shows(argv: list[str], expected: str | None,
                                                     tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from portpool._cli import main

    _in_a_scratch_folder(tmp_path, monkeypatch)
    status = main(argv)
    out = capsys.readouterr().out
    assert status in (0, None), out
    if expected is not None:
        assert _same_lines(out) == _same_lines(expected)


def test_the_readme_shows_commands_with_their_output() -> None:
    assert any(name.startswith("README") and expected for name, _, expected in COMMANDS)


# --- the README's project: your code and its test ---------------------------------------------

def _run_pytest(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-W", "error"], cwd=folder, capture_output=True, text=True,
                          check=False, timeout=300)


def test_the_readme_test_passes_on_the_readme_code(tmp_path: Path) -> None:
    files = _files()
    assert set(files) == {"my_server.py", "test_my_server.py"}
    for name, body in files.items():
        (tmp_path / name).write_text(body, encoding="utf-8")
    done = _run_pytest(tmp_path)
    assert done.returncode == 0 and "1 passed" in done.stdout, done.stdout + done.stderr


def test_the_readme_test_fails_without_the_exclusion(tmp_path: Path) -> None:
    """A control: with WinNAT's row gone, the README's test must fail."""
    files = _files()
    test = files["test_my_server.py"]
    assert "portpool_patch.exclude(" in test
    files["test_my_server.py"] = re.sub(r"\n\s*portpool_patch\.exclude\(.*", "", test)
    for name, body in files.items():
        (tmp_path / name).write_text(body, encoding="utf-8")
    done = _run_pytest(tmp_path)
    assert done.returncode == 1 and "1 failed" in done.stdout, done.stdout + done.stderr


# --- every example type-checks, for linux and for win32 ----------------------------------------

@pytest.mark.parametrize("platform", ["linux", "win32"])
def test_the_examples_pass_mypy_strict(platform: str, tmp_path: Path) -> None:
    """User code reading the Windows code must type-check everywhere (``err.winerror`` would
    not on Linux: typeshed declares it for win32 only; ``portpool.windows_code`` does)."""
    names = []
    for name, body in _files().items():
        (tmp_path / name).write_text(body, encoding="utf-8")
        names.append(name)
    for index, (_, code, _) in enumerate(EXAMPLES):
        name = f"example_{index}.py"
        (tmp_path / name).write_text(code, encoding="utf-8")
        names.append(name)
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--platform", platform, "--no-incremental",
         "--cache-dir", str(tmp_path / ".cache"), *names],
        cwd=tmp_path, capture_output=True, text=True, check=False, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_catches_winerror_on_linux(tmp_path: Path) -> None:
    """The control: the attribute the README steers away from is indeed refused on Linux."""
    (tmp_path / "user.py").write_text(
        "def code(err: OSError) -> int | None:\n    return err.winerror\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--platform", "linux", "--no-incremental",
         "--cache-dir", str(tmp_path / ".cache"), "user.py"],
        cwd=tmp_path, capture_output=True, text=True, check=False, timeout=600)
    assert done.returncode == 1 and '"OSError" has no attribute "winerror"' in done.stdout


# --- links, the site, the references ------------------------------------------------------------

LINK = re.compile(r"\]\(([^)\s]+)\)")


@pytest.mark.parametrize("page", [README, *sorted((ROOT / "docs").glob("*.md"))],
                         ids=lambda page: page.name)
def test_every_relative_link_leads_to_a_file(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    text = FENCE.sub("", text)
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        file, _, anchor = target.partition("#")
        path = (page.parent / file).resolve()
        assert path.exists(), f"{page.name}: {target}"
        if anchor:
            headings = re.findall(r"^#+ (.+)$", FENCE.sub("", path.read_text(encoding="utf-8")),
                                  flags=re.MULTILINE)
            assert anchor in {_slug(heading) for heading in headings}, f"{page.name}: {target}"


def _slug(heading: str) -> str:
    """The anchor GitHub and mkdocs give a heading: lower case, punctuation dropped,
    spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


REPO_PATH = re.compile(r"`((?:portpool|backends|tests|specs|examples|docs|scripts|benchmarks|\.ci|"
                       r"\.github)/[\w./-]*)`")
MADE_WHEN_RUN = {".ci/venv"}  # paths the text says a command makes


@pytest.mark.parametrize("page", [README, *sorted((ROOT / "docs").glob("*.md"))],
                         ids=lambda page: page.name)
def test_every_path_of_the_repository_a_page_names_exists(page: Path) -> None:
    named = set(REPO_PATH.findall(page.read_text(encoding="utf-8"))) - MADE_WHEN_RUN
    missing = [path for path in sorted(named) if not (ROOT / path).exists()]
    assert missing == []


def test_the_site_lists_pages_that_exist() -> None:
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    pages = re.findall(r"^\s+- [^:\n]+: (\S+\.md)\s*$", config, flags=re.MULTILINE)
    assert "index.md" in pages and len(pages) >= 8
    for page in pages:
        assert (ROOT / "docs" / page).is_file(), page
    for included in re.findall(r'--8<-- "([^"]+)"', "".join(
            p.read_text(encoding="utf-8") for p in (ROOT / "docs").glob("*.md"))):
        assert (ROOT / included).is_file(), included


# The pictures the pages show, and the command that draws each (docs/hyperv-map.svg: test_map.py).
PICTURES = {
    "vs-runner-map.svg": ["map", "--preset", "vs-runner", "--protocol", "both"],
    "netsh-16-map.svg": ["map", "--netsh", "tests/data/netsh/16-zh-CN-tcp.txt",
                         "--netsh", "tests/data/netsh/43-zh-CN-tcp-dynamicport.txt"],
}


@pytest.mark.parametrize(("name", "argv"), PICTURES.items())
def test_every_picture_is_what_its_command_draws_now(name: str, argv: list[str], tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from portpool._cli import main

    monkeypatch.chdir(ROOT)
    target = tmp_path / name
    assert main([*argv, "--svg", str(target)]) == 0
    capsys.readouterr()
    assert (ROOT / "docs" / name).read_text(encoding="utf-8") == target.read_text(encoding="utf-8")
    shown = "".join(page.read_text(encoding="utf-8") for page in (ROOT / "docs").glob("*.md"))
    assert f"]({name})" in shown and " ".join(argv[:3]) in shown


def test_the_command_reference_has_every_command() -> None:
    import argparse

    from portpool._cli import build_parser

    reference = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    commands = next(action for action in build_parser()._actions
                    if isinstance(action, argparse._SubParsersAction))
    assert len(commands.choices) >= 10
    for name in commands.choices:
        assert f"### `portpool {name}" in reference, name


def test_the_variants_table_has_every_rule_with_alternatives() -> None:
    from portpool._model._rules import ALTERNATIVES

    page = (ROOT / "docs" / "model.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (\w+) \| (`[^|]+`) \|", page, flags=re.MULTILINE)
    table = {rule: re.findall(r"`([^`]+)`", names) for rule, names in rows}
    assert table == {rule: [alt.name for alt in alts] for rule, alts in ALTERNATIVES.items()}


def test_the_readme_counts_the_rules_it_has() -> None:
    """The counts in "How sure is this?" are the rule table's own."""
    from collections import Counter

    from portpool._model._rules import ALTERNATIVES, RULES

    text = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    by = Counter(rule.confidence.value for rule in RULES.values())
    assert (f"of its {len(RULES)} rules, {by['documented']} are documented, {by['observed']} observed"
            f" and {by['assumed']} assumed, and {len(ALTERNATIVES)} keep conflicting evidence") in text
