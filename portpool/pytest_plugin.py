"""portpool's pytest fixtures, loaded through the ``pytest11`` entry point.

Only pytest is imported here; portpool itself is imported inside the fixtures, so
installing portpool costs nothing to test runs that do not use it.

One machine per test: every function-scoped fixture below that a test asks for works on
the same :class:`~portpool.EmulatedHost` (``emulated_host``), configured by the
``portpool`` marker and the ``portpool_*`` ini options.

Fixtures:
    emulated_host: the test's emulated Windows machine.
    emulated_host_factory: ``make(**overrides)``: further fresh machines with the
        test's settings (for ``@given`` tests: see the README).
    port_pool: a process's pool on that machine (``admin=`` from the settings).
    admin_port_pool: an elevated administrator's process on that machine.
    portpool_patch: :func:`portpool.patch` on that machine, for the whole test.
    portpool_settings: the settings in force (a :class:`PortpoolSettings`).
    port_pool_module / port_pool_session: one pool (on its own machine, configured by
        the ini options) shared by a module / the session.
    unused_tcp_port, unused_udp_port (function scope), unused_tcp_port_factory,
        unused_udp_port_factory (session scope): pytest-asyncio's names and scopes, drawn
        by :func:`portpool.free_port` (outside every exclusion row; on the test's emulated
        machine when the test uses ``portpool_patch``).  They are registered in
        ``pytest_configure``, after every plugin loaded from an entry point or ``-p``, so
        they win over pytest-asyncio's fixtures of the same names (pytest takes the
        fixture registered last); a ``conftest.py`` fixture still wins over both.  The ini
        option ``portpool_port_fixtures = false`` leaves the names to pytest-asyncio.

Failure reports: a test that fails on an OSError with a Windows code (real Windows, or
under the patch) gets ``portpool why``'s answer as a "portpool why" section of its
report; ``portpool_explain_failures = false`` turns it off.

``--portpool-backend``:
    ``emulated`` (default): pools are processes of ``emulated_host``.
    ``ctypes``: pools are the ctypes backend (``portpool.backends.windows``) over
        ``emulated_host``'s emulated DLLs: the Windows code path, on any OS.
    ``windows``: pools are the real Windows pool.  A test that asks for a pool and for
        ``emulated_host``, ``emulated_host_factory`` or ``portpool_patch`` is skipped
        (they would be another machine than the pool's); tests that ask only for the
        emulated fixtures get an emulated machine as usual.  ``admin_port_pool`` skips
        unless pytest runs elevated.
    ``auto``: ``windows`` on Windows, ``emulated`` elsewhere.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Generator, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from portpool import EmulatedHost, PortPool
    from portpool._pytest_settings import PortpoolSettings

__all__ = ["PortpoolSettings"]


if not TYPE_CHECKING:  # type checkers see the import above

    def __getattr__(name: str) -> object:
        # PortpoolSettings is an attrs class: attrs loads when a test asks for the settings.
        if name == "PortpoolSettings":
            from portpool._pytest_settings import PortpoolSettings

            return PortpoolSettings
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

_KEYS = ("seed", "preset", "admin", "dynamic", "variants", "profile")
_MARKER_HELP = (
    "portpool(seed=0, preset=None, admin=False, dynamic=None, variants=None, profile=None):"
    " configure the emulated Windows machine behind portpool's fixtures"
)


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--portpool-backend`` and the ``portpool_*`` ini options."""
    parser.addoption("--portpool-backend", default="emulated",
                     choices=("emulated", "ctypes", "windows", "auto"),
                     help="backend behind the port_pool fixtures (default: emulated)")
    parser.addini("portpool_seed", "seed of the emulated machine (default 0)", default="0")
    parser.addini("portpool_preset", "preset of the emulated machine: default, hyperv, vs-runner",
                  default="")
    parser.addini("portpool_admin", "port_pool and portpool_patch run elevated", type="bool",
                  default=False)
    parser.addini("portpool_dynamic", "dynamic port range of the emulated machine, START-END",
                  default="")
    parser.addini("portpool_variants", "RULE=alternative lines, e.g. X15=refused",
                  type="linelist", default=[])
    parser.addini("portpool_profile", "a `portpool probe` profile (JSON path, relative to the"
                  " ini file)", default="")
    parser.addini("portpool_port_fixtures", "unused_tcp_port and friends come from portpool"
                  " (outside exclusion rows); false leaves the names to pytest-asyncio",
                  type="bool", default=True)
    parser.addini("portpool_explain_failures", "a failed test's Windows OSError gets `portpool"
                  " why`'s answer in its report", type="bool", default=True)


_INI = pytest.StashKey[dict[str, Any]]()


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``portpool`` marker (so ``--strict-markers`` runs accept it) and read
    the ini options once: a bad value stops the run with a usage error."""
    config.addinivalue_line("markers", _MARKER_HELP)
    config.stash[_INI] = _ini_settings(config)
    if config.getini("portpool_port_fixtures") and not config.pluginmanager.has_plugin(_PORTS):
        # Registered now, after every entry-point and -p plugin: pytest takes the fixture
        # registered last, so these win over pytest-asyncio's of the same names.
        config.pluginmanager.register(PortFixtures, _PORTS)


def _parse_dynamic(value: object) -> object:
    """``"START-END"`` -> PortRange; anything else as given (EmulatedHost checks it)."""
    if not isinstance(value, str):
        return value
    from portpool import PortRange

    start, sep, end = value.partition("-")
    try:
        first, last = int(start), int(end)
    except ValueError:
        raise ValueError(f"portpool dynamic {value!r}: expected START-END, e.g. 49152-65535") from None
    if not sep or last < first:
        raise ValueError(f"portpool dynamic {value!r}: expected START-END with END >= START")
    return PortRange(first, last - first + 1)


def _ini_settings(config: pytest.Config) -> dict[str, Any]:
    values: dict[str, Any] = {}
    seed = str(config.getini("portpool_seed")).strip()
    try:
        values["seed"] = int(seed, 0)
    except ValueError:
        raise pytest.UsageError(f"portpool_seed = {seed!r}: not an integer") from None
    values["preset"] = str(config.getini("portpool_preset")).strip() or None
    values["admin"] = bool(config.getini("portpool_admin"))
    dynamic = str(config.getini("portpool_dynamic")).strip()
    try:
        values["dynamic"] = _parse_dynamic(dynamic) if dynamic else None
    except ValueError as exc:
        raise pytest.UsageError(f"portpool_dynamic: {exc}") from None
    variants: dict[str, str] = {}
    for line in config.getini("portpool_variants"):
        rule, sep, alternative = str(line).partition("=")
        if not sep or not rule.strip() or not alternative.strip():
            raise pytest.UsageError(f"portpool_variants line {line!r}: expected RULE=alternative")
        variants[rule.strip()] = alternative.strip()
    values["variants"] = variants
    profile = str(config.getini("portpool_profile")).strip()
    if profile:
        base = config.inipath.parent if config.inipath is not None else config.rootpath
        values["profile"] = os.fspath(base / Path(profile))
    return values


def _ini(config: pytest.Config) -> dict[str, Any]:
    if _INI not in config.stash:
        config.stash[_INI] = _ini_settings(config)
    stored: dict[str, Any] = config.stash[_INI]
    return {**stored}


def _settings(request: pytest.FixtureRequest) -> PortpoolSettings:
    values = _ini(request.config)
    # The closest marker wins, key by key (function, then class, then module).
    chosen: dict[str, Any] = {}
    for marker in request.node.iter_markers("portpool"):
        if marker.args:
            raise TypeError(f"@pytest.mark.portpool takes keyword arguments only ({', '.join(_KEYS)})")
        unknown = sorted(set(marker.kwargs) - set(_KEYS))
        if unknown:
            raise TypeError(f"@pytest.mark.portpool: unknown option(s) {', '.join(unknown)};"
                            f" known: {', '.join(_KEYS)}")
        for key, value in marker.kwargs.items():
            chosen.setdefault(key, value)
    if "variants" in chosen:
        if not isinstance(chosen["variants"], Mapping):
            raise TypeError("@pytest.mark.portpool(variants=...) must be a dict {rule: alternative}")
        chosen["variants"] = {**values["variants"], **chosen["variants"]}
    if "dynamic" in chosen:
        chosen["dynamic"] = _parse_dynamic(chosen["dynamic"])
    if "profile" in chosen and chosen["profile"] is not None:
        chosen["profile"] = os.fspath(chosen["profile"])
    values.update(chosen)
    if not isinstance(values["admin"], bool):
        raise TypeError(f"@pytest.mark.portpool(admin=...) must be True or False, not {values['admin']!r}")
    if not isinstance(values["seed"], int) or isinstance(values["seed"], bool):
        raise TypeError(f"@pytest.mark.portpool(seed=...) must be an int, not {values['seed']!r}")
    from portpool._pytest_settings import PortpoolSettings

    return PortpoolSettings(**values)


def _backend(config: pytest.Config) -> str:
    backend = str(config.getoption("--portpool-backend"))
    if backend == "auto":
        return "windows" if sys.platform == "win32" else "emulated"
    return backend


_EMULATED_FIXTURES = frozenset({"emulated_host", "emulated_host_factory", "portpool_patch"})
_POOL_FIXTURES = frozenset({"port_pool", "admin_port_pool"})


def _refuse_split(request: pytest.FixtureRequest) -> None:
    """Under ``windows`` the pools are the real machine: a test that also asks for an
    emulated one would get two machines, so it is skipped (one machine per test)."""
    names = set(request.fixturenames)
    if (_backend(request.config) == "windows" and names & _EMULATED_FIXTURES
            and names & _POOL_FIXTURES):
        pytest.skip("with --portpool-backend=windows, port_pool is the real machine and"
                    f" {', '.join(sorted(names & _EMULATED_FIXTURES))} needs an emulated one:"
                    " a test gets one machine")


@pytest.fixture
def portpool_settings(request: pytest.FixtureRequest) -> PortpoolSettings:
    """The settings of this test's machine (ini options, then the closest marker)."""
    return _settings(request)


@pytest.fixture
def emulated_host(request: pytest.FixtureRequest, portpool_settings: PortpoolSettings) -> EmulatedHost:
    """This test's emulated Windows machine (seed 0 and a clean machine by default)."""
    _refuse_split(request)
    return portpool_settings.host()


@pytest.fixture
def emulated_host_factory(request: pytest.FixtureRequest,
                          portpool_settings: PortpoolSettings) -> Callable[..., EmulatedHost]:
    """``make(**overrides)``: a fresh machine with this test's settings per call."""
    _refuse_split(request)
    return portpool_settings.host


def _process(request: pytest.FixtureRequest, admin: bool) -> PortPool:
    backend = _backend(request.config)
    host: EmulatedHost = request.getfixturevalue("emulated_host")
    if backend == "ctypes":
        return _ctypes_pool(host, admin)
    return host.process(admin=admin)


def _ctypes_pool(host: EmulatedHost, admin: bool) -> PortPool:
    """The ctypes backend over ``host``'s emulated DLLs."""
    from portpool._registry import load_backend

    pool: PortPool = load_backend("windows")(dlls=host.dlls(admin=admin))
    return pool


@pytest.fixture
def port_pool(request: pytest.FixtureRequest, portpool_settings: PortpoolSettings) -> Iterator[PortPool]:
    """A process's port pool on ``emulated_host`` (or the real one), closed after the test."""
    _refuse_split(request)
    if _backend(request.config) == "windows":
        pool = _open_real()
    else:
        pool = _process(request, portpool_settings.admin)
    with pool:
        yield pool


@pytest.fixture
def admin_port_pool(request: pytest.FixtureRequest) -> Iterator[PortPool]:
    """An elevated administrator's process on ``emulated_host``."""
    _refuse_split(request)
    if _backend(request.config) == "windows":
        if not _elevated():
            pytest.skip("admin_port_pool with --portpool-backend=windows needs an elevated pytest")
        pool = _open_real()
    else:
        pool = _process(request, True)
    with pool:
        yield pool


@pytest.fixture
def portpool_patch(request: pytest.FixtureRequest, portpool_settings: PortpoolSettings,
                   ) -> Iterator[EmulatedHost]:
    """:func:`portpool.patch` on ``emulated_host`` for the whole test; gives the host."""
    _refuse_split(request)
    from portpool import patch

    host: EmulatedHost = request.getfixturevalue("emulated_host")
    with patch(host, admin=portpool_settings.admin) as patched:
        yield patched


def _open_real() -> PortPool:
    from portpool import open_pool

    return open_pool("windows")


def _elevated() -> bool:
    import ctypes

    windll: Any = getattr(ctypes, "windll", None)  # Windows only
    return windll is not None and bool(windll.shell32.IsUserAnAdmin())


def _open_shared(config: pytest.Config) -> PortPool:
    backend = _backend(config)
    if backend == "windows":
        return _open_real()
    from portpool._pytest_settings import PortpoolSettings

    values = _ini(config)
    host = PortpoolSettings(**values).host()
    if backend == "ctypes":
        return _ctypes_pool(host, values["admin"])
    return host.process(admin=values["admin"])


@pytest.fixture(scope="module")
def port_pool_module(request: pytest.FixtureRequest) -> Iterator[PortPool]:
    """One pool (on its own machine, from the ini options) shared by every test of a module."""
    with _open_shared(request.config) as pool:
        yield pool


@pytest.fixture(scope="session")
def port_pool_session(request: pytest.FixtureRequest) -> Iterator[PortPool]:
    """One pool (on its own machine, from the ini options) shared by the whole session."""
    with _open_shared(request.config) as pool:
        yield pool


# --- port fixtures under pytest-asyncio's names ----------------------------------------

_PORTS = "portpool-port-fixtures"


def _draw_port(request: pytest.FixtureRequest, protocol: str) -> int:
    """A port from :func:`portpool.free_port`, on the test's emulated machine when the
    test uses ``portpool_patch`` (so that the port is free there)."""
    if "portpool_patch" in request.fixturenames:
        request.getfixturevalue("portpool_patch")
    from portpool import free_port

    return free_port(protocol)


class _PortFactory:
    """``factory()``: a port from :func:`portpool.free_port` that this factory has not
    given before (pytest-asyncio's factories promise different ports)."""

    def __init__(self, protocol: str) -> None:
        self.protocol = protocol
        self.produced: set[int] = set()

    def __call__(self) -> int:
        from portpool import NoFreePortError, free_port

        for _ in range(1000):
            port = free_port(self.protocol)
            if port not in self.produced:
                self.produced.add(port)
                return port
        raise NoFreePortError(f"no {self.protocol} port left that this factory has not given"
                              f" ({len(self.produced)} given)")


class PortFixtures:
    """pytest-asyncio's port fixtures, outside every exclusion row (see the module docstring).

    Registered as a plugin by ``pytest_configure`` unless ``portpool_port_fixtures = false``.
    """

    @pytest.fixture
    @staticmethod
    def unused_tcp_port(request: pytest.FixtureRequest) -> int:
        """A TCP port that binds now, in no exclusion row (:func:`portpool.free_port`)."""
        return _draw_port(request, "tcp")

    @pytest.fixture
    @staticmethod
    def unused_udp_port(request: pytest.FixtureRequest) -> int:
        """A UDP port that binds now, in no exclusion row."""
        return _draw_port(request, "udp")

    @pytest.fixture(scope="session")
    @staticmethod
    def unused_tcp_port_factory() -> Callable[[], int]:
        """``factory()``: a different free TCP port per call (drawn when called, so on the
        test's emulated machine under ``portpool_patch``)."""
        return _PortFactory("tcp")

    @pytest.fixture(scope="session")
    @staticmethod
    def unused_udp_port_factory() -> Callable[[], int]:
        """``factory()``: a different free UDP port per call."""
        return _PortFactory("udp")


# --- failures explained where they happen ---------------------------------------------


def _oserror_in(exc: BaseException) -> bool:
    """Whether ``exc``'s chain holds an OSError (cheap: portpool is imported only then,
    and ``_report`` decides whether it is a socket error with a Windows code)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError):
            return True
        current = current.__cause__ or current.__context__
    return False


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None],
                               ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Add ``portpool why``'s answer to the report of a test that failed on a Windows OSError."""
    report = yield
    excinfo = call.excinfo
    if (report.failed and excinfo is not None and report.when in ("setup", "call")
            and item.config.getini("portpool_explain_failures")
            and _oserror_in(excinfo.value)):
        from portpool._realmachine._report import failure_text

        text = failure_text(excinfo.value, excinfo.tb)
        if text:
            add_section = getattr(report.longrepr, "addsection", None)  # pytest's exception reprs
            if callable(add_section):
                add_section("portpool why", text.rstrip("\n"))
            else:
                report.sections.append(("portpool why", text))
    return report
