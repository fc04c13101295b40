"""Child processes join the emulated machine: ``portpool.share_with_children`` and the
``portpool-children.pth`` hook the wheel installs (subprocess and multiprocessing's
spawn), with the store shared and each process's runtime state its own."""

from __future__ import annotations

import multiprocessing
import os
import site
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import portpool
from portpool import EmulatedHost, Protocol
from portpool._patch import _children

TIMEOUT = 60
CHILD = textwrap.dedent("""
    import ctypes, socket, sys
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", 8050))
        print("bound")
    except OSError as exc:
        print("refused", exc.winerror)
    if len(sys.argv) > 1:  # elevated: a persistent block, and a runtime one
        iphlpapi = ctypes.WinDLL("iphlpapi")
        token = ctypes.c_uint64()
        print("create", iphlpapi.CreatePersistentTcpPortReservation(socket.htons(3000), 10,
                                                                    ctypes.byref(token)))
""")


@pytest.fixture
def host(tmp_path: Path) -> EmulatedHost:
    made = EmulatedHost.preset("hyperv", seed=1, store=tmp_path / "machine.db")
    made.exclude(Protocol.TCP, 8000, 100)
    return made


def run_child(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "child.py").write_text(CHILD)
    return subprocess.run([sys.executable, "child.py", *args], cwd=tmp_path, capture_output=True,
                          text=True, timeout=TIMEOUT, check=False)


def test_the_hook_is_installed_with_portpool() -> None:
    assert _children.hook_installed()
    folders = [Path(folder) for folder in site.getsitepackages()]
    (hook,) = [folder / _children.PTH_NAME for folder in folders if (folder / _children.PTH_NAME).is_file()]
    line = hook.read_text().strip()
    assert line.startswith("import ") and "PORTPOOL_MACHINE" in line and "\n" not in line


def test_a_subprocess_joins_the_machine_and_shares_the_store(tmp_path: Path, host: EmulatedHost) -> None:
    assert "bound" in run_child(tmp_path).stdout  # the control: without sharing, the real machine
    with portpool.patch(host), portpool.share_with_children(host, admin=True) as env:
        assert os.environ[_children.ENV_MACHINE] == env[_children.ENV_MACHINE] == str(tmp_path / "machine.db")
        result = run_child(tmp_path, "admin")
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == ["refused", "10013", "create", "0"]
        # The child's persistent block is in the store, for every host over it.
        kept = EmulatedHost(store=tmp_path / "machine.db").reservations(Protocol.TCP)
        assert any(r.range.start == 3000 and r.persistent for r in kept)
    assert _children.ENV_MACHINE not in os.environ  # restored on leaving


def test_a_child_without_elevation_is_refused_the_persistent_call(tmp_path: Path,
                                                                   host: EmulatedHost) -> None:
    with portpool.share_with_children(host):
        result = run_child(tmp_path, "create")
    assert result.stdout.split() == ["refused", "10013", "create", "5"]  # ERROR_ACCESS_DENIED


def test_child_environment_for_a_child_with_an_environment_of_its_own(tmp_path: Path,
                                                                      host: EmulatedHost) -> None:
    env = {**os.environ, **portpool.child_environment(host)}
    (tmp_path / "child.py").write_text(CHILD)
    result = subprocess.run([sys.executable, "child.py"], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=TIMEOUT, check=False)
    assert result.stdout.split() == ["refused", "10013"]


def _spawned_bind(queue: multiprocessing.Queue[object]) -> None:
    import socket

    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", 8050))
            queue.put("bound")
        except OSError as exc:
            queue.put(getattr(exc, "winerror", exc.errno))


def test_multiprocessing_spawn_joins_the_machine(host: EmulatedHost) -> None:
    context = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue[object] = context.Queue()
    with portpool.share_with_children(host):
        process = context.Process(target=_spawned_bind, args=(queue,))
        process.start()
        process.join(TIMEOUT)
    assert not process.is_alive(), "the spawned child did not end"
    assert process.exitcode == 0
    assert queue.get(timeout=5) == 10013


def test_a_child_that_cannot_join_stops_loudly(tmp_path: Path) -> None:
    env = {**os.environ, _children.ENV_MACHINE: str(tmp_path / "missing.db")}
    result = subprocess.run([sys.executable, "-c", "print('ran')"], env=env, capture_output=True,
                            text=True, timeout=TIMEOUT, check=False)
    assert result.returncode == 2 and "ran" not in result.stdout
    assert result.stderr.startswith("portpool: this child process cannot join the emulated machine")
    assert result.stderr.count("\n") == 1
    (tmp_path / "not-a-store.db").write_text("hello")
    env[_children.ENV_MACHINE] = str(tmp_path / "not-a-store.db")
    result = subprocess.run([sys.executable, "-c", "print('ran')"], env=env, capture_output=True,
                            text=True, timeout=TIMEOUT, check=False)
    assert result.returncode == 2 and "not-a-store.db" in result.stderr


def test_bad_arguments(host: EmulatedHost) -> None:
    with pytest.raises(ValueError, match=r"EmulatedHost\(store=PATH\)"):
        portpool.child_environment(EmulatedHost())
    with pytest.raises(TypeError, match="EmulatedHost"):
        portpool.child_environment("machine.db")  # type: ignore[arg-type]  # wrong on purpose
    with pytest.raises(TypeError, match="admin"):
        portpool.child_environment(host, admin=1)  # type: ignore[arg-type]  # wrong on purpose
    with pytest.raises(ValueError, match="RULE=alternative"):
        _children._parse_variants("X15")


def test_the_variants_travel(tmp_path: Path) -> None:
    host = EmulatedHost(store=tmp_path / "m.db", variants={"X15": "refused"})
    env = portpool.child_environment(host)
    assert "X15=refused" in env[_children.ENV_VARIANTS].split(",")
    assert _children._parse_variants(env[_children.ENV_VARIANTS]) == host.variants


SERVER = textwrap.dedent("""
    import http.server, sys
    class Hello(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = b"child says hi"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        def log_message(self, *args):
            pass
    server = http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Hello)
    print("listening", server.server_address[1], flush=True)
    server.handle_request()
""")


def test_the_parent_reaches_a_childs_server_by_its_emulated_port(tmp_path: Path,
                                                                host: EmulatedHost) -> None:
    import urllib.request

    (tmp_path / "server.py").write_text(SERVER)
    with portpool.patch(host), portpool.share_with_children(host), \
            subprocess.Popen([sys.executable, "server.py", "8765"], cwd=tmp_path,
                             stdout=subprocess.PIPE, text=True) as child:
        try:
            assert child.stdout is not None
            assert child.stdout.readline().split() == ["listening", "8765"]
            with urllib.request.urlopen("http://127.0.0.1:8765/", timeout=10) as reply:
                assert reply.read() == b"child says hi"
            assert child.wait(TIMEOUT) == 0
        finally:
            child.kill()


def _spawned_client(port: int) -> None:
    import multiprocessing.connection as mpc

    with mpc.Client(("127.0.0.1", port), authkey=b"key") as conn:
        conn.send(("hello from", conn.recv()))


def test_a_spawned_child_reaches_the_parents_listener(host: EmulatedHost) -> None:
    import multiprocessing.connection as mpc

    context = multiprocessing.get_context("spawn")
    default = socket.getdefaulttimeout()
    socket.setdefaulttimeout(TIMEOUT)  # the listener's accept fails instead of hanging
    try:
        with portpool.patch(host), portpool.share_with_children(host), \
                mpc.Listener(("127.0.0.1", 0), authkey=b"key") as listener:
            socket.setdefaulttimeout(default)
            process = context.Process(target=_spawned_client, args=(listener.address[1],))
            process.start()
            try:
                with listener.accept() as conn:
                    conn.send("the parent")
                    assert conn.poll(TIMEOUT)
                    assert conn.recv() == ("hello from", "the parent")
            finally:
                process.join(TIMEOUT)
    finally:
        socket.setdefaulttimeout(default)
    assert process.exitcode == 0


def test_closed_sockets_and_exited_children_leave_no_twins(tmp_path: Path, host: EmulatedHost) -> None:
    from portpool._patch._twins import TwinMap, twins_path

    (tmp_path / "server.py").write_text(SERVER)
    with portpool.patch(host), portpool.share_with_children(host) as env:
        twins = TwinMap(twins_path(env[_children.ENV_MACHINE]))
        with subprocess.Popen([sys.executable, "server.py", "8766"], cwd=tmp_path,
                              stdout=subprocess.PIPE, text=True) as child:
            assert child.stdout is not None and child.stdout.readline()
            assert twins.lookup(Protocol.TCP, portpool.Family.INET, "127.0.0.1", 8766) is not None
            child.kill()  # no atexit: the row stays, and is skipped and removed as stale
        assert twins.lookup(Protocol.TCP, portpool.Family.INET, "127.0.0.1", 8766) is None


def test_a_hermetic_parent_makes_hermetic_children(tmp_path: Path, host: EmulatedHost) -> None:
    with portpool.patch(host, hermetic=True), portpool.share_with_children(host) as env:
        assert env[_children.ENV_HERMETIC] == "1"
    with portpool.patch(host), portpool.share_with_children(host) as env:
        assert env[_children.ENV_HERMETIC] == "0"
    code = ("import socket\ntry: socket.create_connection(('127.0.0.1', 9), timeout=5)\n"
            "except OSError as e: print(e.winerror, 'hermetic' in ' '.join(getattr(e, '__notes__', [])))")
    env = {**os.environ, **portpool.child_environment(host, hermetic=True)}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                            timeout=TIMEOUT, check=False)
    assert result.stdout.split() == ["10061", "True"], result.stderr
