"""cwinsdk (PyPI ``ctypes-windows-sdk``: ctypes bindings of the Windows SDK) under the
patch: its iphlpapi module's persistent reservation calls, with its own argtypes and
errcheck, reach the emulated machine.

cwinsdk does ``from ctypes import WinDLL`` and binds about a hundred iphlpapi exports
when imported, so it is imported inside the patch (off Windows ``ctypes`` has no
``WinDLL`` otherwise) and dropped from ``sys.modules`` after the test: its functions
belong to the patch's process, which ends with the test.
"""

from __future__ import annotations

import ctypes
import importlib.util
import socket
import sys
from collections.abc import Iterator
from types import ModuleType

import pytest

from portpool import EmulatedHost, Protocol, windows_code

from .conftest import DEADLINE, INSIDE, within

if importlib.util.find_spec("cwinsdk") is None:
    pytest.skip("cwinsdk is not installed: pip install 'portpool[compat]' for the matrix",
                allow_module_level=True)
pytestmark = pytest.mark.portpool(preset="hyperv", seed=1, admin=True)


@pytest.fixture
def iphlpapi(machine: EmulatedHost) -> Iterator[ModuleType]:
    """``cwinsdk.um.iphlpapi``, imported inside the patch, forgotten after the test."""
    import cwinsdk.um.iphlpapi as module

    try:
        yield module
    finally:
        for name in [name for name in sys.modules if name == "cwinsdk" or name.startswith("cwinsdk.")]:
            del sys.modules[name]


def test_a_persistent_block_inside_winnat_is_refused_as_on_windows(
        machine: EmulatedHost, iphlpapi: ModuleType) -> None:
    token = ctypes.c_uint64()
    with pytest.raises(OSError, match="WinError 32") as info:  # cwinsdk's errcheck: WinError(result)
        iphlpapi.CreatePersistentTcpPortReservation(
            socket.htons(INSIDE), 10, ctypes.byref(token))
    assert windows_code(info.value) == 32  # ERROR_SHARING_VIOLATION
    assert "being used by another process" in str(info.value)


def test_create_lookup_bind_delete(machine: EmulatedHost, iphlpapi: ModuleType) -> None:
    block = machine.find_free_block(10, Protocol.TCP)

    def round_trip() -> tuple[int, int]:
        api = iphlpapi
        made, found = ctypes.c_uint64(), ctypes.c_uint64()
        api.CreatePersistentTcpPortReservation(socket.htons(block.start), 10, ctypes.byref(made))
        api.LookupPersistentTcpPortReservation(socket.htons(block.start), 10, ctypes.byref(found))
        assert any(r.range == block and r.persistent for r in machine.reservations(Protocol.TCP))
        api.DeletePersistentTcpPortReservation(socket.htons(block.start), 10)
        return made.value, found.value

    made, found = within(DEADLINE, round_trip, what="cwinsdk create/lookup/delete")
    assert made == found != 0
    assert not any(r.range == block for r in machine.reservations(Protocol.TCP))


def test_an_export_portpool_does_not_emulate_fails_with_120(iphlpapi: ModuleType) -> None:
    count = ctypes.c_ulong()
    with pytest.raises(OSError, match="WinError 120") as info:
        iphlpapi.GetNumberOfInterfaces(ctypes.byref(count))
    assert windows_code(info.value) == 120  # ERROR_CALL_NOT_IMPLEMENTED
