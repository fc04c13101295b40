"""twisted (its epoll reactor, a reactor of the test's own) under the patch."""

from __future__ import annotations

import urllib.request

import pytest

from portpool import EmulatedHost

from .conftest import INSIDE, outside_rows, serving

epollreactor = pytest.importorskip("twisted.internet.epollreactor",
                                   reason="pip install 'portpool[compat]' for the matrix")
error = pytest.importorskip("twisted.internet.error")
resource = pytest.importorskip("twisted.web.resource")
server = pytest.importorskip("twisted.web.server")

pytestmark = pytest.mark.portpool(preset="hyperv", seed=1)


class Hello(resource.Resource):
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
