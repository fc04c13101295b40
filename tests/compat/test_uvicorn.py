"""uvicorn under the patch."""

from __future__ import annotations

import time
import urllib.request
from typing import Any

import pytest

from portpool import EmulatedHost

from .conftest import DEADLINE, INSIDE, ASGIReceive, ASGIScope, ASGISend, outside_rows, serving, within

uvicorn = pytest.importorskip("uvicorn", reason="pip install 'portpool[compat]' for the matrix")

pytestmark = pytest.mark.portpool(preset="hyperv", seed=1)


async def app(scope: ASGIScope, receive: ASGIReceive, send: ASGISend) -> None:
    assert scope["type"] == "http"
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"uvicorn says hi"})


def _config(port: int) -> Any:  # Any: the module is pytest.importorskip's
    return uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning",
                          access_log=False)


def test_bind_inside_winnat_stops_with_errno_13_as_on_windows(
        machine: EmulatedHost, capsys: pytest.CaptureFixture[str]) -> None:
    server = uvicorn.Server(_config(INSIDE))  # its log handler writes to this test's stderr
    with pytest.raises(SystemExit) as info:
        within(DEADLINE, server.run, what="uvicorn on the excluded port")
    assert info.value.code not in (0, None)
    assert (f"[Errno 13] error while attempting to bind on address ('127.0.0.1', {INSIDE}): an"
            " attempt was made to access a socket in a way forbidden by its access permissions"
            ) in capsys.readouterr().err


def test_serves_and_exits(machine: EmulatedHost) -> None:
    server = uvicorn.Server(_config(0))

    def stop() -> None:
        server.should_exit = True

    with serving(server.run, stop, what="uvicorn"):
        deadline = time.monotonic() + DEADLINE
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        assert outside_rows(machine, port)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as reply:
            assert reply.read() == b"uvicorn says hi"
