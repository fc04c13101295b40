"""hypercorn (asyncio worker) under the patch."""

from __future__ import annotations

import asyncio
import socket
import urllib.request
from typing import Any

import pytest

from portpool import EmulatedHost, windows_code

from .conftest import DEADLINE, INSIDE, ASGIReceive, ASGIScope, ASGISend, outside_rows, within

hypercorn_asyncio = pytest.importorskip("hypercorn.asyncio",
                                        reason="pip install 'portpool[compat]' for the matrix")
hypercorn_config = pytest.importorskip("hypercorn.config")

pytestmark = pytest.mark.portpool(preset="hyperv", seed=1)


async def app(scope: ASGIScope, receive: ASGIReceive, send: ASGISend) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"hypercorn says hi"})


def _config(port: int) -> Any:  # Any: the module is pytest.importorskip's
    config = hypercorn_config.Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = config.errorlog = None
    return config


def test_bind_inside_winnat_is_refused_as_on_windows(machine: EmulatedHost) -> None:
    async def main() -> None:
        await hypercorn_asyncio.serve(app, _config(INSIDE), shutdown_trigger=asyncio.Event().wait)

    with pytest.raises(PermissionError) as info:
        within(DEADLINE, asyncio.run, main(), what="hypercorn on the excluded port")
    assert windows_code(info.value) == 10013


def test_serves_and_shuts_down(machine: EmulatedHost) -> None:
    with socket.socket() as probe:  # a free port of the emulated machine, as users find one
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert outside_rows(machine, port)

    async def main() -> bytes:
        stop = asyncio.Event()
        task = asyncio.create_task(hypercorn_asyncio.serve(app, _config(port),
                                                           shutdown_trigger=stop.wait))
        for _ in range(500):
            await asyncio.sleep(0.01)
            try:
                body = await asyncio.to_thread(_get, port)
                break
            except ConnectionRefusedError:
                continue
        else:
            raise AssertionError("hypercorn did not start")
        stop.set()
        await asyncio.wait_for(task, 5)
        return body

    assert within(DEADLINE, asyncio.run, main(), what="hypercorn") == b"hypercorn says hi"


def _get(port: int) -> bytes:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as reply:
        return bytes(reply.read())
