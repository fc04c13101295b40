"""``netstat -ano``'s text, both ways: print it as Windows does, read it in any language.

This module is pure text: it knows nothing of any machine.  ``EmulatedHost.netstat()``
prints an emulated machine's sockets with it, and ``portpool netstat`` on the command
line; :func:`parse` reads what a real machine printed, as pasted (any display language:
the rows' first word, ``TCP`` or ``UDP``, is never translated).

Reading::

    >>> text = '''
    ... Aktive Verbindungen
    ...
    ...   Proto  Lokale Adresse          Remoteadresse          Status           PID
    ...   TCP    0.0.0.0:135            0.0.0.0:0              ABHÖREN         1052
    ...   TCP    127.0.0.1:8080         127.0.0.1:52113        WARTEND         0
    ...   UDP    [::]:500               *:*                                    3412
    ... '''
    >>> for row in parse(text):
    ...     print(row.protocol.name, row.local_port, row.state, row.pid)
    TCP 135 TcpState.LISTENING 1052
    TCP 8080 TcpState.TIME_WAIT 0
    UDP 500 None 3412

Printing: :func:`render` takes rows (parsed, or made from ``host.connections()``) and
returns netstat's en-US text, byte for byte but with LF line endings.

Sources for the layout (rule T12 of ``specs/semantics.md``): zh-CN ``netstat -ano``
pasted in https://github.com/billfeller/billfeller.github.io/issues/174 (TIME_WAIT rows
with PID 0, English states), UDP rows in https://github.com/ohadravid/netstat2-rs/issues/7,
fr-FR pastes (``Connexions actives``, ``Adresse locale``, English states) in students'
reports in public repositories, and MicrosoftDocs/windowsserverdocs ``netstat.md``.
"""

from __future__ import annotations

from ._netstat._print import TITLE, render_netstat, render_row
from ._netstat._read import LOCALIZED_STATES, parse_netstat
from ._netstat._values import NetstatParseError, NetstatRow, TcpState

__all__ = ["LOCALIZED_STATES", "TITLE", "NetstatParseError", "NetstatRow", "TcpState", "parse",
           "render", "render_row"]

parse = parse_netstat
render = render_netstat
