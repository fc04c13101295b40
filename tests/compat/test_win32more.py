"""win32more (generated ctypes bindings of the whole Win32 API) under the patch.

Its port pool functions (``CreatePersistentTcpPortReservation``, ``WSAIoctl`` with
``SIO_ACQUIRE_PORT_RESERVATION``) are among what portpool emulates, but importing the
package initialises COM first: ``win32more/__init__.py`` calls
``ole32!CoIncrementMTAUsage``, and portpool emulates only the port pool's DLLs
(ws2_32, iphlpapi, kernel32).  So the import stops, with portpool's error naming the
DLL, before any port pool call.  This test pins that error: when the patch learns
ole32, it fails, and the matrix moves win32more to the stacks that work.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator

import pytest

from portpool import EmulatedHost

if importlib.util.find_spec("win32more") is None:
    pytest.skip("win32more is not installed: pip install 'portpool[compat]' for the matrix",
                allow_module_level=True)
pytestmark = pytest.mark.portpool(preset="hyperv", seed=1, admin=True)


@pytest.fixture
def forget_win32more() -> Iterator[None]:
    """Whatever of win32more got imported under the patch is dropped afterwards."""
    yield
    for name in [name for name in sys.modules if name == "win32more" or name.startswith("win32more.")]:
        del sys.modules[name]


@pytest.mark.skipif(sys.platform == "win32", reason="on Windows the real ole32 loads")
def test_the_import_stops_at_ole32_with_portpools_error(machine: EmulatedHost,
                                                       forget_win32more: None) -> None:
    with pytest.raises(FileNotFoundError) as info:
        import win32more.Windows.Win32.NetworkManagement.IpHelper  # noqa: F401
    message = str(info.value)
    assert message.startswith("Could not find module 'OLE32.dll'")
    assert "emulates only ws2_32, iphlpapi and kernel32" in message
