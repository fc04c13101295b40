"""The SIO_ACQUIRE_PORT_RESERVATION sample, ported to Python through portpool.

The C program on the Microsoft page (``portpool sample`` runs a line-by-line port of
it) takes AF TYPE PROTO START COUNT, acquires a runtime reservation, associates a
socket with it, binds that socket with port 0 so Windows picks a port from the block,
prints the port and releases the reservation.  Here is the same program as Python
code would write it: the calls keep their Winsock names, errors are exceptions that
carry the Windows code, and sockets close themselves.

    python examples/port_reservation.py 2 2 17 5000 20          # on an emulated machine
    python examples/port_reservation.py                         # 10 TCP ports, any block
    python examples/port_reservation.py --windows 2 2 17 5000 20   # real Windows

Porting notes, C -> Python:
* htons/ntohs disappear: portpool takes and returns ports in host byte order.
* ``if (iResult != 0) wprintf(... WSAGetLastError())`` becomes ``except PortPoolError``;
  ``err.winerror`` is the same number WSAGetLastError would return.
* The C sample associates the acquiring socket by mistake; this one associates the
  second socket, as the page's text describes.
"""

from __future__ import annotations

import argparse
import sys

from portpool import PortPool, PortPoolError, open_pool


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("family", type=int, nargs="?", default=2, help="2 = AF_INET (default),"
                        " 23 = AF_INET6")
    parser.add_argument("type", type=int, nargs="?", default=1, help="1 = SOCK_STREAM (default),"
                        " 2 = SOCK_DGRAM")
    parser.add_argument("protocol", type=int, nargs="?", default=6, help="6 = IPPROTO_TCP"
                        " (default), 17 = IPPROTO_UDP")
    parser.add_argument("start", type=int, nargs="?", default=0, help="first port, or 0 for any"
                        " block (default)")
    parser.add_argument("count", type=int, nargs="?", default=10, help="how many ports (default"
                        " 10)")
    parser.add_argument("--windows", action="store_true", help="use the real Windows DLLs")
    args = parser.parse_args(argv)

    pool: PortPool = open_pool("windows" if args.windows else "emulated")
    with pool:
        try:
            with pool.socket(args.family, args.type, args.protocol) as owner:
                reservation = owner.acquire_port_reservation(args.start, args.count)
                print(f"reserved {reservation.range!r} ({reservation.protocol.name}),"
                      f" token {reservation.token:#x}")
                with pool.socket(args.family, args.type, args.protocol) as user:
                    user.associate_port_reservation(reservation.token)
                    any_address = ("0.0.0.0", 0) if args.family == 2 else ("::", 0, 0, 0)
                    user.bind(any_address)
                    print(f"port number allocated = {user.getsockname()[1]}")
                owner.release_port_reservation(reservation.token)
                print("reservation released")
        except PortPoolError as err:
            print(f"failed: {err}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
