"""multiprocessing.connection's Listener and Client over AF_INET under the patch."""

from __future__ import annotations

import multiprocessing.connection as mpc
import threading

import pytest

from portpool import EmulatedHost, windows_code

from .conftest import INSIDE, outside_rows, within

pytestmark = pytest.mark.portpool(preset="hyperv", seed=1)


def test_listener_inside_winnat_is_refused_as_on_windows(machine: EmulatedHost) -> None:
    with pytest.raises(PermissionError) as info:
        mpc.Listener(("127.0.0.1", INSIDE), authkey=b"secret")
    assert windows_code(info.value) == 10013


def test_authenticated_round_trip(machine: EmulatedHost) -> None:
    with mpc.Listener(("127.0.0.1", 0), authkey=b"secret") as listener:
        port = listener.address[1]
        assert outside_rows(machine, port)

        def client() -> object:
            with mpc.Client(("127.0.0.1", port), authkey=b"secret") as conn:
                conn.send({"ask": 41})
                assert mpc.wait([conn], timeout=5) == [conn]
                return conn.recv()

        answers: list[object] = []
        thread = threading.Thread(target=lambda: answers.append(client()), daemon=True)
        thread.start()
        with within(5, listener.accept, what="Listener.accept") as conn:
            conn.send({"answer": conn.recv()["ask"] + 1})
        thread.join(5)
        assert not thread.is_alive()
    assert answers == [{"answer": 42}]
