"""Runtime reservations: acquire, their lifetime and release."""

from __future__ import annotations

from typing import Final

from ._schema import OBS, A, Alternative, D, E, Rule

__all__ = ["ALTERNATIVES", "RULES"]

RULES: Final[tuple[Rule, ...]] = (
    Rule("R1", "acquire", "SIO_ACQUIRE_PORT_RESERVATION grants a runtime reservation of a"
         " block of TCP or UDP ports on the socket it is issued on, and returns the block and"
         " a token.", "ACQ; D-R1", D),
    Rule("R2", "acquire", "A StartPort of 0 asks for a wildcard block of NumberOfPorts ports;"
         " wildcard requests are runtime only.", "ACQ (\"wildcard port reservation requests"
         " are only supported at runtime\"); MicrosoftDocs/sdk-api"
         " sdk-api-src/content/mstcpip/ns-mstcpip-inet_port_range.md (\"If this parameter is set"
         " to zero, the system will choose a starting TCP or UDP port number\"); D-R6", D),
    Rule("R3", "acquire", "A wildcard block is contiguous and lies inside the socket's dynamic"
         " range (Y4), clear of every block of any kind and of every bound port.", "D-R7"
         " (inferred from ACQ; WinNAT's wildcard-style 100-port blocks always lie inside the"
         " dynamic range and move with it: WSL_5306, cloud-barista/cb-coffeehouse#81)", A,
         check="Acquire 50 wildcard blocks of 10 ports (StartPort 0) on UDP sockets, keeping"
         " them: this rule expects every block inside netsh int ipv4 show dynamicport udp and"
         " none overlapping a row of show excludedportrange protocol=udp or a port netstat"
         " -ano -p udp lists."),
    Rule("A2", "acquire", "A specific request that overlaps a port merely bound by a socket of"
         " the same protocol (no block there) fails.  Overlaps with blocks are X5.",
         "D-R14, D-Q2(a): the code is not documented (the persistent analogue is"
         " ERROR_SHARING_VIOLATION, R13b)", A, E.WSAEADDRINUSE, check="D-Q2(a): bind a plain"
         " UDP socket to 60000; acquire a specific 1-port block at 60000 on another UDP socket"
         " of the same process and of another process: this rule expects WSAEADDRINUSE for"
         " both."),
    Rule("A3", "acquire", "A request with NumberOfPorts 0, or whose block runs past 65535,"
         " fails.", "D-Q11; ACQ (WSAEINVAL: input \"not acceptable\")", A, E.WSAEINVAL,
         check="D-Q11: acquire StartPort 65530 with NumberOfPorts 10, and StartPort 60000 with"
         " NumberOfPorts 0: this rule expects WSAEINVAL for both."),
    Rule("A4", "acquire", "Where a wildcard port lands (bind(port 0), connect's implicit bind,"
         " a wildcard block): Windows counts.  One counter per protocol for the whole machine,"
         " shared by every process and both IP versions, moves to just past each port handed"
         " out; held ports and every block are skipped, and a freed port can be handed out"
         " again when the counter comes round.  Where the counter starts is drawn from the"
         " host's seeded generator (assumed).  See the alternatives.",
         "CHROME_RANDOM (randomization \"disabled (the default)\", \"port re-use in a sequential"
         " model\"); WS2DEF (SO_RANDOMIZE_PORT, an opt-in, \"randomize assignment of wildcard"
         " ports\"); D-Q10", OBS, check="D-Q10: on a quiet machine, 200 plain UDP bind(0) calls"
         " closing each socket, then 50 wildcard UDP acquires of 10 ports; record the ports."
         "  Ports that step up by one (with gaps where another process took some) settle"
         " `sequential`; no order settles `random`."),
    Rule("A13", "acquire", "When no free block (wildcard acquire) or no free port (bind"
         " port 0) is left in the dynamic range, the call fails.", "D-R8, D-Q11: not"
         " documented for these calls; WSAENOBUFS is what port exhaustion gives connect/bind"
         " in the wild", A, E.WSAENOBUFS, check="D-Q11: as an administrator set netsh int"
         " ipv4 set dynamicport udp start=60000 num=255 (the smallest range, KB929851) on a"
         " quiet host with no exclusion rows in 60000-60254; acquire wildcard 100-port UDP"
         " blocks, keeping them, until one fails (one or two fit, by where A4's counter"
         " stood): this rule expects WSAENOBUFS;"
         " then bind(0) 55 UDP sockets, which succeed, and a 56th, which this rule expects to"
         " fail with WSAENOBUFS.  Restore with start=49152 num=16384."),
    Rule("A21", "acquire", "A socket that is already bound may still acquire a reservation.",
         "D-R28 (msquic acquires on the socket it later associates and binds); not stated for"
         " a socket bound first", A, check="Bind a UDP socket to port 0, then issue"
         " SIO_ACQUIRE_PORT_RESERVATION (StartPort 0, 10 ports) on that socket: this rule"
         " expects success."),
    Rule("R13c", "acquire", "Tokens are unique, opaque, non-zero 64-bit values"
         " (INVALID_PORT_RESERVATION_TOKEN is 0).", "CREATE (\"unique opaque ULONG64\"); HDR;"
         " D-R43", D),
    # --- Runtime reservations: lifetime and release ------------------------------------
    Rule("R4", "lifetime", "A runtime reservation lasts as long as the socket it was acquired"
         " on: closing that socket releases the block.", "ACQ (\"Runtime port reservations"
         " last only as long as the lifetime of the socket on which the"
         " SIO_ACQUIRE_PORT_RESERVATION IOCTL was called\"); D-R19", D),
    Rule("A28", "lifetime", "A process's exit (which closes its sockets) and a reboot release"
         " its runtime blocks.", "D-R21 (inferred: demikernel and msquic rely on closesocket"
         " and never release); duplicated sockets (WSADuplicateSocket, D-Q9(c)) are not"
         " modelled", A, check="D-Q9(b): acquire 60000+10 on a UDP socket of process A, kill A"
         " (taskkill /F); from process B bind a plain UDP socket to 60005, then acquire"
         " 60000+10: this rule expects both to succeed."),
    Rule("R8", "lifetime", "SIO_RELEASE_PORT_RESERVATION releases a runtime reservation"
         " obtained by the issuing process.", "REL; D-R31", D),
    Rule("A5", "lifetime", "SIO_RELEASE_PORT_RESERVATION from another process than the"
         " acquiring one fails; any socket of the acquiring process may issue it.",
         "REL (\"must have been obtained from the issuing process\"; D-R31); D-R32 (any socket:"
         " inferred); the code is assumed", A, E.WSAEACCES, check="D-Q12, D-Q7: acquire"
         " 60000+10 on socket S of process A and release the token from another socket of A"
         " (this rule expects success); acquire again and release the token from a socket of"
         " process B (this rule expects WSAEACCES)."),
    Rule("A22", "lifetime", "SIO_RELEASE_PORT_RESERVATION with a persistent token fails"
         " (persistent blocks go through DeletePersistent*PortReservation).", "REL (\"a"
         " runtime reservation\"); D-R33, D-Q12", A, E.WSAEINVAL, check="As an administrator"
         " create a persistent block with CreatePersistentUdpPortReservation(htons(60100), 10)"
         " and issue SIO_RELEASE_PORT_RESERVATION with its token on a UDP socket: this rule"
         " expects WSAEINVAL.  Delete the block afterwards."),
    Rule("A20", "lifetime", "When a block is released or deleted, sockets already bound from"
         " it keep their ports; the ports return to the pool when those sockets close.",
         "D-R33, D-Q12 (inferred: \"presumably keep their ports\")", A, check="D-Q12: acquire"
         " 60000+10, associate a second socket and bind it to port 0 (it gets P), release the"
         " token: this rule expects getsockname to still give P and a plain bind of a third"
         " socket to P to fail with WSAEADDRINUSE."),
    Rule("A16", "lifetime", "An association whose reservation has gone (released, deleted,"
         " its socket closed) lapses: bind then behaves as on a plain socket.", "not"
         " documented (D-R33)", A, check="Acquire 60000+10 on socket S, associate socket T"
         " with the token, close S, then bind T to port 0: this rule expects success with a"
         " port from the dynamic range."),
)

ALTERNATIVES: Final[tuple[Alternative, ...]] = (
    Alternative("A4", "sequential", "Windows' counter: the next free port at or after it (the"
                " next free run of the block's size), which it then passes.", "CHROME_RANDOM;"
                " WS2DEF (randomness is the SO_RANDOMIZE_PORT opt-in)", OBS),
    Alternative("A4", "random", "A uniform draw among the free ports (a free run for a block),"
                " as with SO_RANDOMIZE_PORT (O11) or Chrome's kTcpPortRandomizationWin; the"
                " counter moves just past the port drawn.", "portpool's earlier choice; D-R7"
                " (WinNAT's blocks leave irregular gaps, WSL_5306)", A),
)
