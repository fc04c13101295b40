"""Run by a Windows CPython under Wine: the ctypes backend against Wine's real ws2_32."""

import sys

sys.path.insert(0, sys.argv[1])

from portpool import EmulatedHost, PortPoolError, Protocol, windows_code
from portpool.backends.windows import WindowsPool

pool = WindowsPool()  # the real DLLs: Wine's ws2_32 and iphlpapi
print("PLATFORM", sys.platform)
s = pool.socket()
try:
    s.acquire_port_reservation(0, 10)
    print("ACQUIRE ok")
except PortPoolError as err:
    print("ACQUIRE", err.winerror, err.name)
try:
    pool.lookup_persistent_reservation(Protocol.TCP, 5000, 1)
    print("LOOKUP ok")
except PortPoolError as err:
    print("LOOKUP", err.winerror, err.name)
s.bind(("127.0.0.1", 0))
print("BIND", s.getsockname()[1] > 0)
s.close()
pool.close()
emulated = WindowsPool(dlls=EmulatedHost(seed=1).dlls())  # WINFUNCTYPE callbacks on win32
owner = emulated.socket()
block = owner.acquire_port_reservation(0, 4)
user = emulated.socket()
user.associate_port_reservation(block.token)
user.bind(("", 0))
print("EMULATED", user.getsockname()[1] in block.range)

# Adopting a Python socket: the port-pool calls go to its own handle.
import socket  # noqa: E402

real = WindowsPool()
with socket.socket() as py_sock:
    adopted = real.adopt(py_sock)
    try:
        adopted.acquire_port_reservation(0, 2)
    except PortPoolError as err:  # Wine's stub, reached through the adopted handle
        print("ADOPT-ACQUIRE", err.winerror)
    adopted.bind(("127.0.0.1", 0))  # ctypes bind on the Python socket's handle
    print("ADOPT-BIND", py_sock.getsockname()[1] == adopted.getsockname()[1] > 0)
    adopted.close()
    print("ADOPT-CLOSED", py_sock.fileno() == -1)
real.close()

# close() under CPython's own WSAStartup (the socket module's): WSACleanup is not the
# final one, so the pool must close its sockets itself, or the port stays bound.
third = WindowsPool()
left = third.socket()
left.bind(("127.0.0.1", 0))
port = left.getsockname()[1]
third.close()
with socket.socket() as check:
    try:
        check.bind(("127.0.0.1", port))  # no SO_REUSEADDR: fails while the port is bound
        print("CLOSE-FREES True")
    except OSError as err:
        print("CLOSE-FREES", windows_code(err))
try:
    third.socket()
    print("CLOSED-POOL ok")
except PortPoolError as err:
    print("CLOSED-POOL", err.name)

# The probe's Windows-only helpers, through Wine's kernel32/advapi32: the call shapes hold.
from portpool._netsh._console import console_output_code_page, system_message  # noqa: E402
from portpool._probes._lab import is_elevated  # noqa: E402

print("ELEVATED", isinstance(is_elevated(), bool))
print("CODEPAGE", isinstance(console_output_code_page(), int))
print("SYSMSG", bool(system_message(5)))
