"""Profiles: what ``portpool probe`` measured, as data that drives the emulator."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from portpool import EmulatedHost
from portpool._model._rules import ALTERNATIVES, DEFAULT_VARIANTS
from portpool.probe import EmulatedLab, load_profile, load_profiles, profile_variants, run_probe, save_profile

REPO = Path(__file__).resolve().parent.parent
CASES = [pytest.param(rule, row.name, marks=pytest.mark.rule(rule), id=f"{rule}={row.name}")
         for rule, rows in ALTERNATIVES.items() for row in rows]


@pytest.mark.parametrize(("rule", "name"), CASES)
def test_a_probed_profile_makes_the_same_machine(rule: str, name: str, tmp_path: Path) -> None:
    """Probe a machine set to one alternative, save the profile, make a host from it:
    the host runs that alternative (and the defaults elsewhere)."""
    probed = EmulatedHost(seed=1, variants={rule: name})
    path = tmp_path / "profile.json"
    save_profile(run_probe(EmulatedLab(probed), only=[rule]).as_json(), path)
    host = EmulatedHost(profile=path)
    assert host.variants == {**DEFAULT_VARIANTS, rule: name}
    assert EmulatedHost.preset("hyperv", profile=str(path)).variants[rule] == name


def test_explicit_variants_win_over_the_profile() -> None:
    profile = {"results": {"X15": {"observed": "refused"}, "X14": {"observed": "succeeds"}}}
    host = EmulatedHost(profile=profile, variants={"X15": "succeeds"})
    assert (host.variants["X15"], host.variants["X14"]) == ("succeeds", "succeeds")


def test_unsettled_and_single_behaviour_rules_keep_the_defaults() -> None:
    profile = {"machine": {"windows": "10.0.26100"},
               "results": {"X15": {"verdict": "unmatched", "observed": None},
                           "A2": {"verdict": "disagree", "observed": None},
                           "X14": {"verdict": "skipped", "observed": None}}}
    assert profile_variants(profile) == {}
    assert EmulatedHost(profile=profile).variants == DEFAULT_VARIANTS


@pytest.mark.parametrize(("data", "message"), [
    ({"machine": {}}, "a 'results' mapping"),
    ({"results": {"X15": "refused"}}, "must map a rule id to a mapping"),
    ({"results": {"X15": {"observed": 3}}}, "'observed' must be an alternative name or null"),
    ({"results": {"X15": {"observed": "sometimes"}}}, "not one of its alternatives (succeeds, refused)"),
    ({"results": {"X15": {"verdict": "maybe"}}}, "'verdict' must be one of"),
    ({"machine": [], "results": {}}, "'machine' must be a mapping"),
])
def test_bad_profiles_are_refused_with_the_reason(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        profile_variants(data)


def test_profile_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match="is not JSON"):
        load_profile(bad)
    with pytest.raises(TypeError):
        load_profile(3)  # type: ignore[arg-type]  # wrong on purpose
    with pytest.raises(ValueError, match="results"):
        save_profile({"machine": {}}, tmp_path / "x.json")
    assert not (tmp_path / "x.json").exists()
    good = {"machine": {"windows": "10.0.22631"}, "results": {"X13": {"observed": "hidden"}}}
    save_profile(good, tmp_path / "good.json")
    assert json.loads((tmp_path / "good.json").read_text(encoding="utf-8")) == good
    assert load_profiles(tmp_path / "missing") == {}
    with pytest.raises(ValueError, match="is not JSON"):
        load_profiles(tmp_path)  # bad.json is there
    bad.unlink()
    assert load_profiles(tmp_path) == {"good.json": good}


def test_the_measured_profiles_load_and_the_directory_says_how_to_add_one() -> None:
    folder = REPO / "specs" / "profiles"
    readme = (folder / "README.md").read_text(encoding="utf-8")
    assert "portpool probe --json profile.json" in readme and "None has been measured yet" in readme
    for name, profile in load_profiles(folder).items():  # none yet; each must load when added
        assert profile_variants(profile) is not None, name


@pytest.mark.parametrize(("content", "message"), [
    (b'{"results": {"\xff": {}}}', "not JSON: not UTF-8 text"),
    (b"[" * 100_000 + b"]" * 100_000, "not JSON: nested too deeply"),
    (b'{"results": {"X15": {"observed": ' + b"1" * 5000 + b"}}}", "not JSON: Exceeds the limit"),
])
def test_a_profile_file_that_is_not_json_says_so(tmp_path: Path, content: bytes, message: str) -> None:
    """Issue 20: a codec error, a RecursionError and a bare int-digits error came out."""
    path = tmp_path / "profile.json"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message):
        EmulatedHost(profile=path)


def test_a_huge_int_in_a_profile_mapping_is_shown_not_written_out() -> None:
    with pytest.raises(ValueError, match=r"observed.*int of about 5,001 digits"):
        load_profile({"results": {"X15": {"observed": 10**5000}}})
