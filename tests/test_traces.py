"""Traces (``portpool conformance record|compare``) and rule ids in the conformance
machine's failures, whatever the backend."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from portpool import EmulatedHost, PortPool, PortPoolError, Protocol, Socket, WinError, winerror
from portpool._cli import main
from portpool.probe import EmulatedLab, compare_trace, record_trace, rules_for
from portpool.testing import run_conformance_test


def test_a_trace_records_calls_results_codes_and_the_machine() -> None:
    host = EmulatedHost(seed=2)
    trace = record_trace(EmulatedLab(host), seed=7, calls=150)
    assert trace["machine"]["backend"] == "emulated" and trace["seed"] == 7 and not trace["undo"]
    calls = trace["calls"]
    assert [c["step"] for c in calls] == list(range(150))
    ops = {c["op"] for c in calls}
    assert {"socket", "acquire", "associate", "bind", "getsockname", "close", "create"} <= ops
    codes = {c["code"] for c in calls}
    assert None in codes and int(WinError.WSAEADDRINUSE) in codes  # successes and refusals
    assert record_trace(EmulatedLab(EmulatedHost(seed=2)), seed=7, calls=150)["calls"] == calls
    assert host.reservations(Protocol.TCP) == host.reservations(Protocol.UDP) == () and host.bindings(Protocol.TCP) == ()


@pytest.mark.parametrize("backend", ["emulated", "ctypes"])
def test_record_then_compare_agrees_on_the_same_model(backend: str, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    trace = tmp_path / "trace.json"
    assert main(["conformance", "record", "--backend", backend, "-o", str(trace), "--seed", "3",
                 "--calls", "120"]) == 0
    assert f"written to {trace}" in capsys.readouterr().out
    data = json.loads(trace.read_text(encoding="utf-8"))
    assert data["machine"]["backend"] == backend and len(data["calls"]) == 120
    assert main(["conformance", "compare", str(trace)]) == 0
    assert capsys.readouterr().out.strip().endswith("0 divergences")


@pytest.mark.rule("X14")
def test_compare_names_the_rule_of_every_divergence(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """A trace from a machine where one's own runtime block does not refuse a plain bind
    (X14 "succeeds"), compared with the default model, diverges on X14."""
    trace = tmp_path / "trace.json"
    assert main(["conformance", "record", "--backend", "emulated", "--variant", "X14=succeeds",
                 "-o", str(trace), "--seed", "2", "--calls", "400"]) == 0
    capsys.readouterr()
    assert main(["conformance", "compare", str(trace)]) == 1
    lines = capsys.readouterr().out.splitlines()
    diverging = [line for line in lines if line.startswith("step ")]
    assert diverging and lines[-1] == f"{len(diverging)} divergence{'s' * (len(diverging) != 1)}"
    first = diverging[0]
    assert re.match(r"step \d+: bind\(port=\d+, where=\w+\) on socket \d+: recorded ok, emulator WSAEACCES"
                    r" \(10013\) \[rules .*X14: refused", first), first
    assert all("[rules" in line or "not run" in line for line in diverging)
    profile = tmp_path / "profile.json"
    profile.write_text(json.dumps({"results": {"X14": {"observed": "succeeds"}}}), encoding="utf-8")
    assert main(["conformance", "compare", str(trace), "--profile", str(profile)]) == 0
    assert compare_trace(trace, profile={"results": {"X14": {"observed": "succeeds"}}}) == []


def test_compare_refuses_what_is_not_a_trace(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    for text in ("{not json", json.dumps({"calls": "x"}), json.dumps({"format": 9, "calls": []})):
        bad.write_text(text, encoding="utf-8")
        assert main(["conformance", "compare", str(bad)]) == 2
        assert capsys.readouterr().err.startswith("portpool conformance compare: ")
    assert main(["conformance", "compare", str(tmp_path / "missing.json")]) == 2
    with pytest.raises(ValueError, match="0 or more"):
        record_trace(EmulatedLab(EmulatedHost()), calls=-1)


def test_rules_for_maps_an_operation_and_a_code_to_rule_ids() -> None:
    assert rules_for("bind", 10013)[:4] == ["R17", "X2", "X14: refused", "X15: refused"]
    assert rules_for("bind", 10013, {"X14": "succeeds"})[2] == "X14: refused"
    assert rules_for("acquire_port_reservation", 10048) == ["A2", "X5"]
    assert rules_for("associate_port_reservation", 10022) == ["A11", "A6", "A7"]
    assert rules_for("getsockname", 10093) == ["A19", "B13"]  # none of its own: any that gives it
    assert rules_for("bind", 4242) == []


class _BareSocket(Socket):
    """A socket of a backend that reports bare codes (as the real ws2_32 does) and
    refuses every explicit bind with WSAEACCES."""

    __slots__ = ("_inner",)

    def __init__(self, inner: Socket) -> None:
        self._inner = inner
        self._family, self._type = inner._family, inner._type

    def _bare(self, call: Any, *args: Any) -> Any:
        try:
            return call(*args)
        except PortPoolError as exc:
            raise winerror(exc.winerror, "bare") from None

    def acquire_port_reservation(self, start: int, count: int) -> Any:
        return self._bare(self._inner.acquire_port_reservation, start, count)

    def associate_port_reservation(self, token: int) -> None:
        self._bare(self._inner.associate_port_reservation, token)

    def release_port_reservation(self, token: int) -> None:
        self._bare(self._inner.release_port_reservation, token)

    def bind(self, address: Any) -> None:
        if address[1]:
            raise winerror(WinError.WSAEACCES, "bare")
        self._bare(self._inner.bind, address)

    def getsockname(self) -> Any:
        return self._bare(self._inner.getsockname)

    def setsockopt(self, level: int, option: int, value: int | bytes) -> None:
        self._bare(self._inner.setsockopt, level, option, value)

    def getsockopt(self, level: int, option: int) -> int:
        value: int = self._bare(self._inner.getsockopt, level, option)
        return value

    def listen(self, backlog: int = 128) -> None:
        self._bare(self._inner.listen, backlog)

    def accept(self) -> Any:
        return self._bare(self._inner.accept)

    def connect(self, address: Any) -> None:
        self._bare(self._inner.connect, address)

    def getpeername(self) -> Any:
        return self._bare(self._inner.getpeername)

    def set_cpu_affinity(self, processor: int) -> None:
        self._bare(self._inner.set_cpu_affinity, processor)

    def close(self) -> None:
        self._inner.close()

    def fileno(self) -> int:
        return self._inner.fileno()


class _BarePool(PortPool):
    def __init__(self, inner: PortPool) -> None:
        self.inner = inner

    def socket(self, family: int = 2, type: int = 1, proto: int = 0) -> Socket:  # noqa: A002
        try:
            return _BareSocket(self.inner.socket(family, type, proto))
        except PortPoolError as exc:
            raise winerror(exc.winerror, "bare") from None

    def create_persistent_reservation(self, protocol: Any, start: int, count: int) -> int:
        return self.inner.create_persistent_reservation(protocol, start, count)

    def lookup_persistent_reservation(self, protocol: Any, start: int, count: int) -> int:
        return self.inner.lookup_persistent_reservation(protocol, start, count)

    def delete_persistent_reservation(self, protocol: Any, start: int, count: int) -> None:
        self.inner.delete_persistent_reservation(protocol, start, count)

    def close(self) -> None:
        self.inner.close()


def test_conformance_failures_name_rule_ids_for_a_backend_with_bare_codes() -> None:
    """The backend's message names no rule; the failure still does, from the table."""
    with pytest.raises(AssertionError) as info:
        run_conformance_test(lambda: _BarePool(EmulatedHost(seed=1).process()),
                             settings=settings(max_examples=20, deadline=None, derandomize=True,
                                               database=None,
                                               suppress_health_check=[HealthCheck.too_slow]))
    message = str(info.value)
    assert "[rule" not in message.split("got ", 1)[1].split("]", 1)[0]  # bare code indeed
    assert re.search(r"got \[WinError 10013\] WSAEACCES: [^;]*\(bare\) \[WSAEACCES \(10013\) for bind:"
                     r" rules R17, X2, X14: refused", message), message


@pytest.mark.rule("O5", "C1", "K7")
def test_traces_carry_issue_7s_calls(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Options, wildcard binds and connects are recorded and replayed: a machine that refuses
    options after bind (O5 `refused`, through the ctypes backend) diverges on O5 alone."""
    trace = tmp_path / "trace.json"
    assert main(["conformance", "record", "--backend", "ctypes", "--variant", "O5=refused",
                 "-o", str(trace), "--seed", "0", "--calls", "300"]) == 0
    ops = {call["op"] for call in json.loads(trace.read_text(encoding="utf-8"))["calls"]}
    assert {"setsockopt", "getsockopt", "connect", "getpeername"} <= ops
    capsys.readouterr()
    assert main(["conformance", "compare", str(trace)]) == 1
    diverging = [line for line in capsys.readouterr().out.splitlines() if line.startswith("step ")]
    first = diverging[0]
    assert "setsockopt(" in first and "O5: refused" in first, first
    assert compare_trace(trace, profile={"results": {"O5": {"observed": "refused"}}}) == []
