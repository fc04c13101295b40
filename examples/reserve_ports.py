"""Reserve a block of TCP ports at runtime and bind inside it, as a Windows service does.

Written for Windows (ctypes over ws2_32, Python's socket module) and unchanged for
portpool: ``tests/test_examples.py`` runs it under ``portpool.patch()`` on any OS.

    python reserve_ports.py [COUNT]
"""

import ctypes
import socket
import sys
from ctypes import wintypes

if not hasattr(ctypes, "WinDLL"):  # not Windows, and not under portpool.patch()
    sys.exit(f"{__file__}: a Windows program; elsewhere run it under portpool.patch(),"
             f" as `portpool run {__file__}` does")

SIO_ACQUIRE_PORT_RESERVATION = 0x98000064
SIO_ASSOCIATE_PORT_RESERVATION = 0x98000066
SIO_RELEASE_PORT_RESERVATION = 0x98000065


class INET_PORT_RANGE(ctypes.Structure):
    _fields_ = [("StartPort", wintypes.USHORT), ("NumberOfPorts", wintypes.USHORT)]


class INET_PORT_RESERVATION_TOKEN(ctypes.Structure):
    _fields_ = [("Token", ctypes.c_ulonglong)]


class INET_PORT_RESERVATION_INSTANCE(ctypes.Structure):
    _fields_ = [("Reservation", INET_PORT_RANGE), ("Token", INET_PORT_RESERVATION_TOKEN)]


ws2_32 = ctypes.WinDLL("ws2_32", use_last_error=True)
WSAIoctl = ws2_32.WSAIoctl
WSAIoctl.argtypes = [ctypes.c_size_t, wintypes.DWORD, ctypes.c_void_p, wintypes.DWORD,
                     ctypes.c_void_p, wintypes.DWORD, ctypes.POINTER(wintypes.DWORD),
                     ctypes.c_void_p, ctypes.c_void_p]
WSAIoctl.restype = ctypes.c_int


def ioctl(sock, code, in_struct, out_struct=None):
    returned = wintypes.DWORD(0)
    out_ptr = ctypes.byref(out_struct) if out_struct is not None else None
    out_size = ctypes.sizeof(out_struct) if out_struct is not None else 0
    if WSAIoctl(sock.fileno(), code, ctypes.byref(in_struct), ctypes.sizeof(in_struct),
                out_ptr, out_size, ctypes.byref(returned), None, None) != 0:
        raise ctypes.WinError(ctypes.get_last_error())


def main(count):
    owner = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    wanted = INET_PORT_RANGE(StartPort=socket.htons(0), NumberOfPorts=count)
    instance = INET_PORT_RESERVATION_INSTANCE()
    ioctl(owner, SIO_ACQUIRE_PORT_RESERVATION, wanted, instance)
    start = socket.ntohs(instance.Reservation.StartPort)
    print(f"reserved {instance.Reservation.NumberOfPorts} ports from {start},"
          f" token {instance.Token.Token:#x}")

    worker = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ioctl(worker, SIO_ASSOCIATE_PORT_RESERVATION, instance.Token)
    worker.bind(("0.0.0.0", 0))
    print(f"worker bound to port {worker.getsockname()[1]}")

    stranger = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        stranger.bind(("0.0.0.0", start + 1))
    except PermissionError as err:
        print(f"plain bind to {start + 1} refused: {err}")
        print(f"winerror={err.winerror}")
    stranger.close()

    worker.close()
    ioctl(owner, SIO_RELEASE_PORT_RESERVATION, instance.Token)
    owner.close()
    print("released")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 2 or not all(arg.isdigit() for arg in sys.argv[1:]):
        print("usage: python reserve_ports.py [COUNT]   (default 10)", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 10))
