"""pytest-httpserver under the patch: its HTTPServer made in the test, and its session
``httpserver`` fixture, started before the patch on the real loopback."""

from __future__ import annotations

from typing import Any

import pytest

from portpool import EmulatedHost

from .conftest import INSIDE, outside_rows, within

pytest_httpserver = pytest.importorskip("pytest_httpserver",
                                        reason="pip install 'portpool[compat]' for the matrix")
requests = pytest.importorskip("requests", reason="pip install 'portpool[compat]' for the matrix")

pytestmark = pytest.mark.portpool(preset="hyperv", seed=1)
FORBIDDEN = "An attempt was made to access a socket in a way forbidden by its access permissions"


def test_start_inside_winnat_exits_with_the_windows_message(
        machine: EmulatedHost, capsys: pytest.CaptureFixture[str]) -> None:
    server = pytest_httpserver.HTTPServer(host="127.0.0.1", port=INSIDE)
    with pytest.raises(SystemExit):  # werkzeug's make_server prints and exits
        server.start()
    assert FORBIDDEN in capsys.readouterr().err


def test_serves_and_stops(machine: EmulatedHost) -> None:
    server = pytest_httpserver.HTTPServer(host="127.0.0.1", port=0)
    server.expect_request("/hello").respond_with_data("httpserver says hi")
    server.start()
    try:
        assert outside_rows(machine, server.port)
        reply = requests.get(server.url_for("/hello"), timeout=5)
        assert reply.status_code == 200 and reply.text == "httpserver says hi"
    finally:
        within(10, server.stop, what="pytest-httpserver stop()")
    server.check_assertions()


def test_the_session_fixture_started_outside_the_patch_is_reached(
        httpserver: Any, machine: EmulatedHost) -> None:  # Any: pytest.importorskip's module
    httpserver.expect_request("/outside").respond_with_data("from the real loopback")
    reply = requests.get(httpserver.url_for("/outside"), timeout=5)
    assert reply.text == "from the real loopback"
    httpserver.check_assertions()
