"""twisted (its epoll reactor, a reactor of the test's own) under the patch."""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from portpool import EmulatedHost

from .conftest import INSIDE, outside_rows, serving

epollreactor = pytest.importorskip("twisted.internet.epollreactor",
                                   reason="pip install 'portpool[compat]' for the matrix")
error = pytest.importorskip("twisted.internet.error")
resource = pytest.importorskip("twisted.web.resource")
server = pytest.importorskip("twisted.web.server")

pytestmark = pytest.mark.portpool(preset="hyperv", seed=1)


# twisted's Resource is untyped (its __init__ too), and pytest.importorskip gives Any.
Resource: Any = resource.Resource


class Hello(Resource):  # type: ignore[misc]  # subclassing Any (see above)
    isLeaf = True

    def render_GET(self, request: object) -> bytes:  # twisted's name
        return b"twisted says hi"


def test_listen_inside_winnat_is_refused_as_on_windows(machine: EmulatedHost) -> None:
    reactor = epollreactor.EPollReactor()
    with pytest.raises(error.CannotListenError) as info:
        reactor.listenTCP(INSIDE, server.Site(Hello(), reactor=reactor), interface="127.0.0.1")
    assert (f"Couldn't listen on 127.0.0.1:{INSIDE}: [WinError 10013] An attempt was made to"
            " access a socket in a way forbidden by its access permissions.") in str(info.value)


def test_serves_and_stops(machine: EmulatedHost) -> None:
    reactor = epollreactor.EPollReactor()
    port = reactor.listenTCP(0, server.Site(Hello(), reactor=reactor), interface="127.0.0.1")
    number = port.getHost().port
    assert outside_rows(machine, number)
    with serving(lambda: reactor.run(installSignalHandlers=False),
                 lambda: reactor.callFromThread(reactor.stop), what="twisted"), \
            urllib.request.urlopen(f"http://127.0.0.1:{number}/", timeout=5) as reply:
        assert reply.read() == b"twisted says hi"


TWISTED_PROGRAM = """
import sys
import urllib.request
from twisted.internet import error, reactor, threads
from twisted.web import resource, server

class Hello(resource.Resource):
    isLeaf = True
    def render_GET(self, request):
        return b"global reactor says hi"

try:
    reactor.listenTCP(8050, server.Site(Hello()), interface="127.0.0.1")
except error.CannotListenError as exc:
    print("refused:", exc)
port = reactor.listenTCP(0, server.Site(Hello()), interface="127.0.0.1").getHost().port

def fetch():
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as reply:
        return reply.read()

def done(body):
    print("body:", body.decode())
    reactor.stop()

threads.deferToThread(fetch).addCallbacks(done, lambda failure: (print(failure), reactor.stop()))
reactor.callLater(10, reactor.stop)
reactor.run()
"""


def test_a_program_on_the_global_reactor_under_portpool_run(tmp_path: Path) -> None:
    """The global reactor cannot be restarted in a test process: a program that uses it
    runs whole under ``portpool run`` (in a subprocess with a timeout)."""
    from portpool import EmulatedHost, Protocol

    EmulatedHost.preset("hyperv", seed=1, store=tmp_path / "m.db").exclude(Protocol.TCP, 8000, 100)
    (tmp_path / "program.py").write_text(TWISTED_PROGRAM)
    result = subprocess.run([sys.executable, "-m", "portpool", "run", "--machine", str(tmp_path / "m.db"),
                             "program.py"], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert ("refused: Couldn't listen on 127.0.0.1:8050: [WinError 10013] An attempt was made to"
            " access a socket in a way forbidden by its access permissions.") in result.stdout
    assert "body: global reactor says hi" in result.stdout
