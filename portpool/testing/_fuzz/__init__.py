"""A fuzzer for an :class:`~portpool.EmulatedHost`: hostile arguments, invariant checks.

It drives one machine through everything a caller can reach:

* the **interface** (:class:`~portpool.PortPool` and :class:`~portpool.Socket`) of
  emulated processes (``host.process()``) and of the ctypes backend over the emulated
  DLLs (``WindowsPool(dlls=host.dlls())``);
* the **DLL surface** (``host.dlls()``): the ws2_32 and iphlpapi function pointers with
  real buffers, NULL pointers, short and lying sizes, host-order ports, bad IOCTL codes,
  overlapped calls and completion routines, events, ``fail_next`` fault injection;
* the **host** itself: ``reboot()``, introspection, ``exclude()``, ``netsh()``, the
  constructor.

Arguments are drawn from a :class:`Source`: :class:`RandomSource` (a seeded
:class:`random.Random`, fast, for long runs) or :class:`HypothesisSource` (``st.data()``,
so Hypothesis can shrink a failing sequence).  Both are deterministic for a given seed.

What is checked
---------------
After every call (single-threaded):

* only :data:`ALLOWED` exceptions escape: :class:`~portpool.PortPoolError` for what
  Windows decides, ``TypeError``/``ValueError``/``OverflowError`` (raised by portpool
  itself or Python's own checks, never a foreign subclass such as
  ``ipaddress.AddressValueError``) for what Python decides;
* a refused call (an exception, or a DLL failure code) leaves ``host.snapshot()``
  unchanged, and a refused :meth:`Socket.close` leaves the socket open;
* the machine's structure (:func:`check_host`): no socket listed twice, shared ports only as
  the conflict table allows (``Machine.sharing_problems``), blocks
  of one protocol never overlap, tokens are unique and non-zero, every binding's socket
  and every runtime block's owner is alive, the introspection calls never raise;
* postconditions of successful calls (a granted block has the size asked for, a lookup
  finds the token create gave, ...), DLL output buffers written only within the size the
  caller gave (canaries), ``*lpErrno`` written by a failing WSPIoctl, an injected fault
  read as a failure, no exception caught by the DLLs' catch-all.

At the end of each episode (and of a threaded run), the :class:`Ledger` of what callers
were granted is compared with the machine: no lost and no leaked runtime blocks, the
persistent blocks are exactly those created and not deleted, the bound sockets and live
sockets are exactly the callers'.  ``reboot()`` keeps persistent blocks, with new tokens.

Extending it
------------
Every operation is one row of :data:`OPERATIONS`: ``Operation(name, layer, weight, run,
available=...)``.  ``run(world, source)`` draws its arguments and makes its calls through
:meth:`World.call` (interface and host) or :meth:`World.dll_call` (DLL functions), which
do the recording and the checks.  ``available(host)`` lets a row wait for a host method
that does not exist yet (``hasattr``).  The operations depend on the world, never the
reverse: :class:`World` reads its options and rows only through the shapes
``_world.Settings`` and ``_world.Step``.

Where things are
----------------
* value sources: ``_sources`` (where choices come from), ``_values`` (the hostile
  arguments drawn from them);
* operations: ``_interface_ops``, ``_host_ops`` (and ``start_callers``, a machine's
  first callers), ``_dll_ops`` (processes, sockets, persistent calls), ``_ioctl_ops``,
  ``_event_ops`` (events and waits), ``_faults`` (fault injection, pending completion);
  ``_callers`` holds what they act through;
* invariants: ``_world`` (the checks around every call, the postconditions of binds and
  lookups), ``_invariants`` (the machine's structure), ``_ledger`` (what callers were granted), ``_sites``
  (which exceptions may escape, and from where);
* runner: ``_table`` (:data:`OPERATIONS`, :class:`FuzzOptions`), ``_runner`` (the
  loops, budgets and entry points), ``_report`` (counters and the summary).
"""

from ._invariants import check_host
from ._ledger import Ledger
from ._report import FuzzReport, Stats, Violation
from ._runner import fuzz_steps, run_fuzz, run_threads
from ._sites import ALLOWED
from ._sites import exception_site as exception_site
from ._sources import HypothesisSource, RandomSource, Source
from ._table import OPERATIONS, FuzzOptions, Operation
from ._world import World

__all__ = [
    "ALLOWED",
    "OPERATIONS",
    "FuzzOptions",
    "FuzzReport",
    "HypothesisSource",
    "Ledger",
    "Operation",
    "RandomSource",
    "Source",
    "Stats",
    "Violation",
    "World",
    "check_host",
    "fuzz_steps",
    "run_fuzz",
    "run_threads",
]
