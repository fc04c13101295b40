"""Where the rules' evidence is: the keys a row's ``source`` names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

__all__ = ["SOURCES"]

# Every source is something a user can open: a web page, a file of a public repository (with
# its address), or a file of this repository.  Microsoft's pages are cited by their Learn
# address; their text was read in the public Git mirrors named after it.
_MS = "https://learn.microsoft.com/windows/win32/"
_API = f"{_MS}api/"
_KB = "https://learn.microsoft.com/troubleshoot/windows-server/networking/"
_WIN32 = "MicrosoftDocs/win32 desktop-src/WinSock/"
_SDK = "MicrosoftDocs/sdk-api sdk-api-src/content/"
SOURCES: Final[Mapping[str, str]] = {
    # Microsoft documentation.
    "ACQ": f"{_MS}winsock/sio-acquire-port-reservation (SIO_ACQUIRE_PORT_RESERVATION;"
    f" {_WIN32}sio-acquire-port-reservation.md); the seed page",
    "ASSOC": f"{_MS}winsock/sio-associate-port-reservation (SIO_ASSOCIATE_PORT_RESERVATION;"
    f" {_WIN32}sio-associate-port-reservation.md)",
    "REL": f"{_MS}winsock/sio-release-port-reservation (SIO_RELEASE_PORT_RESERVATION;"
    f" {_WIN32}sio-release-port-reservation.md)",
    "CREATE": f"{_API}iphlpapi/nf-iphlpapi-createpersistenttcpportreservation"
    f" (CreatePersistentTcpPortReservation, the Udp page alike; {_SDK}iphlpapi/"
    "nf-iphlpapi-createpersistenttcpportreservation.md)",
    "LOOKUP": f"{_API}iphlpapi/nf-iphlpapi-lookuppersistenttcpportreservation"
    " (LookupPersistentTcpPortReservation)",
    "DELETE": f"{_API}iphlpapi/nf-iphlpapi-deletepersistenttcpportreservation"
    " (DeletePersistentTcpPortReservation)",
    "BIND": f"{_API}winsock/nf-winsock-bind (bind)",
    "SOCKET": f"{_API}winsock2/nf-winsock2-socket (socket)",
    "GETSOCKNAME": f"{_API}winsock/nf-winsock-getsockname (getsockname)",
    "RAW": f"{_MS}winsock/tcp-ip-raw-sockets-2 (TCP/IP raw sockets)",
    "RCVALL": f"{_MS}winsock/sio-rcvall (SIO_RCVALL)",
    "REUSE": f"{_MS}winsock/using-so-reuseaddr-and-so-exclusiveaddruse (Using SO_REUSEADDR and"
    " SO_EXCLUSIVEADDRUSE)",
    "DUAL": f"{_MS}winsock/dual-stack-sockets (Dual-stack sockets for IPv6 Winsock applications)",
    "EXCL": f"{_MS}winsock/so-exclusiveaddruse (SO_EXCLUSIVEADDRUSE)",
    "SETSOCKOPT": f"{_API}winsock/nf-winsock-setsockopt (setsockopt)",
    "GETSOCKOPT": f"{_API}winsock/nf-winsock-getsockopt (getsockopt)",
    "CONNECT": f"{_API}winsock2/nf-winsock2-connect (connect)",
    "GETPEERNAME": f"{_API}winsock/nf-winsock-getpeername (getpeername)",
    "SELECT": f"{_API}winsock2/nf-winsock2-select (select)",
    "PAL_REUSE": "Microsoft's PAL test suite (SSCLI/CoreCLR), networking test"
    " reuseaddr_exclusiveaddruse.c: \"for the pair {SO_REUSEADDR, SO_EXCLUSIVEADDRUSE} legal values"
    " are {0,0}, {0,1} and {1,0}\", \"consistent with Windows specs\"; both options read 0 on a new"
    " socket; setting the second while the first is set fails with WSAEINVAL",
    "WSAIOCTL": f"{_API}winsock2/nf-winsock2-wsaioctl (WSAIoctl)",
    "WSASTARTUP": f"{_API}winsock/nf-winsock-wsastartup (WSAStartup)",
    "SYSERR": f"{_MS}debug/system-error-codes--500-999- (System Error Codes (500-999): 740"
    " ERROR_ELEVATION_REQUIRED, \"The requested operation requires elevation.\")",
    "KB929851": f"{_KB}default-dynamic-port-range-tcpip-chang (KB 929851, \"The default dynamic"
    " port range for TCP/IP has changed ...\")",
    "KB812873": f"{_KB}reserve-a-range-of-ephemeral-ports (KB 812873, the ReservedPorts value)",
    # Headers and code.
    "HDR": "https://github.com/mingw-w64/mingw-w64/tree/master/mingw-w64-headers/include (the"
    " mingw-w64 headers mstcpip.h, iphlpapi.h, winerror.h; checked by tests/test_abi.py)",
    "MSQUIC": "https://github.com/microsoft/msquic/blob/main/src/platform/datapath_winuser.c"
    " (acquires a 1-port block, associates the acquiring socket and binds it to that port)",
    "MSQUIC_CIBIR": "https://github.com/microsoft/msquic/blob/main/docs/CIBIR.md (merged with"
    " PR #5798, 2026, by the msquic maintainers), \"Persistent port reservations\"",
    "PYSOCK": "https://docs.python.org/3/library/socket.html#example (Python's socket"
    " documentation, the example \"a very simple network sniffer with raw sockets on Windows\")",
    "WINE": "tests/test_wine.py (Wine 8.0, Debian's wine64, running the official Windows CPython:"
    " WSAIoctl answers WSAEOPNOTSUPP for the three reservation IOCTLs, and the six iphlpapi"
    " functions are not exported, so GetProcAddress gives error 127;"
    " https://github.com/wine-mirror/wine/blob/master/dlls/iphlpapi/iphlpapi.spec lists them as"
    " commented-out stubs)",
    # Reports from real machines.
    "CHROME_RANDOM": "https://groups.google.com/a/chromium.org/g/Blink-dev/c/-Bmnni7Xv0A (blink-dev,"
    " 2025-06-18, Intent to Ship: Randomizing TCP Port Allocation on Windows: \"When port"
    " randomization is disabled (the default)\", \"port re-use in a sequential model\";"
    " chromestatus feature 5106900286570496)",
    "WS2DEF": f"{_MS}winsock/sol-socket-socket-options (SOL_SOCKET socket options) and the"
    " Windows SDK's ws2def.h (as mirrored in microsoft/windows-rs and other bindings):"
    " SO_RANDOMIZE_PORT 0x3005 \"randomize assignment of wildcard ports\", SO_PORT_SCALABILITY"
    " 0x3006 \"enable port scalability\", SO_REUSE_UNICASTPORT 0x3007 \"defer ephemeral port"
    " allocation for outbound connections\"",
    "WINE_SOCK": "https://github.com/wine-mirror/wine/blob/3379ee2e6b5f610b9f82d31be9417095372ebc5e/"
    "dlls/ws2_32/tests/sock.c (Wine's Winsock tests, run on Windows 7 to 11 by the Wine project:"
    " an ok() without todo_wine states Windows' answer; each row names the function;"
    " tests/data/wine/corpus.json holds them as data)",
    "WINE_PROTOCOL": "https://github.com/wine-mirror/wine/blob/78b7d91137162a7d745ad05622b259fee8a7beb4/"
    "dlls/ws2_32/tests/protocol.c (test_startup)",
    "SOLSOCK": f"{_MS}winsock/sol-socket-socket-options (SOL_SOCKET socket options; the SOL_SOCKET"
    " options and their types; SO_REUSE_UNICASTPORT: \"When set, allow ephemeral port reuse for"
    " Winsock API connection functions which require an explicit bind, such as ConnectEx. Note that"
    " connection functions with an implicit bind (such as connect without an explicit bind) have"
    " this option set by default\"; SO_RANDOMIZE_PORT: \"Auto-reuse ports (ports selected"
    " using SO_REUSE_UNICASTPORT) also randomize the returned port, so if an application sets"
    " SO_REUSE_UNICASTPORT and then attempts to set SO_RANDOMIZE_PORT, the second setsockopt call"
    " fails\")",
    "PORTSCAL": f"{_MS}winsock/so-port-scalability (SO_PORT_SCALABILITY:"
    " \"allocating wildcard ports multiple times for different local address port pairs\")",
    "PS_TCPSETTING": "https://learn.microsoft.com/powershell/module/nettcpip/set-nettcpsetting"
    " (Set-NetTCPSetting, -AutoReusePortRangeStartPort and -AutoReusePortRangeNumberOfPorts: \"the"
    " auto-reuse port range, which is a port range used for local ephemeral port selection by"
    " outbound TCP connections for which either SO_REUSE_UNICASTPORT has been set on the socket,"
    " or for which connect() has been called without calling bind() on the socket\"; MicrosoftDocs/"
    "windows-powershell-docs docset/winserver2022-ps/nettcpip/Set-NetTCPSetting.md)",
    "DOTNET_48219": "https://github.com/dotnet/runtime/issues/48219 (a .NET networking maintainer:"
    " with SO_REUSE_UNICASTPORT \"socket.Bind() will not allocate a local port, instead, actual"
    " port allocation will be deferred until the ConnectEx call, allowing local port reuse\")",
    "DOTNET_54903": "https://github.com/dotnet/runtime/pull/54903 (the change that sets"
    " SO_REUSE_UNICASTPORT before .NET's implicit bind: its test shows port reuse \"if and only"
    " if\" the auto reuse port range is configured with Set-NetTCPSetting and the PC is"
    " rebooted)",
    "DOTNET_109141": "https://github.com/dotnet/runtime/issues/109141 (a .NET networking"
    " maintainer: \"Port reuse can help if you're talking to multiple different servers, it won't"
    " do anything if you're only establishing connections to a single server\")",
    "DOTNET_OPTTEST": "https://github.com/dotnet/runtime/blob/main/src/libraries/System.Net.Sockets/"
    "tests/FunctionalTests/SocketOptionNameTest.cs (ReuseUnicastPort_CreateSocketGetOption: a new"
    " TCP socket reads 0 on Windows 10 and later)",
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
    "NETSH_SAMPLES": "tests/data/netsh/ (real netsh output in several languages, pasted by real"
    " users; README.md lists each sample's public source, NN.json its rows read by hand)",
    "WILD_OBS": "docs/observations.md (reports from real machines, each with its public address,"
    " by section §A-§G)",
    # Cross-references only.
    "DOSSIER": "D-Rnn and D-Qnn are rule nn and open question nn of the project's research notes,"
    " which are not published: cross-references only; a row that cites nothing else is an"
    " assumption (docs/evidence.md)",
    # Connections, TIME_WAIT and netstat (rules T1-T12, S1-S9).
    "KB314053": "https://learn.microsoft.com/troubleshoot/windows-client/networking/"
    "tcpip-and-nbt-configuration-parameters (KB 314053, the TCP/IP parameters of Windows XP and"
    " Server 2003: TcpTimedWaitDelay \"Valid range: 30-300 (decimal)\", \"Default: 0x78 (120"
    " decimal)\", \"As long as a connection is in the TIME_WAIT state, the socket pair cannot be"
    " re-used\"; Windows 2000's default was 240 seconds)",
    "KB196271": "https://learn.microsoft.com/troubleshoot/windows-client/networking/"
    "connect-tcp-greater-than-5000-error-wsaenobufs-10055 (KB 196271: \"You receive the error"
    " 'WSAENOBUFS (10055)' when you try to connect\" once the ephemeral ports are used up; \"An"
    " additional TCPTimedWaitDelay registry parameter determines how long a closed port waits until"
    " the closed port can be reused\")",
    "RFC793": "https://www.rfc-editor.org/rfc/rfc793 (TCP, section 3.5 \"Closing a Connection\":"
    " the side that closes first goes FIN-WAIT-1, FIN-WAIT-2, then TIME-WAIT for 2 MSL; the"
    " other CLOSE-WAIT until it closes, then LAST-ACK until its FIN is acknowledged)",
    "LISTEN": f"{_API}winsock2/nf-winsock2-listen (listen)",
    "ACCEPT": f"{_API}winsock2/nf-winsock2-accept (accept)",
    "CLOSESOCKET": f"{_API}winsock/nf-winsock-closesocket (closesocket)",
    "LINGER": f"{_API}winsock/ns-winsock-linger (LINGER: u_short l_onoff, u_short l_linger)",
    "NETSTAT_DOC": "https://learn.microsoft.com/windows-server/administration/windows-commands/"
    "netstat (-a, -n, -o; the TCP states)",
    "LIBUV_1360": "https://github.com/joyent/libuv/pull/1360 (a libuv maintainer: on Windows"
    " \"sockets in TIME_WAIT are not checked when binding\"; \"You can use SO_EXCLUSIVEADDRUSE to"
    " prevent that, but then sockets in TIME_WAIT state are also checked\")",
    "LIBUV_1379": "https://github.com/joyent/libuv/pull/1379 (rebinding a port at once: always"
    " works on Windows 7, fails now and then on Windows 8)",
    "CURL_8528": "https://github.com/curl/curl/pull/8528 (\"As long as a connection is in the"
    " TIME_WAIT state, the socket pair cannot be re-used, BUT bind() still returns 0\"; the"
    " connect then fails: https://github.com/curl/curl/issues/8112)",
    "WASI_87": "https://github.com/WebAssembly/wasi-sockets/pull/87 (binding a port in TIME_WAIT"
    " without SO_REUSEADDR: \"On Windows this is the default behavior and can't be opted out"
    " of\")",
    "TRIO_EXCL": "python-trio/trio notes-to-self/time-wait-windows-exclusiveaddruse.py (run on"
    " Windows: SO_EXCLUSIVEADDRUSE \"only creates conflicts between listening sockets, *not*"
    " lingering connected sockets\"; https://github.com/python-trio/trio/issues/928)",
    "NETSTAT_ZH": "https://github.com/billfeller/billfeller.github.io/issues/174 (zh-CN"
    " netstat -ano pasted: TIME_WAIT rows with PID 0, the states in English)",
    "NETSTAT_UDP": "https://github.com/ohadravid/netstat2-rs/issues/7 (netstat -a -p udp pasted:"
    " UDP rows with *:*, a connected UDP row with its peer)",
}
