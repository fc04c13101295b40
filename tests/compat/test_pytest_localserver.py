"""pytest-localserver's ContentServer under the patch."""

from __future__ import annotations

import pytest

from portpool import EmulatedHost

from .conftest import INSIDE, outside_rows, within

http = pytest.importorskip("pytest_localserver.http",
                           reason="pip install 'portpool[compat]' for the matrix")
requests = pytest.importorskip("requests", reason="pip install 'portpool[compat]' for the matrix")

pytestmark = pytest.mark.portpool(preset="hyperv", seed=1)


def test_server_inside_winnat_exits_with_the_windows_message(
        machine: EmulatedHost, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):  # werkzeug's make_server prints and exits
        http.ContentServer(host="127.0.0.1", port=INSIDE)
    assert "forbidden by its access permissions" in capsys.readouterr().err


def test_serves_and_stops(machine: EmulatedHost) -> None:
    server = http.ContentServer(host="127.0.0.1", port=0)
    server.start()
    try:
        server.serve_content("localserver says hi")
        assert outside_rows(machine, server.server_address[1])
        reply = requests.get(server.url, timeout=5)
        assert reply.text == "localserver says hi"
    finally:
        within(10, server.stop, what="pytest-localserver stop()")
        server.join(10)  # stop() returns when serve_forever's loop ends; the thread ends just after
    assert not server.is_alive()
