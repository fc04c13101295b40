"""waitress under the patch."""

from __future__ import annotations

import errno
import gc
import urllib.request
import warnings
from typing import Any
from wsgiref.types import StartResponse

import pytest

from portpool import EmulatedHost, windows_code

from .conftest import INSIDE, outside_rows, serving

waitress_server = pytest.importorskip("waitress.server",
                                      reason="pip install 'portpool[compat]' for the matrix")

pytestmark = pytest.mark.portpool(preset="hyperv", seed=1)


def app(environ: dict[str, object], start_response: StartResponse) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"waitress says hi"]


def test_bind_inside_winnat_is_refused_as_on_windows(machine: EmulatedHost) -> None:
    with warnings.catch_warnings():
        # waitress leaves the wake-up pipe it made before binding open when the bind fails
        # (on any OS); collected here, its ResourceWarning is not this test's subject.
        warnings.simplefilter("ignore", ResourceWarning)
        with pytest.raises(PermissionError) as info:
            waitress_server.create_server(app, host="127.0.0.1", port=INSIDE)
        assert windows_code(info.value) == 10013
        del info
        gc.collect()


def test_serves_and_closes(machine: EmulatedHost) -> None:
    server = waitress_server.create_server(app, host="127.0.0.1", port=0, threads=2)
    port = server.effective_port
    assert outside_rows(machine, port)
    with serving(server.run, lambda: _close(server), what="waitress"), \
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as reply:
        assert reply.read() == b"waitress says hi"


def _close(server: Any) -> None:  # Any: a waitress server (pytest.importorskip's module)
    """close() from another thread races waitress's own select loop (EBADF, without the
    patch too): the loop closes the server itself, woken by its trigger."""
    try:
        server.trigger.pull_trigger(server.close)
    except OSError as exc:
        # A task thread's wake-up ran the thunk, which closed the trigger, before this
        # write: the server is closed all the same (the serving thread's end says so).
        if exc.errno != errno.EBADF:
            raise
