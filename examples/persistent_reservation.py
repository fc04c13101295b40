"""Keep a block of TCP ports for a service across reboots (run as administrator).

Written for Windows with WINFUNCTYPE prototypes over iphlpapi; unchanged for portpool.

    python persistent_reservation.py [START COUNT]   (default 3000 10)
"""

import ctypes
import socket
import sys
from ctypes import wintypes

if not hasattr(ctypes, "WinDLL"):  # not Windows, and not under portpool.patch()
    sys.exit(f"{__file__}: a Windows program; elsewhere run it under portpool.patch(),"
             f" as `portpool run {__file__}` does")

iphlpapi = ctypes.windll.iphlpapi
ULONG64 = ctypes.c_uint64

_create = ctypes.WINFUNCTYPE(wintypes.ULONG, wintypes.USHORT, wintypes.USHORT,
                             ctypes.POINTER(ULONG64))
CreatePersistentTcpPortReservation = _create(("CreatePersistentTcpPortReservation", iphlpapi))
LookupPersistentTcpPortReservation = _create(("LookupPersistentTcpPortReservation", iphlpapi))
DeletePersistentTcpPortReservation = ctypes.WINFUNCTYPE(
    wintypes.ULONG, wintypes.USHORT, wintypes.USHORT)(("DeletePersistentTcpPortReservation", iphlpapi))


def check(result):
    if result != 0:
        raise ctypes.WinError(result)


def main(start, count):
    token = ULONG64()
    try:
        check(CreatePersistentTcpPortReservation(socket.htons(start), count, ctypes.byref(token)))
    except OSError as err:
        print(f"create failed: {err} (winerror {err.winerror})")
        return 1
    print(f"reserved {start}-{start + count - 1}, token {token.value:#x}")

    found = ULONG64()
    check(LookupPersistentTcpPortReservation(socket.htons(start), count, ctypes.byref(found)))
    print(f"lookup gives the same token: {found.value == token.value}")

    with socket.socket() as plain:
        plain.bind(("0.0.0.0", start + 1))
        print(f"a plain bind inside the block: port {plain.getsockname()[1]}")

    try:
        check(CreatePersistentTcpPortReservation(socket.htons(start), count, ctypes.byref(found)))
    except OSError as err:
        print(f"creating it again: [WinError {err.winerror}] {err.strerror}")

    check(DeletePersistentTcpPortReservation(socket.htons(start), count))
    print("deleted")
    return 0


if __name__ == "__main__":
    if len(sys.argv) not in (1, 3) or not all(arg.isdigit() for arg in sys.argv[1:]):
        print("usage: python persistent_reservation.py [START COUNT]   (default 3000 10)",
              file=sys.stderr)
        sys.exit(2)
    start, count = (int(sys.argv[1]), int(sys.argv[2])) if len(sys.argv) == 3 else (3000, 10)
    sys.exit(main(start, count))
