"""The Windows-verified corpus: every expectation of Wine's Winsock tests that portpool's
surface can express (tests/data/wine/corpus.json), run through the emulated ws2_32 and
through the PortPool interface on both backends.

A record that disagrees with the model is listed in ``KNOWN`` with the rule that explains
it (an alternative, or a behaviour the model leaves out); such a record must still fail
(xfail_strict), so fixing the model forces the list to shrink.  See docs/wine-corpus.md.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from portpool import EmulatedHost, PortPool, Socket
from portpool._model._rules import RULES, SOURCES

from ._wine_corpus import ApiRunner, DllRunner, api_record, expectations, load

CORPUS = load()
RECORDS: list[dict[str, Any]] = CORPUS["records"]

#: Record id prefixes and the rules whose behaviour they check (the rule marks come from
#: here, so tests/test_specs.py sees every id).
RULES_BY_PREFIX: dict[str, tuple[str, ...]] = {
    "startup-": ("B15", "B13", "B16"),
    "without-startup": ("B13",),
    "cleanup-": ("B13",),
    "wsasocket-": ("W6", "W7", "W8", "W9", "W13", "B16"),
    "socket-raw": ("W10",),
    "socket-type0": ("W13",),
    "bind-faults": ("B3", "W4", "W14"),
    "bind-ipproto": ("L1", "W2", "W3", "B16"),
    "bind-ipv6-old": ("B3",),
    "bind-any-tcp": ("W1", "B16"),
    "getsockname": ("W5", "B3", "B16"),
    "getpeername": ("K5", "R9b", "B3"),
    "connect-udp": ("K4", "K5", "K7"),
    "broadcast-option": ("O1", "K6", "L4"),
    "ipv6only-default": ("O6", "C15"),
    "ipv6only-on-inet": ("O8",),
    "ipv6only-dual": ("C20", "O6"),
    "reuseaddr-": ("C1", "C2", "C4", "O7"),
    "reuse-exclusive": ("O4",),
    "exclusive-": ("C1", "C2", "C5", "C6", "C14", "C20", "L2"),
    "listen-": ("K1",),
    "connect-l": ("K1",),
    "sockopt-": ("O1", "O2", "O3", "O9", "O10", "B17", "B18"),
    "optsize-": ("O3", "O7", "O9", "B16", "B17", "B18"),
    "validity-": ("O1", "O9"),
    "ioctl-": ("B3", "B8"),
    "accept-inheritance": ("S9", "O1", "T4"),
    "accept-addrlen": ("B3", "S9"),
}

#: Records the model answers differently, each with the rule that explains it.
KNOWN: dict[str, str] = {
}


def rules_of(record: dict[str, Any]) -> tuple[str, ...]:
    """The rules ``record`` checks (by its id's prefix)."""
    for prefix, ids in RULES_BY_PREFIX.items():
        if record["id"].startswith(prefix):
            return ids
    raise LookupError(f"corpus record {record['id']} has no rules: add its prefix to RULES_BY_PREFIX")


def _params(records: list[dict[str, Any]]) -> list[Any]:
    out = []
    for record in records:
        marks: list[Any] = [pytest.mark.rule(*rules_of(record))]
        if record["id"] in KNOWN:
            marks.append(pytest.mark.xfail(reason=KNOWN[record["id"]], strict=True))
        out.append(pytest.param(record, id=record["id"], marks=marks))
    return out


def _needs_met(record: dict[str, Any], has: Callable[[str], bool]) -> None:
    missing = [need for need in record["needs"] if not has(need)]
    if missing:
        pytest.skip(f"needs {', '.join(missing)}, which portpool's surface does not have yet")


# The ids RULES_BY_PREFIX gives, written out for tests/test_specs.py, which reads them here.
@pytest.mark.rule("B3", "B8", "B13", "B15", "B16", "B17", "B18", "C1", "C2", "C4", "C5", "C6", "C14",
                  "C15", "C20", "K1", "K4", "K5", "K6", "K7", "L1", "L2", "L4", "O1", "O2", "O3", "O4",
                  "O6", "O7", "O8", "O9", "O10", "R9b", "S9", "T4", "W1", "W2", "W3", "W4", "W5", "W6", "W7", "W8",
                  "W9", "W10", "W13", "W14")
@pytest.mark.parametrize("record", _params(RECORDS))
def test_record_through_the_emulated_ws2_32(record: dict[str, Any]) -> None:
    host = EmulatedHost(seed=1)
    dlls = host.dlls()
    _needs_met(record, lambda name: hasattr(dlls.ws2_32, name))
    DllRunner(record, dlls.ws2_32).run()


@pytest.mark.parametrize("record", _params([r for r in RECORDS if api_record(r)]))
def test_record_through_the_interface(record: dict[str, Any], new_process: Callable[..., PortPool]) -> None:
    _needs_met(record, lambda name: hasattr(Socket, name))
    ApiRunner(record, new_process()).run()


def test_the_written_out_ids_are_those_of_the_prefixes() -> None:
    marked = set(test_record_through_the_emulated_ws2_32.pytestmark[-1].args)
    assert marked == {rule for ids in RULES_BY_PREFIX.values() for rule in ids}


def test_every_record_cites_its_source_and_a_known_rule() -> None:
    sources = CORPUS["sources"]
    for source in sources.values():
        assert re.fullmatch(r"https://github\.com/wine-mirror/wine/blob/[0-9a-f]{40}/dlls/ws2_32/tests/"
                            r"\w+\.c", source["url"]), source
        assert source["commit"] in source["url"]
    ids = [record["id"] for record in RECORDS]
    assert len(ids) == len(set(ids)), "duplicate record ids"
    for record in RECORDS:
        assert record["source"] in sources, record["id"]
        assert re.fullmatch(r"test_\w+", record["function"]), record["id"]
        assert list(expectations(record)), f"{record['id']} checks nothing"
        assert set(rules_of(record)) <= set(RULES), record["id"]
    assert set(KNOWN) <= set(ids), "KNOWN names a record the corpus does not have"


def test_rules_that_cite_wine_are_checked_by_the_corpus() -> None:
    # A rule whose source names Wine's tests must have corpus records checking it, and
    # the rule table must cite the files the corpus was read from.
    assert {"WINE_SOCK", "WINE_PROTOCOL"} <= set(SOURCES)
    for key in ("WINE_SOCK", "WINE_PROTOCOL"):
        commit = re.search(r"[0-9a-f]{40}", SOURCES[key])
        assert commit is not None and commit.group() in {s["commit"] for s in CORPUS["sources"].values()}
    checked = {rule for record in RECORDS for rule in rules_of(record)}
    citing = {rule.id for rule in RULES.values() if "WINE_SOCK" in rule.source or "WINE_PROTOCOL" in rule.source}
    assert citing, "no rule cites Wine's tests"
    assert citing <= checked, f"rules citing Wine without corpus records: {sorted(citing - checked)}"


def summary() -> dict[str, tuple[int, int]]:
    """Per source: (expectations, expectations in records the model matches)."""
    total: Counter[str] = Counter()
    matched: Counter[str] = Counter()
    for record in RECORDS:
        count = sum(1 for _ in expectations(record))
        total[record["source"]] += count
        runs = all(hasattr(Socket, need) for need in record["needs"])  # as the interface test
        if record["id"] not in KNOWN and runs:
            matched[record["source"]] += count
    return {source: (total[source], matched[source]) for source in total}


def test_the_docs_state_the_counts() -> None:
    from pathlib import Path

    page = (Path(__file__).resolve().parent.parent / "docs" / "wine-corpus.md").read_text(encoding="utf-8")
    for source, (total, matched) in summary().items():
        line = f"| {source} | {total} | {matched} |"
        assert line in page, f"docs/wine-corpus.md should have the row {line!r}"


def test_the_readme_states_the_counts_per_source() -> None:
    """Issue 16: the README says how many Windows-verified expectations the model matches,
    per source, and in total."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    text = " ".join(readme.split())
    files = {"wine-sock": "`dlls/ws2_32/tests/sock.c`", "wine-protocol": "`protocol.c`"}
    counts = summary()
    assert set(counts) == set(files), counts
    for source, (total, matched) in counts.items():
        assert f"{matched:,} of {total:,} from {files[source]}" in text, source
    total = sum(t for t, _ in counts.values())
    assert f"The model also runs **{total:,} expectations of Wine's Winsock tests" in text
