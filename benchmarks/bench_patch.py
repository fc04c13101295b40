"""portpool.patch() benchmarks: ratios measured in one run on this machine, printed as a table.

1. A TCP echo round trip (send 64 bytes, receive them back) between two patched
   sockets, against the same round trip between two kernel sockets.  Goal: at most 1.3x.
2. An asyncio echo round trip (StreamWriter.write + drain, StreamReader.readexactly) on
   the platform's default loop, patched against unpatched.  Goal: at most 1.5x.
3. Entering and leaving ``portpool.patch(host)`` against one kernel socket + bind(port 0)
   + close cycle.  Goal: at most 10x.

Run: python benchmarks/bench_patch.py [--quick]
"""

from __future__ import annotations

import asyncio
import socket
import sys
import time

from _timing import (  # benchmarks/_timing.py: run as python benchmarks/NAME.py
    ROUNDS,
    best_per_call,
    print_table,
)

import portpool
from portpool import EmulatedHost

PAYLOAD = b"x" * 64




def tcp_echo(calls: int) -> float:
    """One echo round trip between a connected pair made with ``socket.socket``."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    client = socket.create_connection(server.getsockname())
    conn, _ = server.accept()
    size = len(PAYLOAD)

    def round_trip() -> None:
        client.sendall(PAYLOAD)
        conn.sendall(conn.recv(size))
        client.recv(size)

    try:
        return best_per_call(round_trip, calls)
    finally:
        for sock in (conn, client, server):
            sock.close()


def asyncio_echo(calls: int) -> float:
    """One echo round trip over asyncio streams, per call, best of ROUNDS."""
    async def main() -> float:
        async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while data := await reader.read(len(PAYLOAD)):
                writer.write(data)
                await writer.drain()
            writer.close()

        server = await asyncio.start_server(echo, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        best = float("inf")
        for _ in range(ROUNDS):
            start = time.perf_counter()
            for _ in range(calls):
                writer.write(PAYLOAD)
                await writer.drain()
                await reader.readexactly(len(PAYLOAD))
            best = min(best, time.perf_counter() - start)
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()
        return best / calls * 1e6

    return asyncio.run(main())


def enter_leave(calls: int) -> tuple[float, float]:
    host = EmulatedHost(seed=1)

    def patch() -> None:
        with portpool.patch(host):
            pass

    def kernel() -> None:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", 0))
        s.close()

    return best_per_call(patch, calls), best_per_call(kernel, calls)


def main() -> int:
    quick = "--quick" in sys.argv
    calls = 200 if quick else 2000
    rows = []
    kernel = tcp_echo(calls)
    with portpool.patch():
        patched = tcp_echo(calls)
    rows.append(("TCP echo round trip, patched vs kernel", f"{patched:.2f} us",
                 f"{kernel:.2f} us", f"{patched / kernel:.2f}x", "<= 1.3x", patched / kernel <= 1.3))
    kernel = asyncio_echo(calls)
    with portpool.patch():
        patched = asyncio_echo(calls)
    rows.append(("asyncio echo round trip, patched vs kernel", f"{patched:.2f} us",
                 f"{kernel:.2f} us", f"{patched / kernel:.2f}x", "<= 1.5x", patched / kernel <= 1.5))
    entering, cycle = enter_leave(calls)
    rows.append(("enter+leave patch(host) vs socket+bind+close", f"{entering:.2f} us",
                 f"{cycle:.2f} us (kernel)", f"{entering / cycle:.2f}x", "<= 10x",
                 entering / cycle <= 10))
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
