"""The seed's sample program (SIO_ACQUIRE_PORT_RESERVATION page), ported line by line.

Same arguments, same validation messages, same steps, same output lines as the C
program, through the same DLL calls: over an emulated machine by default, or over
the real ``ws2_32`` with ``--backend windows``.  The C it ports is quoted beside
each step, so this file doubles as a guide for porting Winsock C to ctypes.

The C program has a defect that is kept by default: it creates a second socket
``sockRes`` but associates, binds and names the *first* socket ``sock`` (the one
that acquired the reservation).  That works (rule R6), but the page's text says a
new socket is associated.  ``--fixed`` uses ``sockRes``, as the text describes.
Other quirks kept: ``Token=%I64d`` prints the unsigned token as signed; ``(USHORT)
numPorts`` makes 65536 into 0; StartPort 0 passes validation and asks for a
wildcard block (rule R2).
"""

from __future__ import annotations

import ctypes
import re
import sys
from collections.abc import Callable
from ctypes import byref, sizeof
from typing import Any

from . import _abi

__all__ = ["run_sample"]

_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1


def _wtoi(text: str) -> int:
    """``_wtoi``: leading blanks, a sign, digits; anything else reads as 0."""
    match = re.match(r"\s*([+-]?\d+)", text)
    if match is None:
        return 0
    return max(_INT_MIN, min(_INT_MAX, int(match.group(1))))


def _signed64(value: int) -> int:
    return value - 2**64 if value >= 2**63 else value


def run_sample(argv: list[str], ws2: Any, out: Callable[[str], None] = print, *,
               fixed: bool = False, program: str = "portpool sample") -> int:
    """Run the sample with C's ``argv[1:]`` over the ``ws2_32``-shaped ``ws2``.

    Returns the C program's exit status (0, or 1 on failure).
    """
    # if (argc != 6) { wprintf(L"usage: ..."); return 1; }
    if len(argv) != 5:
        out(f"usage: {program} <addressfamily> <type> <protocol> <StartingPort> <NumberOfPorts>")
        out("Opens a socket for the specified family, type, & protocol")
        out("and then acquires a runtime port reservation for the protocol specified")
        out(f"{program} example usage")
        out(f"   {program} 2 2 17 5000 20")
        out("   where AF_INET=2 SOCK_DGRAM=2 IPPROTO_UDP=17 StartPort=5000 NumPorts=20")
        return 1
    family, kind, protocol = _wtoi(argv[0]), _wtoi(argv[1]), _wtoi(argv[2])
    start_port = _wtoi(argv[3])
    if start_port < 0 or start_port > 65535:
        out("Starting point must be either 0 or between 1 and 65,535")
        return 1
    num_ports = _wtoi(argv[4])
    if num_ports < 0:
        out("Number of ports must be a positive number")
        return 1
    # portRange.StartPort = htons((USHORT) startPort); portRange.NumberOfPorts = (USHORT) numPorts;
    port_range = _abi.INET_PORT_RANGE(_abi.htons(start_port), num_ports & 0xFFFF)
    port_res = _abi.INET_PORT_RESERVATION_INSTANCE()
    bytes_returned = _abi.DWORD(0)

    wsa_data = _abi.WSADATA()
    result = ws2.WSAStartup(0x0202, byref(wsa_data))  # MAKEWORD(2, 2)
    if result != 0:
        out(f"WSAStartup failed with error = {result}")
        return 1

    sock = ws2.socket(family, kind, protocol)
    if sock == _abi.INVALID_SOCKET:
        out(f"socket function failed with error = {ws2.WSAGetLastError()}")
        ws2.WSACleanup()
        return 1
    out("socket function succeeded")

    result = ws2.WSAIoctl(sock, _abi.SIO_ACQUIRE_PORT_RESERVATION, byref(port_range),
                          sizeof(port_range), byref(port_res), sizeof(port_res),
                          byref(bytes_returned), None, None)
    if result != 0:
        out(f"WSAIoctl(SIO_ACQUIRE_PORT_RESERVATION) failed with error = {ws2.WSAGetLastError()}")
        ws2.closesocket(sock)
        ws2.WSACleanup()
        return 1
    out(f"WSAIoctl(SIO_ACQUIRE_PORT_RESERVATION) succeeded, bytesReturned = {bytes_returned.value}")
    token = port_res.Token.Token
    out(f"  Starting port={_abi.ntohs(port_res.Reservation.StartPort)},  Number of Ports="
        f"{port_res.Reservation.NumberOfPorts}, Token={_signed64(token)}")  # %I64d: signed

    sock_res = ws2.socket(family, kind, protocol)
    if sock_res == _abi.INVALID_SOCKET:
        out(f"socket function for second socket failed with error = {ws2.WSAGetLastError()}")
        ws2.closesocket(sock)
        ws2.WSACleanup()
        return 1
    out("socket function for second socket succeeded")

    # The seed associates, binds and names `sock`; the page's text means `sockRes`.
    user = sock_res if fixed else sock
    token_buf = ctypes.c_uint64(token)
    result = ws2.WSAIoctl(user, _abi.SIO_ASSOCIATE_PORT_RESERVATION, byref(token_buf),
                          sizeof(token_buf), None, 0, byref(bytes_returned), None, None)
    if result != 0:
        out(f"WSAIoctl(SIO_ASSOCIATE_PORT_RESERVATION) failed with error = {ws2.WSAGetLastError()}")
    else:
        out(f"WSAIoctl(SIO_ASSOCIATE_PORT_RESERVATION) succeeded, bytesReturned = "
            f"{bytes_returned.value}")
        # sockaddr_in even for AF_INET6, as the C does ("works only with AF_INET").
        service = _abi.SOCKADDR_IN(family & 0xFFFF, 0)  # INADDR_ANY, port 0
        result = ws2.bind(user, byref(service), sizeof(service))
        if result == _abi.SOCKET_ERROR:
            out(f"bind failed with error = {ws2.WSAGetLastError()}")
        else:
            out("bind succeeded")
            sock_name = _abi.SOCKADDR_IN()
            name_len = ctypes.c_int32(sizeof(sock_name))
            result = ws2.getsockname(user, byref(sock_name), byref(name_len))
            if result == _abi.SOCKET_ERROR:
                out(f"getsockname failed with error = {ws2.WSAGetLastError()}")
            else:
                out("getsockname succeeded")
                out(f"Port number allocated = {_abi.ntohs(sock_name.sin_port)}")

    # comment out this block of code if you don't want to delete the reservation just created
    result = ws2.WSAIoctl(sock, _abi.SIO_RELEASE_PORT_RESERVATION, byref(token_buf),
                          sizeof(token_buf), None, 0, byref(bytes_returned), None, None)
    if result != 0:
        out(f"WSAIoctl(SIO_RELEASE_PORT_RESERVATION) failed with error = {ws2.WSAGetLastError()}")
    else:
        out(f"WSAIoctl(SIO_RELEASE_PORT_RESERVATION) succeeded, bytesReturned = "
            f"{bytes_returned.value}")

    if ws2.closesocket(sock_res) == _abi.SOCKET_ERROR:
        out(f"closesocket for second socket failed with error = {ws2.WSAGetLastError()}")
    if ws2.closesocket(sock) == _abi.SOCKET_ERROR:
        out(f"closesocket for first socket failed with error = {ws2.WSAGetLastError()}")
    ws2.WSACleanup()
    return 0


if sys.platform == "win32":

    def real_ws2_32() -> Any:
        """The real ws2_32 with the prototypes of portpool._winsock._abi."""
        dll = ctypes.WinDLL("ws2_32")
        names = [n for n, p in _abi.PROTOTYPES.items() if p.dll == "ws2_32" and not p.spi_type]
        for name, fn in _abi.bind_prototypes(dll, names).items():
            if fn is not None:
                setattr(dll, name, fn)
        return dll

else:

    def real_ws2_32() -> Any:
        """``None``: the real ws2_32 exists only on Windows."""
        return None
