"""Reading ``netstat -an`` / ``-ano`` output in any display language.

Nothing here depends on the header's words, which Windows translates (``Lokale Adresse``,
``Adresse locale``, ``本地地址``): a row is a line whose first word is ``TCP`` or ``UDP``,
which no translation changes.  Its next two words are the local and foreign addresses;
for TCP the words after them are the state, and a last word of digits is the PID (``-o``).
A TCP state is read in this order:

1. a foreign port of 0 is a listening socket, whatever the word (``LISTENING``, ``ABHÖREN``);
2. the en-US words, which most translations keep (the zh-CN and fr-FR pastes do);
3. the words of the translations in :data:`LOCALIZED_STATES`;
4. otherwise the row keeps the word in ``state_text`` and has ``state=None``.

Lines ``-b`` adds (``[svchost.exe]``, ``RpcSs``, ``Can not obtain ownership information``)
and the title and header are skipped; prompts and quoting are tolerated as in the netsh
reader.  Names instead of numbers (``netstat -a`` without ``-n``: ``MYPC:0``,
``lan:domain``) raise :class:`NetstatParseError`: only numbers say which port is held.
"""

from __future__ import annotations

import ipaddress
from typing import Final

from .._types import Family, Protocol
from ._values import NetstatParseError, NetstatRow, TcpState

__all__ = ["LOCALIZED_STATES", "parse_netstat"]

#: State words of translated Windows, to the state (assumed spellings: the de-DE words
#: come from a test in a public repository that copies German netstat output; the
#: others from user reports without a captured paste).  Words are compared casefolded.
LOCALIZED_STATES: Final[dict[str, TcpState]] = {
    # de-DE
    "abhören": TcpState.LISTENING,
    "hergestellt": TcpState.ESTABLISHED,
    "wartend": TcpState.TIME_WAIT,
    "schliessen_warten": TcpState.CLOSE_WAIT,
    "syn_gesendet": TcpState.SYN_SENT,
    "fin_warten_1": TcpState.FIN_WAIT_1,
    "fin_warten_2": TcpState.FIN_WAIT_2,
    "geschlossen": TcpState.CLOSED,
    # es-ES
    "escuchando": TcpState.LISTENING,
    "establecido": TcpState.ESTABLISHED,
    # pt-BR
    "ouvindo": TcpState.LISTENING,
    "estabelecida": TcpState.ESTABLISHED,
}
_ENGLISH: Final = {state.value.casefold(): state for state in TcpState}
_PREFIXES: Final = (">", "$", "#")


def _address(word: str, number: int, line: str) -> tuple[Family, str | None, int | None]:
    if word == "*:*":
        return Family.INET, None, None
    host, colon, port_text = word.rpartition(":")
    if not colon or not port_text.isdigit() or not host:
        raise NetstatParseError(number, line, f"{word!r} is not an address:port")
    port = int(port_text)
    if port > 65535:
        raise NetstatParseError(number, line, f"port {port} is past 65535")
    if host.startswith("[") and host.endswith("]"):
        text = host[1:-1]
        try:
            ipaddress.IPv6Address(text.partition("%")[0])
        except ValueError:
            raise NetstatParseError(number, line, f"{host} is not an IPv6 address") from None
        return Family.INET6, text, port
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        raise NetstatParseError(number, line, f"{host!r} is a name, not an address: give the"
                                " output of netstat with -n (netstat -ano)") from None
    return Family.INET, host, port


def _state(words: list[str], remote_port: int | None) -> tuple[TcpState | None, str]:
    text = " ".join(words)
    if remote_port == 0:
        return TcpState.LISTENING, text
    key = text.casefold()
    state = _ENGLISH.get(key) or LOCALIZED_STATES.get(key)
    return state, text


def parse_netstat(text: str) -> tuple[NetstatRow, ...]:
    """The rows of ``netstat -an`` or ``netstat -ano`` output, in the order printed.

    Raises:
        NetstatParseError: a ``TCP``/``UDP`` line that is not a row (naming it), names
            instead of numbers, or a text with no row at all.
    """
    rows: list[NetstatRow] = []
    for number, raw in enumerate(text.splitlines(), 1):
        words = raw.split()
        while words and words[0] in _PREFIXES:
            words = words[1:]
        if not words or words[0].upper() not in ("TCP", "UDP"):
            continue
        protocol = Protocol.TCP if words[0].upper() == "TCP" else Protocol.UDP
        if len(words) < 3:
            raise NetstatParseError(number, raw, "a row needs a local and a foreign address")
        family, local_host, local_port = _address(words[1], number, raw)
        if local_host is None or local_port is None:
            raise NetstatParseError(number, raw, "the local address cannot be *:*")
        remote_family, remote_host, remote_port = _address(words[2], number, raw)
        if remote_host is not None and remote_family is not family:
            raise NetstatParseError(number, raw, "the two addresses are of different IP versions")
        rest = words[3:]
        pid: int | None = None
        if rest and rest[-1].isdigit():
            pid = int(rest.pop())
        if protocol is Protocol.UDP:
            if rest:
                raise NetstatParseError(number, raw, "a UDP row has no state")
            rows.append(NetstatRow(protocol, family, local_host, local_port, remote_host,
                                   remote_port, None, pid))
            continue
        if not rest or remote_host is None:
            raise NetstatParseError(number, raw, "a TCP row needs a foreign address and a state")
        state, state_text = _state(rest, remote_port)
        rows.append(NetstatRow(protocol, family, local_host, local_port, remote_host,
                               remote_port, state, pid, state_text))
    if not rows:
        raise NetstatParseError(0, text[:80], "no TCP or UDP row: is this netstat -ano output?")
    return tuple(rows)
