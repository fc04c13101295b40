"""wsgiref.simple_server (the standard library) under the patch."""

from __future__ import annotations

import urllib.request
import wsgiref.simple_server
from wsgiref.types import StartResponse

import pytest

from portpool import EmulatedHost, windows_code

from .conftest import INSIDE, outside_rows, serving

pytestmark = pytest.mark.portpool(preset="hyperv", seed=1)


class Quiet(wsgiref.simple_server.WSGIRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def app(environ: dict[str, object], start_response: StartResponse) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"wsgiref says hi"]


def test_bind_inside_winnat_is_refused_as_on_windows(machine: EmulatedHost) -> None:
    with pytest.raises(PermissionError) as info:
        wsgiref.simple_server.make_server("127.0.0.1", INSIDE, app, handler_class=Quiet)
    assert windows_code(info.value) == 10013


def test_serves_and_shuts_down(machine: EmulatedHost) -> None:
    server = wsgiref.simple_server.make_server("127.0.0.1", 0, app, handler_class=Quiet)
    port = server.server_port
    assert outside_rows(machine, port)
    with server, serving(lambda: server.serve_forever(poll_interval=0.05), server.shutdown,
                         what="wsgiref"), \
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as reply:
        assert reply.read() == b"wsgiref says hi"
