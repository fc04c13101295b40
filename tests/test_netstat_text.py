"""netstat's text both ways: printing as Windows prints it, reading it in any language, and
a machine made from a real machine's netstat output (rule T12)."""

from __future__ import annotations

from pathlib import Path

import pytest

from portpool import EmulatedHost, Family, Protocol
from portpool.netstat import NetstatParseError, NetstatRow, TcpState, parse, render, render_row

rule = pytest.mark.rule
DATA = Path(__file__).parent / "data" / "netstat"
TCP, UDP = Protocol.TCP, Protocol.UDP

# de-DE and fr-FR output in the shape Windows prints it; the German state words are the
# ones LOCALIZED_STATES knows (ABHÖREN, HERGESTELLT, WARTEND, SCHLIESSEN_WARTEN), the
# French title and header those of fr-FR pastes (states stay English there).
GERMAN = """
Aktive Verbindungen

  Proto  Lokale Adresse          Remoteadresse          Status           PID
  TCP    0.0.0.0:135            0.0.0.0:0              ABHÖREN         1052
  TCP    10.0.0.7:8080          10.0.0.9:52113         WARTEND         0
  TCP    10.0.0.7:52000         13.107.5.93:443        HERGESTELLT     2000
  TCP    10.0.0.7:52001         13.107.5.93:443        SCHLIESSEN_WARTEN  2000
  TCP    [::]:135               [::]:0                 ABHÖREN         1052
  UDP    [::]:500               *:*                                    3412
"""
FRENCH = """PS C:\\Users\\x> netstat -ano
Connexions actives

  Proto  Adresse locale         Adresse distante       État
  TCP    0.0.0.0:80             0.0.0.0:0              LISTENING       4
  TCP    10.33.16.79:62306      104.199.65.124:4070    ESTABLISHED     7920
  TCP    127.0.0.1:61810        127.0.0.1:9010         SYN_SENT        3100
"""


@rule("T12")
def test_real_zh_cn_output_reads() -> None:
    rows = parse((DATA / "zh-CN-ano.txt").read_text(encoding="utf-8"))
    assert rows == (
        NetstatRow(TCP, Family.INET, "127.0.0.1", 8411, "127.0.0.1", 58296, TcpState.TIME_WAIT, 0,
                   "TIME_WAIT"),
        NetstatRow(TCP, Family.INET, "127.0.0.1", 8411, "127.0.0.1", 58298, TcpState.TIME_WAIT, 0,
                   "TIME_WAIT"))


@rule("T12")
def test_real_udp_output_without_pids_reads() -> None:
    rows = parse((DATA / "en-udp-a.txt").read_text(encoding="utf-8"))
    assert [(r.local_port, r.remote_host, r.remote_port, r.pid) for r in rows] == [
        (123, None, None, None), (3702, None, None, None), (3702, None, None, None),
        (5050, None, None, None), (5353, None, None, None), (50127, "0.0.0.94", 443, None)]
    assert all(r.protocol is UDP and r.state is None for r in rows)


@rule("T12")
def test_translated_states_read_and_listening_is_told_by_port_0() -> None:
    rows = parse(GERMAN)
    assert [(r.local_port, r.state, r.pid) for r in rows] == [
        (135, TcpState.LISTENING, 1052), (8080, TcpState.TIME_WAIT, 0),
        (52000, TcpState.ESTABLISHED, 2000), (52001, TcpState.CLOSE_WAIT, 2000),
        (135, TcpState.LISTENING, 1052), (500, None, 3412)]
    assert rows[4].family is Family.INET6 and rows[4].local_host == "::"
    french = parse(FRENCH)
    assert [r.state for r in french] == [TcpState.LISTENING, TcpState.ESTABLISHED,
                                         TcpState.SYN_SENT]
    unknown = parse("  TCP    10.0.0.7:5000          10.0.0.9:80            ZUSTAND_X       12\n")
    assert unknown[0].state is None and unknown[0].state_text == "ZUSTAND_X"


@rule("T12")
@pytest.mark.parametrize(("text", "reason"), [
    ("Active Connections\n\n  Proto  Local Address\n", "no TCP or UDP row"),
    ("  TCP    MYPC:135               MYPC:0                 LISTENING\n", "a name, not an address"),
    ("  TCP    0.0.0.0:135\n", "a local and a foreign address"),
    ("  TCP    0.0.0.0:135            0.0.0.0:0\n", "a foreign address and a state"),
    ("  UDP    0.0.0.0:500            *:*             LISTENING  4\n", "a UDP row has no state"),
    ("  TCP    0.0.0.0:70000          0.0.0.0:0              LISTENING  4\n", "past 65535"),
    ("  TCP    [zz]:80                [::]:0                 LISTENING  4\n", "not an IPv6 address"),
    ("  TCP    *:*                    0.0.0.0:0              LISTENING  4\n", "cannot be *:*"),
    ("  TCP    0.0.0.0:80             [::]:0                 LISTENING  4\n", "different IP versions"),
])
def test_text_that_is_not_netstat_output_is_refused(text: str, reason: str) -> None:
    with pytest.raises(NetstatParseError) as info:
        parse(text)
    assert reason in str(info.value)


@rule("T12")
def test_render_matches_the_real_layout_and_reads_back() -> None:
    zh = parse((DATA / "zh-CN-ano.txt").read_text(encoding="utf-8"))
    text = render(zh)
    # The rows are byte for byte those of the paste (the title and header in English).
    real = (DATA / "zh-CN-ano.txt").read_text(encoding="utf-8").splitlines()[-2:]
    assert text.splitlines()[-2:] == real
    assert text.startswith("\nActive Connections\n\n  Proto  Local Address          Foreign Address"
                           "        State           PID\n")
    assert parse(text) == zh
    german = parse(GERMAN)
    assert parse(render(german)) == tuple(r._replace(state_text=r.state.value if r.state else "")
                                          for r in german)
    # A scoped IPv6 address longer than the column pushes the row right, two spaces apart.
    long = NetstatRow(TCP, Family.INET6, "fe80::3c7a:339:64f0:2161%11", 1521,
                      "fe80::3c7a:339:64f0:2161%11", 51769, TcpState.ESTABLISHED, 4316)
    assert render_row(long) == ("  TCP    [fe80::3c7a:339:64f0:2161%11]:1521  [fe80::3c7a:339:64f0:"
                                "2161%11]:51769  ESTABLISHED     4316")


@rule("T12", "T8", "T5")
def test_a_machine_from_real_netstat_output_holds_its_sockets() -> None:
    host = EmulatedHost.from_netsh(netstat=GERMAN)
    rows = host.connections()
    assert [(r.protocol, r.local_host, r.local_port, r.state, r.pid) for r in rows] == [
        (TCP, "0.0.0.0", 135, "LISTENING", 1052), (TCP, "10.0.0.7", 8080, "TIME_WAIT", 0),
        (TCP, "10.0.0.7", 52000, "ESTABLISHED", 2000), (TCP, "10.0.0.7", 52001, "CLOSE_WAIT", 2000),
        (TCP, "::", 135, "LISTENING", 1052), (UDP, "::", 500, None, 3412)]
    assert parse(host.netstat()) == tuple(r._replace(state_text=r.state.value if r.state else "")
                                          for r in parse(GERMAN))
    why = host.explain(TCP, 8080)
    assert why.connections[0].state == "TIME_WAIT" and why.plain_bind is None  # T5
    pool = host.process()
    late = pool.socket()
    with pytest.raises(OSError, match="C1") as info:
        late.bind(("0.0.0.0", 135))  # the listener holds it (C1)
    assert getattr(info.value, "winerror", None) == 10048
    host.advance(host.time_wait_delay)
    assert host.explain(TCP, 8080).connections == ()
    # Rows netstat -o did not give PIDs for cannot make processes.
    with pytest.raises(ValueError, match="netstat -ano"):
        EmulatedHost.from_netsh(netstat=(DATA / "en-udp-a.txt").read_text(encoding="utf-8"))
    skipped = EmulatedHost.from_netsh(netstat=FRENCH).connections()
    assert "SYN_SENT" not in [r.state for r in skipped] and len(skipped) == 2
