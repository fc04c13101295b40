"""Output paths and error lines of the command line: ``probe --json``, ``conformance
record -o`` and ``snapshot -o`` check their file before running (exit 2, one line), and
keep a finished run on stdout when the final write fails anyway; unknown arguments name
the (sub)command they were given to; the probe's table shows the decisive call."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

import portpool._cli
from portpool import EmulatedHost
from portpool._cli import CommandError, _conformance, check_output
from portpool._probes._kit import DECISIVE, decisive
from portpool._probes._lab import EmulatedLab
from portpool._probes._report import render_table
from portpool._probes._runner import run_probe
from portpool._profiles import load_profile

from .test_cli_teach import run


def one_line_error(err: str, prefix: str) -> str:
    assert err.startswith(prefix), err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err and "PortPoolError" not in err
    return err.strip()


def _commands(target: str) -> list[list[str]]:
    return [["probe", "--only", "A2", "--json", target],
            ["conformance", "record", "--calls", "5", "-o", target],
            ["snapshot", "-o", target]]


# --- checked before running -----------------------------------------------------------------

PROGS = {"probe": "portpool probe: ", "conformance": "portpool conformance record: ",
         "snapshot": "portpool snapshot: "}


@pytest.mark.parametrize("argv", _commands("{tmp}/missing/out.json"), ids=lambda a: a[0])
def test_a_missing_directory_is_refused_before_running(
        argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [word.replace("{tmp}", str(tmp_path)) for word in argv]
    status, out, err = run(capsys, *argv)
    assert status == 2
    assert out == ""  # nothing ran: the probe would have printed its table
    line = one_line_error(err, PROGS[argv[0]])
    assert f"{tmp_path / 'missing'} does not exist" in line
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv", _commands("{tmp}/file/out.json"), ids=lambda a: a[0])
def test_a_file_in_place_of_the_directory_is_refused(
        argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "file").write_text("not a directory")
    argv = [word.replace("{tmp}", str(tmp_path)) for word in argv]
    status, out, err = run(capsys, *argv)
    assert (status, out) == (2, "")
    assert "is not a directory" in one_line_error(err, PROGS[argv[0]])


@pytest.mark.parametrize("argv", _commands("{tmp}"), ids=lambda a: a[0])
def test_a_directory_as_the_output_is_refused(
        argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [word.replace("{tmp}", str(tmp_path)) for word in argv]
    if argv[0] == "snapshot":
        argv.append("--force")  # else: "exists", as before
    status, out, err = run(capsys, *argv)
    assert (status, out) == (2, "")
    assert "is a directory" in one_line_error(err, PROGS[argv[0]])


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
@pytest.mark.parametrize("argv", _commands("{tmp}/ro/out.json"), ids=lambda a: a[0])
def test_a_read_only_directory_is_refused(
        argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("running as root: a read-only directory is writable")
        argv = [word.replace("{tmp}", str(tmp_path)) for word in argv]
        status, out, err = run(capsys, *argv)
    finally:
        folder.chmod(0o700)
    assert (status, out) == (2, "")
    assert "cannot be written" in one_line_error(err, PROGS[argv[0]])
    assert list(folder.iterdir()) == []


def test_the_check_writes_through_open_so_it_sees_what_the_write_will_see(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refused(*args: Any, **kwargs: Any) -> Any:
        raise PermissionError(13, "Access is denied")

    monkeypatch.setattr(portpool._cli, "open", refused, raising=False)
    with pytest.raises(CommandError, match=r"--json .*out.json: cannot be written \(Access is denied\)"):
        check_output(str(tmp_path / "out.json"), "--json")
    monkeypatch.undo()
    check_output(str(tmp_path / "out.json"), "--json")  # the same path, writable


def test_the_check_leaves_no_file_and_truncates_none(tmp_path: Path) -> None:
    new, old = tmp_path / "new.json", tmp_path / "old.json"
    old.write_text("kept")
    check_output(str(new), "--json")
    check_output(str(old), "--json")
    check_output(str(old), "-o", replace=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.json"]
    assert old.read_text() == "kept"


# --- the final write fails anyway: the run is kept -----------------------------------------

def test_probe_prints_the_profile_when_the_write_fails(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    def full(profile: Any, path: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("portpool._profiles.save_profile", full)
    target = tmp_path / "p.json"
    status, out, err = run(capsys, "probe", "--only", "A2", "--only", "X15", "--variant",
                           "X15=refused", "--json", str(target))
    assert status == 2
    line = one_line_error(err, "portpool probe: ")
    assert "No space left on device" in line and "stdout" in line
    table, _, rest = out.partition("\n{\n")
    assert "X15" in table and "profile written" not in out
    profile = load_profile(json.loads("{\n" + rest))
    assert profile["results"]["X15"]["observed"] == "refused"
    assert profile["results"]["A2"]["verdict"] == "agree"
    assert not target.exists()


def test_conformance_record_prints_the_trace_when_the_write_fails(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    def full(*args: Any, **kwargs: Any) -> Any:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_conformance, "open", full, raising=False)
    status, out, err = run(capsys, "conformance", "record", "--calls", "7", "--seed", "4",
                           "-o", str(tmp_path / "t.json"))
    assert status == 2
    assert "No space left on device" in one_line_error(err, "portpool conformance record: ")
    trace = json.loads(out)
    assert len(trace["calls"]) == 7 and trace["machine"]["backend"] == "emulated"
    assert trace["undo"] == []


def test_snapshot_reports_a_failed_rename_on_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    target = str(tmp_path / "m.db")
    real = os.replace

    def replace(src: Any, dst: Any) -> None:
        if os.fspath(dst) == target:
            raise PermissionError(13, "Permission denied")
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    status, out, err = run(capsys, "snapshot", "-o", target, "--preset", "hyperv")
    assert (status, out) == (2, "")
    assert "Permission denied" in one_line_error(err, "portpool snapshot: ")
    assert list(tmp_path.iterdir()) == []  # the half-made store is gone too


def test_the_help_says_what_a_failed_write_exits_with(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["probe", "--help"], ["conformance", "record", "--help"]):
        status, out, _ = run(capsys, *argv)
        assert status == 0
        assert "exits 2" in " ".join(out.split())


# --- unknown arguments name their command ---------------------------------------------------

@pytest.mark.parametrize(("argv", "prog"), [
    (["tour", "--bogus"], "portpool tour"),
    (["probe", "--list", "extra"], "portpool probe"),
    (["conformance", "record", "-o", "t.json", "--bogus"], "portpool conformance record"),
    (["conformance", "compare", "t.json", "--bogus"], "portpool conformance compare"),
    (["--bogus", "tour"], "portpool"),
])
def test_unknown_arguments_name_the_command_they_were_given_to(
        argv: list[str], prog: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, *argv)
    assert (status, out) == (2, "")
    bad = argv[0] if argv[0].startswith("--") else argv[-1]
    assert err.strip() == f"{prog}: unrecognized arguments: {bad} (see {prog} --help)"


# --- the decisive call ----------------------------------------------------------------------

def _row(table: str, rule: str) -> str:
    return next(line for line in table.splitlines() if line.startswith(f"{rule} "))


@pytest.mark.rule("Y2")
@pytest.mark.parametrize(("variant", "shown"), [
    ("1025", "start=1024 num=64511 store=active -> ERROR_INVALID_PARAMETER (87)"),
    ("1024", "start=1024 num=64511 store=active -> ok"),
])
def test_the_table_shows_y2s_decisive_call(variant: str, shown: str) -> None:
    lab = EmulatedLab(EmulatedHost(variants={"Y2": variant}), via="emulated", elevated=True)
    profile = run_probe(lab, ["Y2"])
    result = profile.results["Y2"]
    assert result.observed == variant
    row = _row(render_table(profile), "Y2")
    assert shown in row and DECISIVE not in row
    assert sum(line.endswith(DECISIVE) for line in result.evidence) == (variant == "1025")


def test_decisive_marks_one_line_once_and_refuses_a_line_that_is_not_there() -> None:
    lab = EmulatedLab(EmulatedHost(), via="emulated", elevated=True)
    lab.evidence = ["first -> WSAEACCES (10013)", "second -> ok"]
    decisive(lab, 0)
    decisive(lab, 0)
    assert lab.evidence == ["first -> WSAEACCES (10013)" + DECISIVE, "second -> ok"]
    with pytest.raises(ValueError, match="no evidence line 2"):
        decisive(lab, 2)
