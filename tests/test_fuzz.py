"""The fuzzer (portpool/testing/_fuzz/) on a small budget: hostile arguments through the
interface, the emulated DLLs and the host, with the invariants checked after every call.

Hypothesis drives the choices (derandomized, so every run makes the same calls, and a
failure shrinks to the few hostile calls it needs); the seeded runs use the fast
``RandomSource`` the long runs use (``python scripts/fuzz.py``).  The planted faults at the
end show that each kind of check can fail.
"""

from __future__ import annotations

import ctypes
import subprocess
import sys
import textwrap
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portpool import EmulatedHost, PortPoolError, Protocol, WinError
from portpool._model._machine import Machine
from portpool.testing._fuzz import (
    OPERATIONS,
    FuzzOptions,
    FuzzReport,
    HypothesisSource,
    RandomSource,
    exception_site,
    fuzz_steps,
    run_fuzz,
)

FUZZ = settings(derandomize=True, database=None, deadline=None, max_examples=12,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def clean(report: FuzzReport) -> None:
    assert report.clean, "\n" + report.summary()


@FUZZ
@given(st.data())
def test_the_interface_and_the_host_under_hostile_arguments(data: st.DataObject) -> None:
    """Emulated processes and WindowsPool over the emulated DLLs, and host methods."""
    clean(fuzz_steps(HypothesisSource(data), steps=60,
                     options=FuzzOptions(layers=frozenset({"interface", "host"}))))


@FUZZ
@given(st.data())
def test_the_dll_surface_under_hostile_arguments(data: st.DataObject) -> None:
    """The ws2_32/iphlpapi function pointers: NULLs, short and lying sizes, host-order
    ports, bad IOCTL codes, overlapped calls, events, waits, fault injection."""
    clean(fuzz_steps(HypothesisSource(data), steps=60,
                     options=FuzzOptions(layers=frozenset({"dll"}), unsafe_wait_counts=True)))


@FUZZ
@given(st.data())
def test_injected_faults_surface_as_failures_and_change_nothing(data: st.DataObject) -> None:
    """fail_next(function, code) then a call of that function: it fails with that code."""
    clean(fuzz_steps(HypothesisSource(data), steps=25,
                     options=FuzzOptions(only=frozenset({"dll.fault", "dll.socket", "dll.ioctl"}))))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_seeded_runs_of_every_layer(seed: int) -> None:
    clean(run_fuzz(2500, seed=seed, options=FuzzOptions(episode=800, full_every=200,
                                                         unsafe_wait_counts=True)))


def test_a_run_is_reproducible_from_its_seed() -> None:
    first, second = run_fuzz(600, seed=11), run_fuzz(600, seed=11)
    assert first.stats.calls == second.stats.calls
    assert first.stats.outcomes == second.stats.outcomes
    assert first.stats.codes == second.stats.codes


def test_every_operation_is_drawn_and_the_coming_ones_wait_for_their_method() -> None:
    report = run_fuzz(6000, seed=4, options=FuzzOptions(episode=3000))
    clean(report)
    drawn = {name.split(".", 1)[0] for name in report.stats.calls}
    assert drawn == {"interface", "dll", "host"}
    rows = {op.name: op for op in OPERATIONS}
    for name in ("host.exclude", "host.release_exclusions", "host.netsh"):
        assert rows[name].available(EmulatedHost())
        assert not rows[name].available(SimpleNamespace())  # type: ignore[arg-type]  # wrong on purpose
    assert report.stats.calls["host.exclude"] > 0
    assert report.stats.checks["refusal unchanged"] > 1000
    assert report.stats.checks["injected fault"] > 0
    ops = FuzzOptions(only=frozenset({"host.introspect"})).operations(EmulatedHost())
    assert [op.name for op in ops] == ["host.introspect"]
    with pytest.raises(ValueError, match="no operation"):
        FuzzOptions(only=frozenset({"nope"})).operations(EmulatedHost())


def test_the_summary_names_calls_exceptions_sites_and_checks() -> None:
    report = run_fuzz(1500, seed=5)
    text = report.summary()
    for part in ("calls: 1,50", "calls/s", "outcomes:", "PortPoolError by call site",
                 "other exceptions by type and call site",
                 "invariant checks:", "violations: 0"):
        assert part in text
    assert any(site.startswith(("portpool/", "backends/")) for _, site in report.stats.raised)


def test_exception_sites_are_the_deepest_library_frame() -> None:
    host = EmulatedHost()
    try:
        host.reservations("tcp")  # type: ignore[arg-type]  # wrong on purpose
    except TypeError as exc:
        site = exception_site(exc)
    assert site.startswith("portpool/_model/_state.py:")  # _protocol_option, not its caller


def test_huge_wait_counts_fail_instead_of_reading_past_the_array() -> None:
    """WSAWaitForMultipleEvents reads cEvents handles: a count over 64 must be refused
    before anything is read (run in a child: an emulator that reads them all crashes)."""
    code = textwrap.dedent("""
        import ctypes
        from portpool import EmulatedHost
        from portpool._winsock import _abi
        ws2 = EmulatedHost().dlls().ws2_32
        ws2.WSAStartup(0x0202, ctypes.byref(_abi.WSADATA()))
        event = ws2.WSACreateEvent()
        one = (ctypes.c_void_p * 1)(event)
        for count in (65, 1000, 0x7FFFFFFF, 0xFFFFFFFF):
            assert ws2.WSAWaitForMultipleEvents(count, one, 0, 0, 1) == 0xFFFFFFFF, count
            assert ws2.WSAGetLastError() == 87, count  # WSA_INVALID_PARAMETER
        print("ok")
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          check=False)
    assert (done.returncode, done.stdout.strip()) == (0, "ok"), done.stderr[-2000:]


def test_sources_draw_within_bounds_and_by_weight() -> None:
    seen: list[tuple[int, bool, str]] = []

    @settings(derandomize=True, database=None, max_examples=1)
    @given(st.data())
    def draw(data: st.DataObject) -> None:
        source = HypothesisSource(data)
        seen.append((source.integer(3, 9), source.chance(50), source.choice(("a", "b"))))

    draw()
    assert seen and all(3 <= n <= 9 for n, _, _ in seen)
    rnd = RandomSource(1)
    assert [rnd.weighted([1, 1, 10]) for _ in range(200)].count(2) > 100


# --- planted faults: each kind of check can fail ------------------------------------------


def planted(monkeypatch: pytest.MonkeyPatch, name: str, wrap: Callable[[Any], Any]) -> None:
    monkeypatch.setattr(Machine, name, wrap(getattr(Machine, name)))


def small_run(**options: Any) -> FuzzReport:
    """Short runs until one breaks an invariant (a planted fault may need a few seeds: with
    Windows' sequential ports (A4) two binds meet on one port less often than with random
    ones, so up to 40)."""
    for seed in range(1, 41):
        report = run_fuzz(1500, seed=seed, options=FuzzOptions(episode=1500, full_every=100,
                                                                **options))
        if not report.clean:
            break
    return report


def test_planted_internal_exception_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    def wrap(original: Any) -> Any:
        def acquire(self: Machine, pid: int, handle: int, start: object, count: object) -> Any:
            if count == 3:
                raise KeyError(handle)
            return original(self, pid, handle, start, count)
        return acquire

    planted(monkeypatch, "acquire", wrap)
    report = small_run(layers=frozenset({"interface"}))
    assert report.stats.violation_kinds["exception"] > 0
    assert any("KeyError" in v.detail and "_fuzz" not in v.detail for v in report.violations)


def test_planted_dll_catch_all_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Python error inside an emulated DLL function becomes WSAEFAULT and a traceback on
    stderr: the fuzzer reads stderr and names the site."""
    def wrap(original: Any) -> Any:
        def sockname(self: Machine, pid: int, handle: int) -> Any:
            family, host, port = original(self, pid, handle)
            return family, host + "%bogus" if port else host, port  # the audit's scoped text
        return sockname

    planted(monkeypatch, "sockname", wrap)
    report = small_run(layers=frozenset({"dll"}))
    internal = [v for v in report.violations if v.kind == "internal"]
    assert internal, report.summary()
    assert "catch-all" in internal[0].detail


def test_planted_double_bind_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    def wrap(original: Any) -> Any:
        def check(self: Machine, space: Any, sock: Any, port: int, endpoints: Any) -> None:
            del space, sock, port, endpoints  # every socket may share every port
        return check

    planted(monkeypatch, "_check_sharing", wrap)
    report = small_run(layers=frozenset({"interface"}))
    assert not report.clean
    assert any("shares it with socket" in v.detail for v in report.stats.violations)


def test_planted_state_change_by_a_refusal_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    def wrap(original: Any) -> Any:
        def acquire(self: Machine, pid: int, handle: int, start: object, count: object) -> Any:
            self._rng.random()  # consumed before the checks: refusals change the machine
            return original(self, pid, handle, start, count)
        return acquire

    planted(monkeypatch, "acquire", wrap)
    report = small_run(layers=frozenset({"interface"}))
    assert report.stats.violation_kinds["refusal changed state"] > 0


def test_planted_lost_and_leaked_blocks_are_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    def wrap(original: Any) -> Any:
        def release(self: Machine, pid: int, handle: int, token: object) -> None:
            self._port_socket(pid, handle)
            self._block_for_token(token)  # says yes, frees nothing
        return release

    planted(monkeypatch, "release", wrap)
    report = small_run(layers=frozenset({"interface"}))
    assert any("no caller was given" in v.detail for v in report.violations), report.summary()


def test_planted_persistent_loss_at_reboot_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    def wrap(original: Any) -> Any:
        def reboot(self: Machine) -> None:
            original(self)
            for protocol in Protocol:
                for res in self.reservations(protocol):
                    if res.persistent and res.range.count == 1:
                        self._remove_token(res.token)  # a block of one port is forgotten
        return reboot

    planted(monkeypatch, "reboot", wrap)
    report = run_fuzz(6000, seed=8, options=FuzzOptions(layers=frozenset({"interface", "host"})))
    assert report.stats.violation_kinds["reboot"] > 0, report.summary()


def test_planted_canary_overwrite_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    import portpool._winsock._dlls as dlls

    original = dlls._write_sockaddr

    def write(name: int, size: int, family: Any, host: str, port: int) -> int:
        written = original(name, size, family, host, port)
        ctypes.memset(name + written, 0, 4)  # four bytes past what namelen allows
        return written

    monkeypatch.setattr(dlls, "_write_sockaddr", write)
    report = small_run(layers=frozenset({"dll"}))
    assert report.stats.violation_kinds["canary"] > 0, report.summary()


def test_the_windows_pool_over_the_emulated_dlls_is_fuzzed_too() -> None:
    report = run_fuzz(3000, seed=6, options=FuzzOptions(layers=frozenset({"interface"})))
    clean(report)
    assert report.stats.calls["interface.WindowsPool"] > 0
    assert any(site.startswith("backends/windows/") for _, site in report.stats.raised)


def test_adversarial_text_reads_back_or_is_refused() -> None:
    """Issue 20's text source: mangled real tables read back, long lines of any shape
    are read or refused at once."""
    report = run_fuzz(300, seed=4, options=FuzzOptions(only=frozenset({"host.netsh_text",
                                                                        "host.exclude"})))
    clean(report)
    assert report.stats.calls["host.netsh_text"] > 100


def test_planted_huge_int_message_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 20's huge-int source: a message that writes a huge int out (Python's
    int-to-string ValueError instead of the documented error) is a violation."""
    def wrap(original: Any) -> Any:
        def acquire(self: Machine, pid: int, handle: int, start: object, count: object) -> Any:
            if isinstance(start, int) and start.bit_length() > 14_000:
                raise PortPoolError(WinError.WSAEINVAL, f"{start}")  # writes the int out: ValueError first
            return original(self, pid, handle, start, count)
        return acquire

    planted(monkeypatch, "acquire", wrap)
    report = small_run(layers=frozenset({"interface"}))
    assert any("integer string conversion" in v.detail for v in report.violations)
