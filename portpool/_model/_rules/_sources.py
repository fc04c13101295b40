"""Where the rules' evidence is: the keys a row's ``source`` names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

__all__ = ["SOURCES"]

_MS = "https://learn.microsoft.com/windows/win32/"
_SA = "MicrosoftDocs/SupportArticles-docs support/windows-server/networking/"
SOURCES: Final[Mapping[str, str]] = {
    # Microsoft documentation (Learn pages, read in their public Git mirrors).
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
    "RCVALL": "MicrosoftDocs/win32 desktop-src/WinSock/sio-rcvall.md",
    "REUSE": "MicrosoftDocs/win32 desktop-src/WinSock/using-so-reuseaddr-and-so-exclusiveaddruse.md",
    "DUAL": "MicrosoftDocs/win32 desktop-src/WinSock/dual-stack-sockets.md",
    "EXCL": "MicrosoftDocs/win32 desktop-src/WinSock/so-exclusiveaddruse.md",
    "SETSOCKOPT": "MicrosoftDocs/sdk-api sdk-api-src/content/winsock/nf-winsock-setsockopt.md",
    "GETSOCKOPT": "MicrosoftDocs/sdk-api sdk-api-src/content/winsock/nf-winsock-getsockopt.md",
    "CONNECT": "MicrosoftDocs/sdk-api sdk-api-src/content/winsock2/nf-winsock2-connect.md",
    "GETPEERNAME": "MicrosoftDocs/sdk-api sdk-api-src/content/winsock/nf-winsock-getpeername.md",
    "PAL_REUSE": "Microsoft's PAL test suite (SSCLI/CoreCLR), networking test"
    " reuseaddr_exclusiveaddruse.c: \"for the pair {SO_REUSEADDR, SO_EXCLUSIVEADDRUSE} legal values"
    " are {0,0}, {0,1} and {1,0}\", \"consistent with Windows specs\"; both options read 0 on a new"
    " socket; setting the second while the first is set fails with WSAEINVAL",
    "WSAIOCTL": "MicrosoftDocs/sdk-api sdk-api-src/content/winsock2/nf-winsock2-wsaioctl.md",
    "WSASTARTUP": "MicrosoftDocs/sdk-api sdk-api-src/content/winsock/nf-winsock-wsastartup.md",
    "SYSERR": "MicrosoftDocs/win32 desktop-src/Debug/system-error-codes--500-999-.md"
    " (740 ERROR_ELEVATION_REQUIRED: \"The requested operation requires elevation.\")",
    "KB929851": f"{_SA}default-dynamic-port-range-tcpip-chang.md (KB 929851, \"The default dynamic"
    " port range for TCP/IP has changed ...\")",
    "KB812873": f"{_SA}reserve-a-range-of-ephemeral-ports.md (KB 812873, the ReservedPorts value)",
    # Headers and code.
    "HDR": "mingw-w64 headers mstcpip.h, iphlpapi.h, winerror.h (checked by tests/test_abi.py)",
    "MSQUIC": "microsoft/msquic src/platform/datapath_winuser.c (acquires a 1-port block,"
    " associates the acquiring socket and binds it to that port)",
    "MSQUIC_CIBIR": "microsoft/msquic docs/CIBIR.md (merged with PR #5798, 2026, by the msquic"
    " maintainers), \"Persistent port reservations\"",
    "PYSOCK": "python/cpython Doc/library/socket.rst, the example \"a very simple network sniffer"
    " with raw sockets on Windows\"",
    "WINE": "shared/research/feasibility.md section 3 (Wine 8.0: the IOCTLs answer WSAEOPNOTSUPP,"
    " the six iphlpapi functions are not exported, GetProcAddress gives error 127)",
    # Reports from real machines.
    "CHROME_RANDOM": "https://groups.google.com/a/chromium.org/g/Blink-dev/c/-Bmnni7Xv0A (blink-dev,"
    " 2025-06-18, Intent to Ship: Randomizing TCP Port Allocation on Windows: \"When port"
    " randomization is disabled (the default)\", \"port re-use in a sequential model\";"
    " chromestatus feature 5106900286570496)",
    "WS2DEF": "Windows SDK ws2def.h (as mirrored in microsoft/windows-rs and other bindings):"
    " SO_RANDOMIZE_PORT 0x3005 \"randomize assignment of wildcard ports\", SO_PORT_SCALABILITY"
    " 0x3006 \"enable port scalability\", SO_REUSE_UNICASTPORT 0x3007 \"defer ephemeral port"
    " allocation for outbound connections\"",
    "WINE_SOCK": "https://github.com/wine-mirror/wine/blob/3379ee2e6b5f610b9f82d31be9417095372ebc5e/"
    "dlls/ws2_32/tests/sock.c (Wine's Winsock tests, run on Windows 7 to 11 by the Wine project:"
    " an ok() without todo_wine states Windows' answer; each row names the function;"
    " tests/data/wine/corpus.json holds them as data)",
    "WINE_PROTOCOL": "https://github.com/wine-mirror/wine/blob/78b7d91137162a7d745ad05622b259fee8a7beb4/"
    "dlls/ws2_32/tests/protocol.c (test_startup)",
    "SOLSOCK": "MicrosoftDocs/win32 desktop-src/WinSock/sol-socket-socket-options.md (the SOL_SOCKET"
    " options and their types; SO_REUSE_UNICASTPORT: \"When set, allow ephemeral port reuse for"
    " Winsock API connection functions which require an explicit bind, such as ConnectEx. Note that"
    " connection functions with an implicit bind (such as connect without an explicit bind) have"
    " this option set by default\")",
    "PORTSCAL": "MicrosoftDocs/win32 desktop-src/WinSock/so-port-scalability.md (SO_PORT_SCALABILITY:"
    " \"allocating wildcard ports multiple times for different local address port pairs\")",
    "WSL_982": "https://github.com/microsoft/WSL/issues/982 (ericeil, 2016: setting IPV6_V6ONLY after"
    " bind, \"On Windows, this call returns success\")",
    "KB3039044": "Microsoft KB 3039044, https://support.microsoft.com/kb/3039044 (\"Error 10013"
    " (WSAEACCES) is returned when a second bind to an excluded port fails in Windows\": after netsh"
    " int ipv4 add excludedportrange the first SO_REUSEADDR bind succeeds)",
    "MSQUIC_2891": "https://github.com/microsoft/msquic/issues/2891 (from dotnet/runtime#71518;"
    " labelled \"Cut: ByDesign\")",
    "MSQUIC_5795": "https://github.com/microsoft/msquic/issues/5795 (\"ERROR, 10048,"
    " SIO_ACQUIRE_PORT_RESERVATION\" for a port another process's listener holds)",
    "MSQUIC_2017": "https://github.com/microsoft/msquic/pull/2017 (the first port-reservation"
    " change and its review thread)",
    "K8S_107114": "https://github.com/kubernetes/kubernetes/issues/107114 (binding port 47001 gave"
    " WSAEACCES, an ordinary port in use gave 10048)",
    "OTEL_10839": "https://github.com/open-telemetry/opentelemetry-collector/pull/10839 (raw netsh"
    " output: single-port rows 80, 5986, 47001, WinNAT rows, and a row added with netsh)",
    "DOCKER_12251": "https://github.com/docker/for-win/issues/12251 (\"hnsCall failed in Win32: The"
    " process cannot access the file because it is being used by another process. (0x20)\")",
    "DOCKER_15452": "https://github.com/docker/docs/issues/15452 (net stop winnat, netsh add"
    " excludedportrange, net start winnat)",
    "SO_ADMIN": "Stack Overflow \"What is Administered port exclusions in windows 10?\", question"
    " and answer (mirrors https://w3toppers.com/what-is-administered-port-exclusions-in-windows-10/,"
    " https://developerload.com/what-is-administered-port-exclusions-in-windows-10)",
    "SCCACHE_1128": "https://github.com/mozilla/sccache/pull/1128 (a contributor on"
    " CreatePersistentTcpPortReservation)",
    "BIGFIX": "BigFix fixlet https://bigfix.me/fixlet/details/27007 and forum thread"
    " https://forum.bigfix.com/t/problem-fix-with-bes-support-765-reserve-port-for-bes-client-for-"
    "dns-servers-windows-2008-2008-r2-windows-2012-2012-r2-windows-2016/23004",
    "RUNNER_1442": "https://github.com/actions/runner-images/pull/1442 (after the Visual Studio"
    " installer: \"Start Port : 1024\", \"Number of Ports : 64511\")",
    "WSL_5306": "https://github.com/microsoft/WSL/issues/5306 (WinNAT rows at 4294-9783 under a"
    " range starting at 1024; HTTP.sys rows 5357, 5700, 8884)",
    "NETSH_SAMPLES": "shared/netsh-samples/ (real netsh output in several languages, README.md on"
    " the layout, NN.json with the rows read by hand)",
    # The project's research.
    "DOSSIER": "shared/research/windows-semantics.md, the full rule dossier (cited as D-Rnn, D-Qnn:"
    " its rule nn and open question nn)",
    "WILD_OBS": "shared/research/wild-observations.md (quotes, codes and sources from real machines,"
    " by section)",
    "AUDIT": "shared/research/fidelity-audit.md (the model against the dossier, by section)",
}
