"""The plugin's real-machine parts, in a pytester sandbox: pytest-asyncio's port fixture
names beside a plugin that defines them too, and ``portpool why`` in failure reports."""

from __future__ import annotations

import importlib.util
import textwrap

import pytest

pytest_plugins = ["pytester"]

STRICT = ("--strict-markers", "-p", "no:cacheprovider", "-p", "no:randomly", "-W", "error")

# A stand-in with pytest-asyncio 1.x's fixture definitions: names, scopes, bind(0) on
# 127.0.0.1 (pytest_asyncio/plugin.py), loaded as a plugin with -p, before portpool's.
RIVAL = '''
import socket
import pytest

def _unused(kind):
    with socket.socket(type=kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return 1

@pytest.fixture
def unused_tcp_port():
    return _unused(socket.SOCK_STREAM)

@pytest.fixture
def unused_udp_port():
    return _unused(socket.SOCK_DGRAM)

@pytest.fixture(scope="session")
def unused_tcp_port_factory():
    return lambda: 1

@pytest.fixture(scope="session")
def unused_udp_port_factory():
    return lambda: 1
'''


def outcome(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest(*STRICT, *args)


TESTS = """
    import socket
    import pytest

    def test_ports(unused_tcp_port, unused_udp_port, unused_tcp_port_factory, unused_udp_port_factory):
        ports = [unused_tcp_port, unused_udp_port, unused_tcp_port_factory(),
                 unused_tcp_port_factory(), unused_udp_port_factory()]
        assert all(1024 <= p <= 65535 for p in ports), ports
        assert ports[2] != ports[3]
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", unused_tcp_port))
"""


def test_the_fixtures_have_pytest_asyncios_names_and_scopes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(TESTS)
    outcome(pytester).assert_outcomes(passed=1)
    result = pytester.runpytest("--fixtures", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines([
        "unused_tcp_port -- *", "    A TCP port that binds now, in no exclusion row*",
        "unused_udp_port -- *", "unused_tcp_port_factory [[]session scope[]] -- *",
        "unused_udp_port_factory [[]session scope[]] -- *"], consecutive=False)


def test_they_win_over_a_plugin_with_the_same_names(pytester: pytest.Pytester) -> None:
    """pytest takes the fixture registered last; portpool registers its own in
    pytest_configure, after every -p and entry-point plugin (pytest-asyncio is one)."""
    pytester.makepyfile(rival=RIVAL)
    pytester.syspathinsert()
    pytester.makepyfile(TESTS)
    outcome(pytester, "-p", "rival").assert_outcomes(passed=1)  # the rival's ports are all 1


def test_the_ini_option_leaves_the_names_to_the_other_plugin(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(rival=RIVAL)
    pytester.syspathinsert()
    pytester.makeini("[pytest]\nportpool_port_fixtures = false\n")
    pytester.makepyfile("""
        def test_rival(unused_tcp_port, unused_tcp_port_factory):
            assert unused_tcp_port == 1 and unused_tcp_port_factory() == 1
    """)
    outcome(pytester, "-p", "rival").assert_outcomes(passed=1)
    pytester.makepyfile(test_none="def test_none(unused_tcp_port):\n    pass\n")
    outcome(pytester, "test_none.py").assert_outcomes(errors=1)  # without the rival: no fixture


def test_a_conftest_fixture_still_wins(pytester: pytest.Pytester) -> None:
    pytester.makeconftest("""
        import pytest

        @pytest.fixture
        def unused_tcp_port():
            return 4242
    """)
    pytester.makepyfile("def test_mine(unused_tcp_port):\n    assert unused_tcp_port == 4242\n")
    outcome(pytester).assert_outcomes(passed=1)


def test_with_portpool_patch_the_ports_avoid_the_emulated_rows(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest
        from portpool import Protocol

        @pytest.mark.portpool(preset="vs-runner", seed=3)
        @pytest.mark.parametrize("i", range(12))
        def test_draw(i, unused_tcp_port, unused_udp_port_factory, portpool_patch):
            host = portpool_patch
            udp = unused_udp_port_factory()
            for protocol, port in ((Protocol.TCP, unused_tcp_port), (Protocol.UDP, udp)):
                assert not any(r.start <= port <= r.end for r in host.exclusions(protocol)), port
    """)
    outcome(pytester).assert_outcomes(passed=12)


@pytest.mark.skipif(importlib.util.find_spec("pytest_asyncio") is None,
                    reason="pytest-asyncio is not installed (its stand-in runs above)")
def test_beside_the_real_pytest_asyncio(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile("""
        import pytest

        def test_which(request, unused_tcp_port):
            fixturedef = request._fixture_defs["unused_tcp_port"]
            assert "portpool" in fixturedef.func.__module__

        @pytest.mark.asyncio
        async def test_async(unused_tcp_port):
            assert 1024 <= unused_tcp_port <= 65535
    """)
    outcome(pytester).assert_outcomes(passed=2)  # pytest-asyncio loads from its entry point


# --- failures explained where they happen --------------------------------------------------

FAILING = """
    import socket
    import pytest
    from portpool import Protocol

    @pytest.mark.portpool(preset="hyperv", seed=2)
    def test_bind_into_a_row(portpool_patch):
        row = next(r for r in portpool_patch.exclusions(Protocol.TCP) if r.owner == "WinNAT")
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", row.start + 1))

    def test_server(portpool_patch):
        import socketserver
        holder = socket.socket()  # open until the patch ends, after the report
        holder.bind(("0.0.0.0", 8080))
        socketserver.TCPServer(("0.0.0.0", 8080), socketserver.BaseRequestHandler)

    def test_plain_failure():
        assert 1 == 2
"""


def test_a_failure_on_a_windows_oserror_gets_why(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(FAILING)
    result = outcome(pytester)
    result.assert_outcomes(failed=3)
    text = result.stdout.str()
    assert text.count("portpool why") == 2
    result.stdout.fnmatch_lines([
        "*- portpool why -*",
        "WSAEACCES (10013) TCP port *: excluded: inside the row * (WinNAT)",
        "*the exclusion row * (placed by WinNAT) covers it*",
        "What frees it:",
        "*net stop winnat*",
    ])
    result.stdout.fnmatch_lines([
        "WSAEADDRINUSE (10048) TCP port 8080: in use: a socket holds the port",
        "  socket 0x* of process * is bound to 0.0.0.0:8080",
    ])


def test_the_ini_option_turns_it_off(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nportpool_explain_failures = false\n")
    pytester.makepyfile(FAILING)
    result = outcome(pytester)
    result.assert_outcomes(failed=3)
    assert "portpool why" not in result.stdout.str()


def test_a_report_never_fails_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    from portpool._realmachine import _report

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(_report, "explain_error", broken)
    error = OSError(13, "denied")
    error.winerror = 10013  # type: ignore[attr-defined,unused-ignore]  # typeshed: win32 only
    assert _report.failure_text(error, None) == "portpool could not explain this error: RuntimeError: boom\n"
    assert _report.failure_text(ValueError("x"), None) is None
    chained = RuntimeError("wrapped")
    chained.__cause__ = error
    assert _report.find_oserror(chained) is error
    missing = FileNotFoundError(2, "The system cannot find the file specified")
    missing.winerror = 2  # type: ignore[attr-defined,unused-ignore]  # typeshed: win32 only; as on Windows: a file error, not a socket's
    assert _report.find_oserror(missing) is None and _report.failure_text(missing, None) is None


def test_the_address_is_read_back_from_the_failing_line() -> None:
    """On real Windows bind is C code: the failing line's first argument is evaluated from
    names, constants, tuples and plain attributes only."""
    import socket

    from portpool._realmachine._report import _from_source

    class Server:
        server_address = ("127.0.0.1", 8443)

        @property
        def port(self) -> int:
            raise AssertionError("a property must not run")

    server = Server()  # noqa: F841 - read by the lines below, through the frame
    host, port = "0.0.0.0", 9000  # noqa: F841 - ditto
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        frame = __import__("sys")._getframe()
        lines = textwrap.dedent("""\
            sock.bind((host, port))
            sock.bind(server.server_address)
            sock.connect((host, server.port))
            sock.bind(make())
        """).splitlines()
        import linecache

        name = "<realtools-test>"
        linecache.cache[name] = (0, None, [line + "\n" for line in lines], name)
        code = compile("\n".join(lines), name, "exec")
        frame_like = type("F", (), {"f_code": code, "f_locals": frame.f_locals,
                                    "f_globals": frame.f_globals})()
        from portpool._types import Protocol

        assert _from_source(frame_like, 1) == (("0.0.0.0", 9000), Protocol.UDP)
        assert _from_source(frame_like, 2) == (("127.0.0.1", 8443), Protocol.UDP)
        assert _from_source(frame_like, 3) is None
        assert _from_source(frame_like, 4) is None
    finally:
        sock.close()
