"""tornado under the patch."""

from __future__ import annotations

import asyncio
import socket
import traceback
from typing import Any

import pytest

from portpool import EmulatedHost, windows_code

from .conftest import DEADLINE, INSIDE, outside_rows, within

tornado_web = pytest.importorskip("tornado.web", reason="pip install 'portpool[compat]' for the matrix")
httpserver = pytest.importorskip("tornado.httpserver")
httpclient = pytest.importorskip("tornado.httpclient")
netutil = pytest.importorskip("tornado.netutil")

pytestmark = pytest.mark.portpool(preset="hyperv", seed=1)


# pytest.importorskip gives Any, and so does mypy where the compat extra is not installed.
RequestHandler: Any = tornado_web.RequestHandler


class Hello(RequestHandler):  # type: ignore[misc]  # subclassing Any (see above)
    def get(self) -> None:
        self.write("tornado says hi")


def test_bind_sockets_inside_winnat_is_refused_as_on_windows(machine: EmulatedHost) -> None:
    with pytest.raises(PermissionError) as info:
        netutil.bind_sockets(INSIDE, "127.0.0.1")
    assert windows_code(info.value) == 10013
    # tornado's bind_sockets leaves its socket open when bind raises (on Windows too): close
    # it here, or its ResourceWarning lands in whichever test collects it.
    for frame, _ in traceback.walk_tb(info.value.__traceback__):
        leaked = frame.f_locals.get("sock")
        if isinstance(leaked, socket.socket):
            leaked.close()


def test_serves_and_stops(machine: EmulatedHost) -> None:
    async def main() -> tuple[bytes, int]:
        sockets = netutil.bind_sockets(0, "127.0.0.1")
        port = sockets[0].getsockname()[1]
        server = httpserver.HTTPServer(tornado_web.Application([("/", Hello)]))
        server.add_sockets(sockets)
        client = httpclient.AsyncHTTPClient()
        try:
            reply = await client.fetch(f"http://127.0.0.1:{port}/", request_timeout=5)
        finally:
            server.stop()
            await server.close_all_connections()
            client.close()
        return reply.body, port

    body, port = within(DEADLINE, asyncio.run, main(), what="tornado")
    assert body == b"tornado says hi"
    assert outside_rows(machine, port)
