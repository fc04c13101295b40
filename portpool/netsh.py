"""netsh's port-exclusion and dynamic-port text, both ways: read it, print it, parse commands.

This module is pure text: it knows nothing of any machine.  It reads what
``netsh int ipv4|ipv6 show excludedportrange protocol=tcp|udp`` and ``netsh int
ipv4|ipv6 show dynamicport tcp|udp`` print, as people paste it (any display language,
prompts, code fences, ``>`` quotes, log prefixes, CRLF, trailing spaces, a missing
title or legend), prints the same output byte for byte as en-US netsh does, and parses
the command words of those commands and of ``add|delete excludedportrange`` and ``set
dynamicport`` with netsh's own error texts.  ``EmulatedHost.netsh()`` runs the parsed
commands on an emulated machine.

Reading::

    >>> text = '''
    ... C:\\\\> netsh int ipv4 show excludedportrange protocol=tcp
    ...
    ... Portausschlussbereiche für das Protokoll "tcp"
    ...
    ... Startport      Endport
    ... ----------    --------
    ...       5357        5357
    ...      50000       50059     *
    ...
    ... * - Verwaltete Portausschlüsse.
    ... '''
    >>> for row in parse_excluded_ranges(text):
    ...     print(row)
    ExcludedRange(start=5357, end=5357, administered=False)
    ExcludedRange(start=50000, end=50059, administered=True)
    >>> protocol_of(text)
    <Protocol.TCP: 6>

Text that is not netsh output raises :class:`NetshParseError` naming the line that shows
it; the parsers never return rows they had to guess.  Lines are LF-terminated in
everything this module prints (netsh's console output has CRLF; the parsers accept
both).

Sources for the layout and the messages (each constant below names its own):

* NETSH_SAMPLES: ``tests/data/netsh/`` (real outputs with their ground truth); sample
  01 (open-telemetry/opentelemetry-collector-contrib PR #10872, a GitHub Actions runner)
  is the one paste that kept netsh's trailing spaces; a Korean ``ipv6 show`` paste in a
  GitHub-hosted note keeps them too (header, dash line and rows end in 6 spaces).
* D-R60 (a cross-reference to the research notes) and rule N4: the table and ``show dynamicport`` layouts;
  dorssel/usbipd-win#53 (``Protocol tcp Dynamic Port Range``, 33 dashes, both lines); two
  test suites in public repositories hold ``show dynamicport`` captured on real machines
  as ``"\\r\\n...\\r\\nNumber of Ports : 16384\\r\\n\\r\\n"`` (a blank line before and after).
* NETSH_IFACE: MicrosoftDocs/windowsserverdocs ``netsh-interface.md``: the command lists of
  ``interface ipv4|ipv6`` and the syntax ``add|delete excludedportrange [protocol=]tcp|udp
  [startport=]<integer> [numberofports=]<integer> [store=]active|persistent``, ``set
  dynamicportrange`` with the same tags, ``show dynamicportrange|excludedportrange
  [protocol=]tcp|udp [store=]active|persistent``.  ``dynamicport`` is netsh's prefix
  match of ``dynamicportrange``.
* ABBREV: "NetShell commands can be abbreviated to the shortest unambiguous string"
  (learn.microsoft.com, "netshell and command abbreviation", MatchToken); KB929851 types
  ``netsh int <ipv4|ipv6> set dynamic <tcp|udp> start=number num=range`` (tags are
  prefixes too: ``start`` of ``startport``, ``num`` of ``numberofports``); a Catalan
  GitHub-hosted note types ``netsh int ipv4 del ex tcp 40000 11`` (positional values);
  a GitHub-hosted note types ``netsh i i se a "Ethernet" s 10.1.1.20 255.255.255.0``,
  where ``i`` is taken for ``interface`` although ``ipsec`` also starts with ``i``: so
  netsh takes the first match, not only unambiguous ones.
"""

from __future__ import annotations

from ._netsh._commands import NetshCommand, NetshObject, NetshStore, NetshVerb, parse_command, usage
from ._netsh._print import (
    MESSAGES,
    netsh_message,
    render_dynamic_port,
    render_excluded_ranges,
    render_not_found,
    render_result,
)
from ._netsh._read import parse_dynamic_port, parse_excluded_ranges, protocol_of
from ._netsh._values import ExcludedRange, NetshParseError, NetshUsageError

__all__ = [
    "MESSAGES",
    "ExcludedRange",
    "NetshCommand",
    "NetshObject",
    "NetshParseError",
    "NetshStore",
    "NetshUsageError",
    "NetshVerb",
    "netsh_message",
    "parse_command",
    "parse_dynamic_port",
    "parse_excluded_ranges",
    "protocol_of",
    "render_dynamic_port",
    "render_excluded_ranges",
    "render_not_found",
    "render_result",
    "usage",
]
