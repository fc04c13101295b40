"""The ``windows`` backend: the one interface over ``ws2_32``/``iphlpapi`` via ctypes.

Importing this module touches no DLL; ``WindowsPool()`` loads the real ones (on
Windows only), ``WindowsPool(dlls=host.dlls())`` runs over an emulated machine.
"""

from ._pool import WindowsPool, WindowsSocket

__all__ = ["WindowsPool", "WindowsSocket"]
