"""asyncio (the default event loop) under the patch: streams and datagrams."""

from __future__ import annotations

import asyncio
from typing import cast

import pytest

from portpool import EmulatedHost, Protocol

from .conftest import DEADLINE, INSIDE, outside_rows, within

pytestmark = pytest.mark.portpool(preset="hyperv", seed=1)


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    data = await reader.readline()
    writer.write(data.upper())
    await writer.drain()
    writer.close()
    await writer.wait_closed()


def test_start_server_inside_winnat_gets_errno_13_as_on_windows(machine: EmulatedHost) -> None:
    async def main() -> None:
        await asyncio.start_server(_echo, "127.0.0.1", INSIDE)

    with pytest.raises(PermissionError) as info:
        within(DEADLINE, asyncio.run, main(), what="asyncio.start_server")
    # asyncio re-raises the bind error with its errno and its own words, on Windows too.
    assert info.value.errno == 13
    assert (f"error while attempting to bind on address ('127.0.0.1', {INSIDE}): an attempt was"
            " made to access a socket in a way forbidden by its access permissions") in str(info.value)


def test_stream_echo_and_close(machine: EmulatedHost) -> None:
    async def main() -> tuple[bytes, int]:
        server = await asyncio.start_server(_echo, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"hello\n")
            await writer.drain()
            reply = await asyncio.wait_for(reader.readline(), 5)
            writer.close()
            await writer.wait_closed()
        return reply, port

    reply, port = within(DEADLINE, asyncio.run, main(), what="asyncio streams")
    assert reply == b"HELLO\n"
    assert outside_rows(machine, port)
    assert machine.bindings(Protocol.TCP) == ()  # everything closed with the loop


def test_datagram_endpoint_echo(machine: EmulatedHost) -> None:
    class Echo(asyncio.DatagramProtocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            # cast: a datagram endpoint's transport, which on 3.11 does not derive from
            # DatagramTransport (asyncio's selector transport gained that base later)
            self.transport = cast(asyncio.DatagramTransport, transport)

        def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
            self.transport.sendto(data.upper(), addr)

    class Client(asyncio.DatagramProtocol):
        def __init__(self) -> None:
            self.reply: asyncio.Future[tuple[bytes, tuple[str, int]]] = \
                asyncio.get_running_loop().create_future()

        def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
            self.reply.set_result((data, addr))

    async def main() -> tuple[bytes, tuple[str, int], int]:
        loop = asyncio.get_running_loop()
        with pytest.raises(PermissionError):
            await loop.create_datagram_endpoint(Echo, local_addr=("127.0.0.1", INSIDE))
        server, _ = await loop.create_datagram_endpoint(Echo, local_addr=("127.0.0.1", 0))
        port = server.get_extra_info("sockname")[1]
        client, protocol = await loop.create_datagram_endpoint(Client, remote_addr=("127.0.0.1", port))
        client.sendto(b"ping")
        data, sender = await asyncio.wait_for(protocol.reply, 5)
        client.close()
        server.close()
        return data, sender, port

    data, sender, port = within(DEADLINE, asyncio.run, main(), what="asyncio datagrams")
    assert data == b"PING" and tuple(sender) == ("127.0.0.1", port)
    assert outside_rows(machine, port, Protocol.UDP)
