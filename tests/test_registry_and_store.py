"""open_pool, the backend registry, the durable store and the pytest fixtures."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import portpool
from portpool import (
    EmulatedHost,
    EmulatedProcess,
    PortPool,
    PortPoolError,
    PortRange,
    Protocol,
    WinError,
    open_pool,
)


def test_open_pool_emulated_and_options() -> None:
    pool = open_pool("emulated", admin=True, seed=3, dynamic_ports=PortRange(60000, 255))
    with pool:
        sock = pool.socket()
        sock.bind(("", 0))
        assert sock.getsockname()[1] in PortRange(60000, 255)
        assert pool.create_persistent_reservation(Protocol.TCP, 1000, 1)


def test_auto_is_emulated_off_windows() -> None:
    pool = open_pool("auto") if sys.platform != "win32" else open_pool("emulated")
    assert type(pool).__name__ == "EmulatedPool"


def test_unknown_backend_lists_the_valid_ones() -> None:
    with pytest.raises(ValueError, match=r"'nope'.*'auto', 'emulated', 'windows'"):
        open_pool("nope")


def test_importing_portpool_loads_no_backend() -> None:
    code = ("import sys, portpool; print(sorted(m for m in sys.modules"
            " if m.startswith('portpool.backends') or m == 'ctypes'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_public_names_have_docstrings() -> None:
    for name in portpool.__all__:
        obj = getattr(portpool, name)
        if callable(obj) and not isinstance(obj, int):
            assert obj.__doc__, name


@pytest.mark.rule("R13d")
def test_sqlite_store_survives_the_python_process(tmp_path: Path) -> None:
    store = tmp_path / "registry.sqlite"
    script = textwrap.dedent(f"""
        from portpool import EmulatedHost, Protocol
        host = EmulatedHost(store={str(store)!r})
        host.process(admin=True).create_persistent_reservation(Protocol.UDP, 7000, 4)
    """)
    subprocess.run([sys.executable, "-c", script], check=True)
    host = EmulatedHost(store=store)  # a new boot of the same machine
    assert [r.range for r in host.reservations(Protocol.UDP)] == [PortRange(7000, 4)]
    admin = host.process(admin=True)
    admin.delete_persistent_reservation(Protocol.UDP, 7000, 4)
    assert EmulatedHost(store=store).reservations(Protocol.UDP) == ()


def test_a_failing_store_changes_nothing(tmp_path: Path) -> None:
    store = tmp_path / "registry.sqlite"
    host = EmulatedHost(store=store)
    admin = host.process(admin=True)
    before = host.snapshot()
    store.unlink()
    store.mkdir()  # the file is now a directory: sqlite cannot open it
    with pytest.raises(PortPoolError) as info:
        admin.create_persistent_reservation(Protocol.TCP, 7000, 4)
    assert info.value.code is WinError.ERROR_NOT_SUPPORTED
    assert host.snapshot() == before


def test_plugin_fixtures(port_pool: EmulatedProcess, admin_port_pool: EmulatedProcess,
                         emulated_host: EmulatedHost, port_pool_module: PortPool) -> None:
    assert port_pool.host is emulated_host and admin_port_pool.admin and not port_pool.admin
    port_pool_module.socket().bind(("", 0))


def test_explain_rejects_bad_ports(emulated_host: EmulatedHost) -> None:
    for bad in (0, 70000, -1):
        with pytest.raises(ValueError, match="1-65535"):
            emulated_host.explain(Protocol.TCP, bad)
    for wrong in ("80", 80.0, None):
        with pytest.raises(TypeError, match="port"):
            emulated_host.explain(Protocol.TCP, wrong)  # type: ignore[arg-type]  # wrong on purpose
    with pytest.raises(TypeError, match="protocol"):
        emulated_host.explain("tcp", 80)  # type: ignore[arg-type]  # wrong on purpose


def test_a_backend_that_cannot_import(monkeypatch: pytest.MonkeyPatch) -> None:
    from portpool import _registry

    monkeypatch.setitem(_registry.BACKENDS, "broken", "portpool.backends.no_such_module:Pool")
    with pytest.raises(PortPoolError) as info:
        open_pool("broken")
    assert info.value.code is WinError.ERROR_NOT_SUPPORTED
    assert "no_such_module" in str(info.value)


@pytest.mark.skipif(sys.platform == "win32", reason="the real DLLs load on Windows")
def test_open_pool_windows_off_windows_is_a_clear_error() -> None:
    with pytest.raises(PortPoolError) as info:
        open_pool("windows")
    assert info.value.code is WinError.ERROR_NOT_SUPPORTED
    assert "only on Windows" in str(info.value)
