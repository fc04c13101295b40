"""socketserver and http.server (the standard library) under the patch."""

from __future__ import annotations

import http.server
import socket
import socketserver
import urllib.request

import pytest

from portpool import EmulatedHost, windows_code

from .conftest import INSIDE, outside_rows, serving

pytestmark = pytest.mark.portpool(preset="hyperv", seed=1)


class Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # the handler's own name
        address = self.server.server_address
        assert isinstance(address, tuple)  # an AF_INET server's (host, port)
        body = f"hello from {address[1]}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_bind_inside_winnat_is_refused_as_on_windows(machine: EmulatedHost) -> None:
    with pytest.raises(PermissionError) as info:
        http.server.HTTPServer(("127.0.0.1", INSIDE), Hello)
    assert windows_code(info.value) == 10013
    assert "An attempt was made to access a socket in a way forbidden by its access permissions" \
        in str(info.value)


def test_serves_and_shuts_down(machine: EmulatedHost) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hello)
    port = server.server_address[1]
    assert outside_rows(machine, port)
    with server, serving(lambda: server.serve_forever(poll_interval=0.05), server.shutdown,
                         what="http.server"), \
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as reply:
        assert reply.status == 200
        assert reply.read() == f"hello from {port}".encode()


def test_socketserver_echo_over_udp(machine: EmulatedHost) -> None:
    class Echo(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            data, sock = self.request
            sock.sendto(data.upper(), self.client_address)

    with pytest.raises(PermissionError):
        socketserver.UDPServer(("127.0.0.1", INSIDE), Echo)
    server = socketserver.ThreadingUDPServer(("127.0.0.1", 0), Echo)
    port = server.server_address[1]
    with server, serving(lambda: server.serve_forever(poll_interval=0.05), server.shutdown,
                         what="socketserver UDP"), \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        client.settimeout(5)
        client.sendto(b"ping", ("127.0.0.1", port))
        data, sender = client.recvfrom(100)
    assert data == b"PING" and sender == ("127.0.0.1", port)
