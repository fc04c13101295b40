"""Every Windows port-pool rule portpool enforces, as data, in one place.

Theory of operation
-------------------
Each behaviour of the model has a row here: an id, what Windows does, where that is
written (or seen), how sure we are, and the Windows code a refusal carries.  The
model (``_machine.py``) never names an error code itself: it calls
``refuse("A2", detail)`` and the code comes from the row.  So when a run on real
Windows overturns an assumption, one row changes and every backend, test and
document follows.

``specs/semantics.md`` is rendered from this table (``python -m portpool specs``)
and a test keeps the two equal; every id must be named by at least one test
(``@pytest.mark.rule("...")``), which another test checks.

Confidence:
    documented  Microsoft states it (the source is a Microsoft Learn page).
    observed    seen on real machines by users or in production code.
    assumed     the docs are silent; portpool chooses, and says how to check it
                on Windows (the ``check`` column).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Final

import attrs

from .._errors import PortPoolError, WinError, winerror

__all__ = ["RULES", "SOURCES", "Confidence", "Rule", "refuse", "render_markdown"]


class Confidence(enum.Enum):
    """How sure portpool is that Windows behaves as a rule says."""

    DOCUMENTED = "documented"
    OBSERVED = "observed"
    ASSUMED = "assumed"


@attrs.frozen
class Rule:
    """One behaviour of the Windows port pool.

    Attributes:
        id: the rule id used in code, tests and ``specs/semantics.md``.
        area: the section of the spec it belongs to.
        text: what Windows does.
        source: keys of :data:`SOURCES`, with a short quote or pointer.
        confidence: documented, observed or assumed.
        error: the Windows code a refusal under this rule carries, if any.
        check: for assumed rules, the experiment that settles it on Windows.
    """

    id: str
    area: str
    text: str
    source: str
    confidence: Confidence
    error: WinError | None = None
    check: str = ""


_MS = "https://learn.microsoft.com/windows/win32/"
SOURCES: Final[Mapping[str, str]] = {
    "ACQ": "MicrosoftDocs/win32 desktop-src/WinSock/sio-acquire-port-reservation.md"
    f" ({_MS}winsock/sio-acquire-port-reservation); the seed page",
    "ASSOC": "MicrosoftDocs/win32 desktop-src/WinSock/sio-associate-port-reservation.md",
    "REL": "MicrosoftDocs/win32 desktop-src/WinSock/sio-release-port-reservation.md",
    "CREATE": "MicrosoftDocs/sdk-api sdk-api-src/content/iphlpapi/"
    "nf-iphlpapi-createpersistenttcpportreservation.md (the Udp page alike)",
    "LOOKUP": "MicrosoftDocs/sdk-api sdk-api-src/content/iphlpapi/"
    "nf-iphlpapi-lookuppersistenttcpportreservation.md",
    "DELETE": "MicrosoftDocs/sdk-api sdk-api-src/content/iphlpapi/"
    "nf-iphlpapi-deletepersistenttcpportreservation.md",
    "BIND": "MicrosoftDocs/sdk-api sdk-api-src/content/winsock/nf-winsock-bind.md",
    "SOCKET": "MicrosoftDocs/sdk-api sdk-api-src/content/winsock2/nf-winsock2-socket.md",
    "GETSOCKNAME": "MicrosoftDocs/sdk-api sdk-api-src/content/winsock/nf-winsock-getsockname.md",
    "RAW": "MicrosoftDocs/win32 desktop-src/WinSock/tcp-ip-raw-sockets-2.md",
    "HDR": "mingw-w64 headers mstcpip.h, iphlpapi.h, winerror.h (checked by tests/test_abi.py)",
    "MSQUIC": "microsoft/msquic src/platform/datapath_winuser.c (acquires a 1-port block,"
    " associates the acquiring socket and binds it to that port)",
    "WILD": "user reports: docker/for-win#3171, microsoft/WSL#5306, fluent/fluentd#5427,"
    " actions/runner-images#1442",
    "DOSSIER": "shared/research/windows-semantics.md (the project's rule dossier)",
    "WSAIOCTL": "MicrosoftDocs/sdk-api sdk-api-src/content/winsock2/nf-winsock2-wsaioctl.md",
    "WSASTARTUP": "MicrosoftDocs/sdk-api sdk-api-src/content/winsock/nf-winsock-wsastartup.md",
    "WINE": "shared/research/feasibility.md section 3 (Wine 8.0: the IOCTLs answer WSAEOPNOTSUPP,"
    " the six iphlpapi functions are not exported, GetProcAddress gives error 127)",
}

D, OBS, A = Confidence.DOCUMENTED, Confidence.OBSERVED, Confidence.ASSUMED
E = WinError

_TABLE: Final[tuple[Rule, ...]] = (
    # --- The pools ---------------------------------------------------------------
    Rule("R17a", "pools", "TCP and UDP have separate port pools: a reservation or a binding"
         " in one never blocks the other.", "WILD (fluentd#5427: UDP-only excluded blocks"
         " on a windows-2025 runner); DOSSIER R17", OBS),
    Rule("R18", "pools", "The dynamic port range defaults to 49152-65535 (16384 ports),"
         " per protocol, and can be changed (netsh int ipv4 set dynamicport).",
         "BIND (\"a value between 49152 and 65535\"; \"can be set differently for UDP and"
         " TCP\"); WILD (runner-images#1442: 1024-65535)", D),
    Rule("R19", "pools", "A specific block (runtime or persistent) may lie inside the dynamic"
         " range.", "DOSSIER R19: not forbidden by any page; Hyper-V blocks lie there (WILD)",
         A, check="Acquire a specific block at 50000 on a default machine; expect success."),
    Rule("R20", "pools", "IPv4 and IPv6 sockets share one pool per protocol: a block"
         " reserved through an AF_INET socket also governs AF_INET6 binds, and a port bound"
         " by either family is in use for both.", "DOSSIER R20/Q9: INET_PORT_RANGE carries"
         " no family", A, check="Q9: acquire on an AF_INET socket, then bind an AF_INET6"
         " socket to a port of the block without association; expect WSAEACCES."),
    Rule("A18", "pools", "A port is in use per (protocol, port), whatever the local address:"
         " binding 127.0.0.1:P and 0.0.0.0:P conflict.  SO_REUSEADDR and"
         " SO_EXCLUSIVEADDRUSE are not modelled.", "BIND (\"Only one usage of each socket"
         " address\"), simplified", A, check="Bind 127.0.0.1:P then 0.0.0.0:P with default"
         " options; Windows gives WSAEADDRINUSE unless the first socket allows sharing."),
    # --- Sockets -------------------------------------------------------------------
    Rule("W6", "sockets", "socket() with an address family other than AF_INET/AF_INET6"
         " fails.", "SOCKET (WSAEAFNOSUPPORT)", D, E.WSAEAFNOSUPPORT),
    Rule("W7", "sockets", "socket() with a type other than SOCK_STREAM, SOCK_DGRAM or"
         " SOCK_RAW fails.", "SOCKET (WSAESOCKTNOSUPPORT)", D, E.WSAESOCKTNOSUPPORT),
    Rule("W8", "sockets", "socket() with a protocol the stack does not know fails.",
         "SOCKET (WSAEPROTONOSUPPORT)", D, E.WSAEPROTONOSUPPORT),
    Rule("W9", "sockets", "socket() with a protocol of the wrong type (SOCK_STREAM with"
         " IPPROTO_UDP) fails; protocol 0 picks TCP for SOCK_STREAM, UDP for SOCK_DGRAM.",
         "SOCKET (WSAEPROTOTYPE; \"If a value of 0 is specified ... the service provider"
         " will choose\")", D, E.WSAEPROTOTYPE),
    Rule("W10", "sockets", "A SOCK_RAW socket needs administrator rights.", "RAW"
         " (\"To use a socket of type SOCK_RAW requires administrative privileges\")", D,
         E.WSAEACCES),
    Rule("R9a", "sockets", "The reservation IOCTLs on a socket that is neither TCP nor UDP"
         " (SOCK_RAW) fail.", "ACQ (WSAEOPNOTSUPP: \"on a socket other than UDP or TCP\")",
         D, E.WSAEOPNOTSUPP),
    Rule("R9b", "sockets", "Any call on a handle that is not a live socket of the calling"
         " process (closed, or another process's) fails.", "ACQ, BIND (WSAENOTSOCK)", D,
         E.WSAENOTSOCK),
    Rule("R9c", "sockets", "A reservation IOCTL whose input is not acceptable (a token or"
         " block that is not an integer of the right size) fails.", "ACQ (WSAEINVAL: \"the"
         " specified input parameter is not acceptable\")", D, E.WSAEINVAL),
    Rule("A19", "sockets", "Every call from a process that has exited (or that ran before a"
         " reboot) fails as if Winsock were not started.", "model choice: Windows has no"
         " such caller; WSANOTINITIALISED is what a process without WSAStartup gets (BIND)",
         A, E.WSANOTINITIALISED, check="Not observable on Windows: a dead process makes no"
         " calls."),
    # --- Runtime reservations: acquire ---------------------------------------------------
    Rule("R1", "acquire", "SIO_ACQUIRE_PORT_RESERVATION grants a runtime reservation of a"
         " block of TCP or UDP ports on the socket it is issued on, and returns the block and"
         " a token.", "ACQ", D),
    Rule("R2", "acquire", "A StartPort of 0 asks for a wildcard block of NumberOfPorts ports;"
         " wildcard requests are runtime only.", "ACQ (\"wildcard port reservation requests"
         " are only supported at runtime\"); the seed's validation accepts 0", D),
    Rule("R3", "acquire", "A wildcard block is contiguous and lies inside the protocol's"
         " dynamic range, clear of every reservation and bound port.", "DOSSIER R3"
         " (inferred from ACQ)", A, check="Acquire 50 wildcard blocks of 10 ports; every"
         " block lies in the dynamic range (netsh int ipv4 show dynamicport tcp)."),
    Rule("A2", "acquire", "A specific request that overlaps a reservation or a bound port of"
         " the same protocol fails.", "DOSSIER Q2: the code is not documented", A,
         E.WSAEADDRINUSE, check="Q2: acquire 60000+10 twice on two sockets; read"
         " WSAGetLastError of the second."),
    Rule("A3", "acquire", "A request with NumberOfPorts 0, or whose block runs past 65535,"
         " fails.", "DOSSIER Q3; ACQ (WSAEINVAL: input \"not acceptable\")", A, E.WSAEINVAL,
         check="Q3: acquire 65530+10 and 60000+0."),
    Rule("A4", "acquire", "Where a wildcard block or a bind(port 0) port lands: portpool"
         " draws it at random from the candidates, from the host's seeded generator.",
         "DOSSIER Q4: not documented", A, check="Q4: 50 wildcard acquires and 50 bind(0)"
         " calls; record the sequence."),
    Rule("A13", "acquire", "When no free block (wildcard acquire) or no free port (bind"
         " port 0) is left in the dynamic range, the call fails.", "not documented for"
         " these calls; WSAENOBUFS is what port exhaustion gives connect/bind in the wild",
         A, E.WSAENOBUFS, check="Set a 10-port dynamic range, bind 10 sockets with port 0,"
         " bind an 11th."),
    Rule("A21", "acquire", "A socket that is already bound may still acquire a reservation.",
         "DOSSIER R6 (msquic acquires on the socket it later binds); not stated for the"
         " bound case", A, check="bind(0), then SIO_ACQUIRE_PORT_RESERVATION on the same"
         " socket."),
    Rule("R13c", "acquire", "Tokens are unique, opaque, non-zero 64-bit values"
         " (INVALID_PORT_RESERVATION_TOKEN is 0).", "CREATE (\"unique opaque ULONG64\"); HDR",
         D),
    # --- Runtime reservations: lifetime and release ------------------------------------
    Rule("R4", "lifetime", "A runtime reservation lasts as long as the socket it was"
         " acquired on: closing that socket, its process exiting, or a reboot releases the"
         " block.", "ACQ (\"Runtime port reservations last only as long as the lifetime of"
         " the socket\")", D),
    Rule("R8", "lifetime", "SIO_RELEASE_PORT_RESERVATION releases a runtime reservation"
         " obtained by the issuing process.", "REL", D),
    Rule("A5", "lifetime", "SIO_RELEASE_PORT_RESERVATION from another process than the"
         " acquiring one fails; any socket of the acquiring process may issue it.",
         "REL (\"must have been obtained from the issuing process\"); the code is assumed",
         A, E.WSAEACCES, check="Q5: release a token from a second socket of the same"
         " process, and from another process."),
    Rule("A22", "lifetime", "SIO_RELEASE_PORT_RESERVATION with a persistent token fails"
         " (persistent blocks go through DeletePersistent*PortReservation).", "REL (\"a"
         " runtime reservation\")", A, E.WSAEINVAL, check="Release a persistent token."),
    Rule("A20", "lifetime", "When a block is released or deleted, sockets already bound from"
         " it keep their ports; the ports return to the pool when those sockets close.",
         "DOSSIER R8/Q5 (inferred)", A, check="Q5: associate+bind, release, then check"
         " getsockname and a second bind to that port."),
    Rule("A16", "lifetime", "An association whose reservation has gone (released, deleted,"
         " its socket closed) lapses: bind then behaves as on a plain socket.", "not"
         " documented", A, check="Associate, close the acquiring socket, bind(0)."),
    # --- Association and bind ---------------------------------------------------------
    Rule("R5", "associate", "SIO_ASSOCIATE_PORT_RESERVATION, issued before bind, makes"
         " bind(port 0) take a free port from the reservation.", "ASSOC (\"the port assigned"
         " to it will be selected from the port reservation\")", D),
    Rule("R6", "associate", "An associated socket may bind an explicit free port inside its"
         " block; the acquiring socket itself may be associated and bound.", "MSQUIC; the"
         " seed sample", OBS),
    Rule("A1", "associate", "bind(port 0) on an associated socket whose block has no free"
         " port left fails.", "ASSOC (\"the bind function call will fail\"); DOSSIER Q1:"
         " the code is assumed", A, E.WSAEADDRINUSE, check="Q1: acquire 2 ports,"
         " associate 3 sockets, bind each with port 0."),
    Rule("A6", "associate", "Associating a token of the other protocol fails.", "DOSSIER Q6",
         A, E.WSAEINVAL, check="Q6: associate a UDP token with a TCP socket."),
    Rule("A7", "associate", "Associating a socket that is already bound, or already"
         " associated, fails.", "ASSOC (\"must be issued before the socket is bound\");"
         " DOSSIER Q7", A, E.WSAEINVAL, check="Q7: bind then associate; associate twice."),
    Rule("A11", "associate", "Associating or releasing a token that names no live"
         " reservation fails.", "not documented", A, E.WSAEINVAL, check="Associate token"
         " 0x1234 that was never granted."),
    Rule("A12", "associate", "Associating a runtime token from another process than the"
         " acquiring one fails.", "ACQ (\"reservations be consumed from the process on whose"
         " socket the reservation was granted\"); the code is assumed", A, E.WSAEACCES,
         check="Pass a runtime token to a second process and associate it there."),
    Rule("R7", "associate", "Associating a persistent token needs an elevated administrator;"
         " others get WSAEACCES.", "ASSOC", D, E.WSAEACCES),
    Rule("R14", "associate", "Any elevated process may associate any persistent token: there"
         " is no inter-component security for persistent reservations.", "CREATE", D),
    Rule("A17", "associate", "An associated socket binding an explicit port outside its block"
         " follows the plain-socket rules.", "not documented", A, check="Associate, then"
         " bind a free port outside the block."),
    Rule("W1", "bind", "bind(port 0) on a plain socket takes a free port from the dynamic"
         " range, never one inside a reservation.", "BIND (\"assigns a unique port ... from"
         " the dynamic client port range\"); R17", D),
    Rule("R17", "bind", "bind to a port inside a reserved block, from a socket not associated"
         " with it, fails with WSAEACCES (not WSAEADDRINUSE).", "WILD (docker/for-win#3171,"
         " microsoft/WSL#5306)", OBS, E.WSAEACCES),
    Rule("W2", "bind", "bind to a port another socket has bound fails.", "BIND"
         " (WSAEADDRINUSE)", D, E.WSAEADDRINUSE),
    Rule("A23", "bind", "A port that is both reserved and bound refuses a plain bind with"
         " WSAEACCES: the reservation is checked first.", "not documented", A,
         check="Bind a port from an associated block, then bind it from a plain socket."),
    Rule("W3", "bind", "bind on a socket that is already bound fails.", "BIND (WSAEINVAL:"
         " \"the socket s is already bound to an address\")", D, E.WSAEINVAL),
    Rule("W4", "bind", "bind with an address of the wrong shape or family (a bad IP literal,"
         " a port outside 0-65535) fails.", "BIND (WSAEFAULT: \"an incorrect address format"
         " for the associated address family\")", D, E.WSAEFAULT),
    Rule("A24", "bind", "A SOCK_RAW socket binds an address but no port: it takes nothing from"
         " either pool, and getsockname reports port 0.", "BIND (\"may also be used to bind to"
         " a raw socket\"); the reported port is assumed", A,
         check="Bind an administrator's SOCK_RAW socket to 127.0.0.1:0 and read getsockname."),
    Rule("A25", "bind", "Every address of the socket's family counts as local: the emulated"
         " machine has no interfaces, so bind never fails with WSAEADDRNOTAVAIL.  A known"
         " simplification: Windows refuses an address that is not local.", "BIND"
         " (WSAEADDRNOTAVAIL: \"not a valid local IP address on this computer\")", A,
         check="Bind 203.0.113.5:0: Windows gives WSAEADDRNOTAVAIL, the emulator succeeds."),
    Rule("W5", "bind", "getsockname on a socket that is not bound fails.", "GETSOCKNAME"
         " (WSAEINVAL: \"The socket has not been bound to an address with bind\")", D,
         E.WSAEINVAL),
    # --- Persistent reservations -----------------------------------------------------------
    Rule("R13", "persistent", "CreatePersistent*PortReservation and"
         " DeletePersistent*PortReservation need an elevated administrator.", "CREATE, DELETE"
         " (ERROR_ACCESS_DENIED)", D, E.ERROR_ACCESS_DENIED),
    Rule("R13a", "persistent", "Create, Lookup and Delete refuse a zero StartPort or"
         " NumberOfPorts, or a block past 65535.", "CREATE, LOOKUP, DELETE"
         " (ERROR_INVALID_PARAMETER)", D, E.ERROR_INVALID_PARAMETER),
    Rule("A14", "persistent", "Create and Delete check their parameters before the caller's"
         " rights.", "not documented", A, check="Non-admin CreatePersistentTcpPortReservation"
         "(0, 0): ERROR_INVALID_PARAMETER or ERROR_ACCESS_DENIED?"),
    Rule("R13b", "persistent", "Create fails when a port of the block is in use or the block"
         " overlaps a persistent reservation.", "CREATE (ERROR_SHARING_VIOLATION)", D,
         E.ERROR_SHARING_VIOLATION),
    Rule("A15", "persistent", "Create fails the same way when the block overlaps a runtime"
         " reservation.", "CREATE (\"already being used\"), read as including runtime"
         " blocks", A, E.ERROR_SHARING_VIOLATION, check="Acquire 60000+10 at runtime, then"
         " create 60005+10 persistent."),
    Rule("R13d", "persistent", "Persistent reservations are kept in a persistent store and"
         " survive a reboot; their start port is given in network byte order at the ABI.",
         "CREATE", D),
    Rule("A10", "persistent", "A persistent reservation's token changes at every reboot, so"
         " code must look it up again.", "CREATE (\"may change each time the system is"
         " restarted\"); DOSSIER Q11", A, check="Q11: create, reboot, look up."),
    Rule("R15", "persistent", "Lookup returns the token of the persistent block with exactly"
         " that start and count; it needs no administrator.", "LOOKUP (ERROR_NOT_FOUND)", D,
         E.ERROR_NOT_FOUND),
    Rule("R16", "persistent", "Delete removes the persistent block with exactly that start and"
         " count.", "DELETE (ERROR_NOT_FOUND)", D, E.ERROR_NOT_FOUND),
    # --- Call shapes (the ABI layer: portpool/_dlls.py, backends/windows) ---------------
    Rule("B1", "abi", "SIO_ACQUIRE_PORT_RESERVATION needs cbInBuffer equal to"
         " sizeof(INET_PORT_RANGE) (4).", "ACQ (\"must be the size of the INET_PORT_RANGE"
         " structure\"; WSAEINVAL)", D, E.WSAEINVAL),
    Rule("B2", "abi", "An output buffer smaller than INET_PORT_RESERVATION_INSTANCE (16) fails,"
         " and *lpcbBytesReturned is set to 0.", "ACQ", D, E.WSAEINVAL),
    Rule("B3", "abi", "A NULL lpvInBuffer, lpvOutBuffer (acquire) or lpcbBytesReturned"
         " (non-overlapped), or a NULL or short sockaddr to bind/getsockname, fails.  (A"
         " non-NULL bad pointer cannot be detected by an emulator in the same process.)",
         "ACQ, BIND (WSAEFAULT)", D, E.WSAEFAULT),
    Rule("B4", "abi", "StartPort travels in network byte order in INET_PORT_RANGE and in the"
         " returned INET_PORT_RESERVATION_INSTANCE; NumberOfPorts in host order.", "ACQ (the"
         " sample's htons), CREATE (\"in network byte order\")", D),
    Rule("B5", "abi", "WSAIoctl returns 0 on success and SOCKET_ERROR on failure, the code"
         " coming from WSAGetLastError, which is per thread; a successful acquire sets"
         " *lpcbBytesReturned to 16.", "ACQ (return value), WSAIOCTL", D),
    Rule("B6", "abi", "A successful associate or release sets *lpcbBytesReturned to 0 (they"
         " have no output).", "DOSSIER Q10 (ACQ says it \"cannot be zero\" without"
         " lpOverlapped, which cannot hold for an IOCTL with no output)", A,
         check="Q10: read bytesReturned after a successful associate and release."),
    Rule("B7", "abi", "Associate and release need cbInBuffer of at least"
         " sizeof(INET_PORT_RESERVATION_TOKEN) (8); associate needs cbOutBuffer 0.", "ASSOC,"
         " REL (WSAEINVAL); the cbOutBuffer code is assumed", A, E.WSAEINVAL,
         check="Associate with cbInBuffer 4, and with cbOutBuffer 8."),
    Rule("B8", "abi", "An IOCTL code the provider does not support fails.", "ACQ"
         " (WSAEOPNOTSUPP: \"the specified IOCTL command is not supported\")", D,
         E.WSAEOPNOTSUPP),
    Rule("B9", "abi", "With lpOverlapped (sockets from socket() are overlapped), the call"
         " returns at once: 0 if it completed, or SOCKET_ERROR with WSA_IO_PENDING; completion"
         " signals lpOverlapped->hEvent and queues lpCompletionRoutine to the calling thread,"
         " run when it waits alertably (WSAWaitForMultipleEvents with fAlertable); the result"
         " is read with WSAGetOverlappedResult (WSA_IO_INCOMPLETE while pending).  The"
         " emulator keeps the Winsock code in OVERLAPPED.Internal, where Windows keeps an"
         " NTSTATUS: read it through WSAGetOverlappedResult, not directly.", "ACQ"
         " (WSA_IO_PENDING), WSAIOCTL (completion routines); queueing the routine also for an"
         " immediate completion is assumed", A, E.WSA_IO_PENDING,
         check="Overlapped acquire with a completion routine; SleepEx(0, TRUE) after a 0 return."),
    Rule("B10", "abi", "Closing a socket completes its pending overlapped IOCTLs with"
         " WSA_OPERATION_ABORTED, and they take no effect.", "ACQ (\"cancelled due to the"
         " closing of the socket\")", D, E.WSA_OPERATION_ABORTED),
    Rule("B11", "abi", "WSPIoctl returns its error through *lpErrno instead of"
         " WSAGetLastError, and takes lpThreadId for the completion APC.", "ACQ (lpThreadId,"
         " lpErrno)", D),
    Rule("B12", "abi", "Create/Lookup/DeletePersistent*PortReservation return the Windows code"
         " as their ULONG result (NO_ERROR on success) and take StartPort in network byte order,"
         " so host order reserves the byte-swapped block.", "CREATE, LOOKUP, DELETE", D),
    Rule("B13", "abi", "Every Winsock call before WSAStartup (or after the matching"
         " WSACleanup) fails; WSACleanup closes the process's remaining sockets; WSAStartup"
         " returns its error code itself (WSAEFAULT for a NULL lpWSAData), not through"
         " WSAGetLastError.",
         "WSASTARTUP; BIND (WSANOTINITIALISED)", D, E.WSANOTINITIALISED),
    Rule("B14", "abi", "A persistent-reservation function the DLL does not export (Wine, very"
         " old Windows) is reported as ERROR_PROC_NOT_FOUND when called, not at load.",
         "WINE (GetProcAddress error 127)", OBS, E.ERROR_PROC_NOT_FOUND),
)

RULES: Final[Mapping[str, Rule]] = {rule.id: rule for rule in _TABLE}
if len(RULES) != len(_TABLE):  # pragma: no cover - guards the table itself
    raise RuntimeError("duplicate rule id in portpool._model._rules")


def refuse(rule_id: str, detail: str) -> PortPoolError:
    """The error for a call refused under ``rule_id``; the code comes from the table."""
    rule = RULES[rule_id]
    if rule.error is None:  # pragma: no cover - a programming error in the model
        raise AssertionError(f"rule {rule_id} refuses nothing")
    return winerror(rule.error, f"{detail} [rule {rule_id}]")


_AREAS: Final = {
    "pools": "The pools",
    "sockets": "Sockets",
    "acquire": "Runtime reservations: acquire",
    "lifetime": "Runtime reservations: lifetime and release",
    "associate": "Association",
    "bind": "bind and getsockname",
    "persistent": "Persistent reservations",
    "abi": "Call shapes (the Winsock and IP Helper ABI)",
}


def render_markdown() -> str:
    """``specs/semantics.md``'s rule section, rendered from the table."""
    lines = [
        "<!-- Rendered from portpool/_model/_rules.py by `python -m portpool specs`;"
        " tests/test_specs.py keeps them equal. -->",
        "",
    ]
    for area, title in _AREAS.items():
        lines += [f"## {title}", ""]
        for rule in (r for r in _TABLE if r.area == area):
            code = f" Refusal: `{rule.error.name}` ({int(rule.error)})." if rule.error else ""
            lines.append(f"### {rule.id} ({rule.confidence.value})")
            lines.append("")
            lines.append(f"{rule.text}{code}")
            lines.append("")
            lines.append(f"- Source: {rule.source}.")
            if rule.check:
                lines.append(f"- Check on Windows: {rule.check}")
            lines.append("")
    lines += ["## Sources", ""]
    lines += [f"- **{key}**: {value}" for key, value in SOURCES.items()]
    lines.append("")
    return "\n".join(lines)
