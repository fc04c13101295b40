"""Call shapes: the Winsock and IP Helper ABI (portpool/_winsock/_dlls.py, backends/windows)."""

from __future__ import annotations

from typing import Final

from ._schema import OBS, A, Alternative, D, E, Rule

__all__ = ["ALTERNATIVES", "RULES"]

RULES: Final[tuple[Rule, ...]] = (
    Rule("B1", "abi", "SIO_ACQUIRE_PORT_RESERVATION needs cbInBuffer equal to"
         " sizeof(INET_PORT_RANGE) (4); other sizes fail with WSAEINVAL.", "ACQ (cbInBuffer"
         " \"should be the size of the INET_PORT_RANGE structure\", no code given: D-R2"
         " \"Silent\"); WSAIOCTL gives WSAEFAULT when cbInBuffer \"is too small\"; D-Q3", A,
         E.WSAEINVAL, check="D-Q3: acquire (StartPort 0, 10 ports) with cbInBuffer 0, 2, 3, 5"
         " and 8, a valid INET_PORT_RANGE behind the pointer: this rule expects WSAEINVAL for"
         " each."),
    Rule("B2", "abi", "An output buffer smaller than INET_PORT_RESERVATION_INSTANCE (16) fails,"
         " and *lpcbBytesReturned is set to 0.  Which code: see the alternatives.", "ACQ;"
         " WSAIOCTL; D-R4 (\"Conflict\")", D, E.WSAEINVAL, check="D-Q3: acquire with"
         " cbOutBuffer 0, 8 and 15: WSAEINVAL settles `WSAEINVAL`, WSAEFAULT settles"
         " `WSAEFAULT`; record *lpcbBytesReturned."),
    Rule("B3", "abi", "A NULL lpcbBytesReturned fails any WSAIoctl, overlapped or not, before"
         " the code is looked at; so do a NULL lpvInBuffer or lpvOutBuffer (acquire), a NULL or"
         " short sockaddr to bind, getsockname, connect or getpeername (*namelen unchanged), or an"
         " SIO_CPU_AFFINITY input shorter than a USHORT.  (A non-NULL bad pointer cannot be"
         " detected by an emulator in the same process.)", "WINE_SOCK (test_unsupported_ioctls,"
         " test_fionbio, test_keepalive_vals, test_base_handle, test_get_extension_func: a NULL"
         " lpcbBytesReturned is WSAEFAULT with or without lpOverlapped; test_bind, test_getsockname,"
         " test_getpeername for the sockaddrs); ACQ, BIND, CONNECT, GETPEERNAME (WSAEFAULT); that the"
         " reservation IOCTLs check it like every code Wine tries is inferred; the SIO_CPU_AFFINITY"
         " case is assumed from WSAIOCTL (\"the cbInBuffer ... parameter is too small\")", OBS,
         E.WSAEFAULT),
    Rule("B4", "abi", "StartPort travels in network byte order in INET_PORT_RANGE and in the"
         " returned INET_PORT_RESERVATION_INSTANCE; NumberOfPorts in host order.", "ACQ (the"
         " sample's htons), CREATE (\"in network byte order\"); D-R5, D-R37", D),
    Rule("B5", "abi", "WSAIoctl returns 0 on success and SOCKET_ERROR on failure, the code"
         " coming from WSAGetLastError, which is per thread.  (The bytes it reports are B6.)",
         "ACQ (return value), WSAIOCTL; D-R17, D-R63", D),
    Rule("B6", "abi", "A successful acquire sets *lpcbBytesReturned to 16 (the"
         " INET_PORT_RESERVATION_INSTANCE it wrote); a successful associate or release sets it"
         " to 0 (they have no output).", "D-R35 (\"Conflict\": ACQ, ASSOC and REL say it"
         " \"cannot be zero\" without lpOverlapped, which cannot hold for an IOCTL with no"
         " output); D-Q14", A, check="D-Q14: read *lpcbBytesReturned after a successful"
         " non-overlapped acquire (this rule expects 16), associate and release (0 each)."),
    Rule("B7", "abi", "Associate and release need cbInBuffer of at least"
         " sizeof(INET_PORT_RESERVATION_TOKEN) (8) and cbOutBuffer 0; otherwise they fail with"
         " WSAEINVAL.", "ASSOC and REL (cbInBuffer \"must be at least the size of the"
         " INET_PORT_RESERVATION_TOKEN structure\"; cbOutBuffer \"must be set to zero\"; D-R24,"
         " D-R31); the code is assumed (D-Q4)", A, E.WSAEINVAL, check="D-Q4: associate, and"
         " release, with cbInBuffer 0, 4 and 7 (a token behind the pointer), and with"
         " cbOutBuffer 16 and a non-NULL output buffer: this rule expects WSAEINVAL for each."),
    Rule("B8", "abi", "An IOCTL code the provider does not support fails and sets"
         " *lpcbBytesReturned to 0; with lpOverlapped it returns WSA_IO_PENDING, leaves"
         " *lpcbBytesReturned alone and completes at once with WSAEOPNOTSUPP.", "ACQ"
         " (WSAEOPNOTSUPP: \"the specified IOCTL command is not supported\"); WINE_SOCK"
         " (test_unsupported_ioctls: 0xdeadbeef, FIOASYNC, 0x667e, SIO_FLUSH)", D,
         E.WSAEOPNOTSUPP),
    Rule("B9", "abi", "With lpOverlapped (sockets from socket() are overlapped), the call"
         " returns at once: 0 if it completed, or SOCKET_ERROR with WSA_IO_PENDING; completion"
         " signals lpOverlapped->hEvent and queues lpCompletionRoutine to the calling thread,"
         " run when it waits alertably (WSAWaitForMultipleEvents with fAlertable); the result"
         " is read with WSAGetOverlappedResult (WSA_IO_INCOMPLETE while pending).  The"
         " emulator keeps the Winsock code in OVERLAPPED.Internal, where Windows keeps an"
         " NTSTATUS: read it through WSAGetOverlappedResult, not directly.", "ACQ"
         " (WSA_IO_PENDING), WSAIOCTL (completion routines); D-R16, D-R66; queueing the"
         " routine also for an immediate completion is assumed (D-Q13)", A, E.WSA_IO_PENDING,
         check="D-Q13: on a socket from socket(), acquire (StartPort 0, 10 ports) with an"
         " OVERLAPPED and a completion routine; if it returns 0, call SleepEx(0, TRUE): this"
         " rule expects the routine to run then, with dwError 0 and cbTransferred 16."),
    Rule("B10", "abi", "Closing a socket completes its pending overlapped IOCTLs with"
         " WSA_OPERATION_ABORTED, and they take no effect.", "ACQ (\"canceled due to the"
         " closure of the socket\"); D-R16", D, E.WSA_OPERATION_ABORTED),
    Rule("B11", "abi", "WSPIoctl returns its error through *lpErrno instead of"
         " WSAGetLastError, and takes lpThreadId for the completion APC.", "ACQ (lpThreadId,"
         " lpErrno); D-R64", D),
    Rule("B12", "abi", "Create/Lookup/DeletePersistent*PortReservation return the Windows code"
         " as their ULONG result (NO_ERROR on success) and take StartPort in network byte order,"
         " so host order reserves the byte-swapped block.", "CREATE, LOOKUP, DELETE; D-R36,"
         " D-R50", D),
    Rule("B13", "abi", "Every Winsock call before WSAStartup (or after the last WSACleanup)"
         " fails.  WSAStartup and WSACleanup count: each successful WSAStartup needs its"
         " WSACleanup, and only the last one closes the process's remaining sockets (a handle"
         " used after it is WSAENOTSOCK once Winsock is started again); one more WSACleanup"
         " fails.  WSAStartup returns its error code itself, not through WSAGetLastError.",
         "WSASTARTUP; BIND (WSANOTINITIALISED); WINE_SOCK (test_WithWSAStartup);"
         " WINE_PROTOCOL (test_startup: two WSAStartups, two WSACleanups, a third fails); D-R67",
         D, E.WSANOTINITIALISED),
    Rule("B15", "abi", "WSAStartup grants major 1 as 1.0 or 1.1, major 2 as 2.0 to 2.2, and any"
         " later major as 2.2, in wVersion; it fills wHighVersion (2.2), szDescription"
         " (\"WinSock 2.0\"), szSystemStatus (\"Running\"), iMaxSockets and iMaxUdpDg (32767"
         " and 65467 for version 1, 0 for version 2) and leaves lpVendorInfo alone.  Major 0"
         " fails with WSAVERNOTSUPPORTED (wVersion still set to 2.2) and counts no startup; a"
         " NULL lpWSAData is WSAEFAULT, checked after the version.", "WINE_PROTOCOL"
         " (test_startup); WSASTARTUP", OBS, E.WSAVERNOTSUPPORTED),
    Rule("B16", "abi", "A Winsock call that succeeds sets WSAGetLastError to 0.", "WINE_SOCK"
         " (test_WSASocket, test_bind, test_getsockname, test_set_getsockopt, test_so_debug,"
         " test_fionbio: WSASetLastError(0xdeadbeef), a successful call, WSAGetLastError() == 0;"
         " Windows before 7 left it unchanged); WINE_PROTOCOL (test_startup, WSACleanup)", OBS),
    Rule("B17", "abi", "setsockopt with a negative optlen: the SOL_SOCKET options 4 bytes wide"
         " read 4 bytes and succeed; every other option fails with WSAENOBUFS (Windows 7 to 10"
         " 21H1 said WSAEFAULT).", "WINE_SOCK (test_set_getsockopt: test_optsize[] with optlen"
         " -1; TCP_NODELAY with -1)", OBS, E.WSAENOBUFS),
    Rule("B18", "abi", "getsockopt's buffer: *optlen of 0 or less fails, *optlen left alone;"
         " one at least the option's width gets the width written and *optlen set to it; a"
         " shorter one, for the options that take short values, gets the value's low bytes (the"
         " SOL_SOCKET BOOLs write *optlen bytes, the others one) and *optlen 1; for the others"
         " it fails (SO_LINGER, SO_RCVBUF and SO_SNDBUF zero the buffer first; the IPPROTO_TCP,"
         " IP and IPv6 ones set *optlen to 0).", "WINE_SOCK (test_set_getsockopt: test_optsize[]"
         " with lengths -1, 0, 1, 2, 4 and 8; SO_ERROR with 1)", OBS, E.WSAEFAULT),
    Rule("B14", "abi", "A persistent-reservation function the DLL does not export (Wine, very"
         " old Windows) is reported as ERROR_PROC_NOT_FOUND when called, not at load.",
         "WINE (GetProcAddress error 127); D-R69", OBS, E.ERROR_PROC_NOT_FOUND),
)

# Where the evidence conflicts: every candidate behaviour, the default first.
ALTERNATIVES: Final[tuple[Alternative, ...]] = (
    Alternative("B2", "WSAEINVAL", "The call fails with WSAEINVAL and *lpcbBytesReturned is"
                " 0.", "ACQ (\"If the output buffer is too small, the call fails,"
                " WSAGetLastError returns WSAEINVAL, and the lpcbBytesReturned parameter"
                " points to a DWORD value of zero\"; the same sentence on ASSOC and REL)", D,
                E.WSAEINVAL),
    Alternative("B2", "WSAEFAULT", "The call fails with WSAEFAULT, as for any WSAIoctl whose"
                " buffer is too small; *lpcbBytesReturned is 0.", "WSAIOCTL (WSAEFAULT: \"the"
                " cbInBuffer or cbOutBuffer parameter is too small\"; WSPIoctl's page alike);"
                " D-R4", D, E.WSAEFAULT),
)
