"""werkzeug's development server and Flask under the patch."""

from __future__ import annotations

from typing import Any

import pytest

from portpool import EmulatedHost

from .conftest import INSIDE, outside_rows, serving

flask = pytest.importorskip("flask", reason="pip install 'portpool[compat]' for the matrix")
requests = pytest.importorskip("requests", reason="pip install 'portpool[compat]' for the matrix")
serving_module = pytest.importorskip("werkzeug.serving")

pytestmark = pytest.mark.portpool(preset="hyperv", seed=1)

FORBIDDEN = "An attempt was made to access a socket in a way forbidden by its access permissions"


def make_app() -> Any:  # Any: the module is pytest.importorskip's
    app = flask.Flask("compat")

    @app.get("/")  # type: ignore[untyped-decorator]  # app is Any (pytest.importorskip's flask)
    def index() -> str:
        return "flask says hi"

    return app


def test_app_run_inside_winnat_exits_with_the_windows_message(
        machine: EmulatedHost, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        make_app().run(host="127.0.0.1", port=INSIDE)
    assert info.value.code == 1
    assert FORBIDDEN in capsys.readouterr().err  # what werkzeug prints on Windows


def test_make_server_serves_and_shuts_down(machine: EmulatedHost) -> None:
    server = serving_module.make_server("127.0.0.1", 0, make_app(), threaded=True)
    port = server.server_port
    assert outside_rows(machine, port)
    with serving(server.serve_forever, server.shutdown, what="werkzeug"):
        for host in ("127.0.0.1", "localhost"):
            reply = requests.get(f"http://{host}:{port}/", timeout=5)
            assert reply.status_code == 200 and reply.text == "flask says hi"
    server.server_close()
