"""Child processes of a patched program: each joins the same emulated machine as a
process of its own.

The parent names the machine's store file (and the child's settings) in environment
variables; ``portpool-children.pth``, which the portpool wheel puts at the root of
site-packages, runs :func:`join` in every Python that starts with them set, before the
child's own code: the child runs its whole life under :func:`portpool.patch` on an
:class:`~portpool.EmulatedHost` over that file.  What the store holds is shared
(persistent reservations, exclusions, dynamic ranges, the preset); what a process
holds at run time (its bindings, its runtime reservations) is its own, and goes when
it exits (rule R4).  Traffic crosses processes: each publishes where its sockets'
kernel twins are (:mod:`._twins`), so a parent reaches a child's server by its emulated
port, and the other way round.

Without the variables the .pth line costs one dictionary lookup.
"""

from __future__ import annotations

import atexit
import os
import site
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

from .. import _patch as _package
from .._host import EmulatedHost
from .._model._store import SqliteStore
from . import patch
from ._twins import TwinMap, twins_path

__all__ = ["ENV_ADMIN", "ENV_HERMETIC", "ENV_MACHINE", "ENV_VARIANTS", "PTH_NAME", "child_environment",
           "hook_installed", "join", "share_with_children"]

#: The store file of the machine children join (setting it opts in).
ENV_MACHINE: Final = "PORTPOOL_MACHINE"
#: ``1``: children run as elevated administrators.
ENV_ADMIN: Final = "PORTPOOL_ADMIN"
#: ``RULE=alternative`` pairs separated by commas, as ``--variant`` takes them.
ENV_VARIANTS: Final = "PORTPOOL_VARIANTS"
#: ``1``: children run ``patch(hermetic=True)`` (no loopback services outside the machine).
ENV_HERMETIC: Final = "PORTPOOL_HERMETIC"
#: The hook the wheel installs at the root of site-packages.
PTH_NAME: Final = "portpool-children.pth"

_joined: list[object] = []  # the child's patch, kept alive for the process's life


def store_path(host: EmulatedHost) -> str | None:
    """The store file ``host`` keeps its registry in, or None (kept in memory)."""
    store = getattr(host.machine, "_store", None)  # the machine's registry (one owner)
    return os.path.abspath(store.path) if isinstance(store, SqliteStore) else None


def child_environment(host: EmulatedHost, *, admin: bool = False,
                      hermetic: bool = False) -> dict[str, str]:
    """The environment variables that make a Python child process join ``host``.

    Args:
        host: a machine kept in a store file (``EmulatedHost(store=PATH)``).
        admin: whether the child runs as an elevated administrator.
        hermetic: whether the child's patch refuses loopback services outside the
            emulated machine (``portpool.patch(hermetic=True)``).

    Returns:
        ``{"PORTPOOL_MACHINE": path, "PORTPOOL_ADMIN": "0"|"1", "PORTPOOL_VARIANTS": ...,
        "PORTPOOL_HERMETIC": "0"|"1"}``, to add to the child's environment.

    Raises:
        TypeError: ``host`` is not an EmulatedHost, ``admin`` or ``hermetic`` not a bool.
        ValueError: ``host`` keeps its registry in memory: a child cannot reach it.
    """
    if not isinstance(host, EmulatedHost):
        raise TypeError(f"host must be an EmulatedHost, not {type(host).__name__}")
    for name, value in (("admin", admin), ("hermetic", hermetic)):
        if not isinstance(value, bool):
            raise TypeError(f"{name} must be True or False, not {value!r}")
    path = store_path(host)
    if path is None:
        raise ValueError("child processes join a machine through its store file: make the host"
                         " with EmulatedHost(store=PATH) (or EmulatedHost.preset(..., store=PATH))")
    variants = ",".join(f"{rule}={name}" for rule, name in sorted(host.variants.items()))
    return {ENV_MACHINE: path, ENV_ADMIN: "1" if admin else "0", ENV_VARIANTS: variants,
            ENV_HERMETIC: "1" if hermetic else "0"}


def hook_installed() -> bool:
    """Whether ``portpool-children.pth`` sits where this Python reads .pth files."""
    folders = [*site.getsitepackages()]
    if site.ENABLE_USER_SITE:
        folders.append(site.getusersitepackages())
    return any(Path(folder, PTH_NAME).is_file() for folder in folders)


@contextmanager
def share_with_children(host: EmulatedHost, *, admin: bool = False) -> Iterator[dict[str, str]]:
    """While active, every Python child process (``subprocess``, ``multiprocessing``'s
    spawn and forkserver) joins ``host`` as a process of its own.

    Sets the :func:`child_environment` variables in ``os.environ`` and restores them on
    leaving.  Children inherit the environment: ones started with ``env=`` of their
    own need the variables added (``env={**os.environ, ...}``).

    Args:
        host, admin: as for :func:`child_environment`; children are hermetic when the
            active patch on ``host`` is.

    Yields:
        The variables set.

    Raises:
        TypeError, ValueError: as :func:`child_environment`.
        RuntimeError: ``portpool-children.pth`` is not installed for this Python (a
            child would run on the real machine).
    """
    session = _package._current  # the active patch, if it is on this host
    if session is not None and session.host is not host:
        session = None
    values = child_environment(host, admin=admin,
                               hermetic=bool(session is not None and session.hermetic))
    if not hook_installed():
        raise RuntimeError(f"{PTH_NAME} is not in this Python's site-packages, so child processes"
                           " would not join the emulated machine: install portpool with pip"
                           " (a wheel or `pip install -e`)")
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    twins = None
    if session is not None:
        twins = TwinMap(twins_path(values[ENV_MACHINE]))
        twins.attach(session.socket)
    try:
        yield values
    finally:
        if twins is not None and session is not None:
            twins.detach(session.socket)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _parse_variants(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        rule, equals, name = item.partition("=")
        if not equals or not rule or not name:
            raise ValueError(f"{ENV_VARIANTS}: {item!r} is not RULE=alternative")
        out[rule] = name
    return out


def join() -> None:
    """Run this process under :func:`portpool.patch` on the machine the environment names,
    until it exits (``portpool-children.pth`` calls it at start-up).

    A child that cannot join says why on stderr and exits with status 2 at once, rather
    than run on the real machine.
    """
    if _joined or not os.environ.get(ENV_MACHINE):
        return
    path = os.environ[ENV_MACHINE]
    try:
        if not os.path.isfile(path):
            raise FileNotFoundError(f"no store file {path}")
        host = EmulatedHost(store=path, variants=_parse_variants(os.environ.get(ENV_VARIANTS, "")))
        patcher = patch(host, admin=os.environ.get(ENV_ADMIN, "0") == "1",
                        hermetic=os.environ.get(ENV_HERMETIC, "0") == "1")
        patcher.__enter__()
    except Exception as exc:  # any failure stops the child, loudly
        sys.stderr.write(f"portpool: this child process cannot join the emulated machine"
                         f" ({ENV_MACHINE}={path}): {' '.join(str(exc).split())}\n")
        sys.stderr.flush()
        os._exit(2)
    _joined.append(patcher)
    # The process's end: its sockets close, its runtime reservations go (R4).
    atexit.register(patcher.__exit__, None, None, None)
    session = _package._current
    if session is not None:
        twins = TwinMap(twins_path(os.path.abspath(path)))
        twins.attach(session.socket)
        atexit.register(twins.withdraw_all)  # runs first: atexit calls in reverse order
