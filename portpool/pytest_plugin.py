"""portpool's pytest fixtures, loaded through the ``pytest11`` entry point.

Only pytest is imported here; portpool itself is imported inside the fixtures, so
installing portpool costs nothing to test runs that do not use it.

Fixtures:
    emulated_host: a fresh :class:`~portpool.EmulatedHost` (seed 0) per test.
    port_pool: a non-admin process on ``emulated_host``, or with
        ``--portpool-backend=windows`` the real pool (on Windows).
    admin_port_pool: an administrator process on ``emulated_host``.
    port_pool_module / port_pool_session: one pool shared by a module / the session.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from portpool import EmulatedHost, PortPool


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--portpool-backend``."""
    parser.addoption("--portpool-backend", default="emulated",
                     choices=("emulated", "windows", "auto"),
                     help="backend behind the port_pool fixtures (default: emulated)")


def _open(config: pytest.Config) -> PortPool:
    from portpool import open_pool

    return open_pool(str(config.getoption("--portpool-backend")))


@pytest.fixture
def emulated_host() -> EmulatedHost:
    """A fresh emulated Windows machine, seeded with 0."""
    from portpool import EmulatedHost

    return EmulatedHost(seed=0)


@pytest.fixture
def port_pool(request: pytest.FixtureRequest, emulated_host: EmulatedHost) -> Iterator[PortPool]:
    """A process's port pool, closed after the test."""
    if request.config.getoption("--portpool-backend") == "emulated":
        pool: PortPool = emulated_host.process()
    else:
        pool = _open(request.config)
    with pool:
        yield pool


@pytest.fixture
def admin_port_pool(emulated_host: EmulatedHost) -> Iterator[PortPool]:
    """An elevated administrator's process on ``emulated_host``."""
    with emulated_host.process(admin=True) as pool:
        yield pool


@pytest.fixture(scope="module")
def port_pool_module(request: pytest.FixtureRequest) -> Iterator[PortPool]:
    """One pool (on its own machine) shared by every test of a module."""
    with _open(request.config) as pool:
        yield pool


@pytest.fixture(scope="session")
def port_pool_session(request: pytest.FixtureRequest) -> Iterator[PortPool]:
    """One pool (on its own machine) shared by the whole session."""
    with _open(request.config) as pool:
        yield pool
