"""``portpool check``: port specs, compose and .env files, verdicts on emulated machines
(through the machine options and through the patch's seam), GitHub Actions annotations."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

import portpool
from portpool import EmulatedHost, Protocol
from portpool._realmachine._check import Needed, parse_spec, ports_from_file

from .test_cli_teach import run

COMPOSE = """\
services:
  web:
    image: nginx
    ports:
      - "8080:80"
      - 127.0.0.1:5432:5432
      - "5353:5353/udp"   # mDNS
      - 3000-3002:3000-3002
      - "9229"
  api:
    ports:
      - target: 80
        published: 50010
        protocol: tcp
      - target: 53
        published: "5300"
        protocol: udp
      - target: 81
        published: 7000
    environment:
      - API_PORT=9999
"""

ENV = """\
# ports
WEB_PORT=8081
export DB_PORT="5433"
NAME=x
SUPPORT=1
"""


def test_specs() -> None:
    assert parse_spec("8080") == [Needed(8080, Protocol.TCP)]
    assert parse_spec("5432/UDP") == [Needed(5432, Protocol.UDP)]
    assert [n.port for n in parse_spec("3000-3002")] == [3000, 3001, 3002]
    assert [(n.port, n.protocol) for n in parse_spec("53/both")] == [(53, Protocol.TCP), (53, Protocol.UDP)]
    for bad in ("0", "70000", "80/sctp", "3010-3000", "1024-9000", "x", "80:80"):
        with pytest.raises(ValueError, match=r"ports run 1-65535|write PORT|at most 4096"):
            parse_spec(bad)


def test_compose_and_env_files(tmp_path: Path) -> None:
    compose = tmp_path / "compose.yaml"
    compose.write_text(COMPOSE)
    found = [(n.port, n.protocol.name, n.line) for n in ports_from_file(str(compose))]
    assert found == [(8080, "TCP", 5), (5432, "TCP", 6), (5353, "UDP", 7), (3000, "TCP", 8),
                     (3001, "TCP", 8), (3002, "TCP", 8), (50010, "TCP", 13), (5300, "UDP", 16),
                     (7000, "TCP", 19)]
    env = tmp_path / ".env"
    env.write_text(ENV)
    assert [(n.port, n.line) for n in ports_from_file(str(env))] == [(8081, 2), (5433, 3)]
    bad = tmp_path / "bad.env"
    bad.write_text("X_PORT=99999\n")
    with pytest.raises(ValueError, match=r"bad\.env:1"):
        ports_from_file(str(bad))


@pytest.mark.rule("X2", "X15", "W1")
def test_verdicts_on_a_hyperv_machine(capsys: pytest.CaptureFixture[str]) -> None:
    host = EmulatedHost.preset("hyperv", seed=0)
    winnat = next(r for r in host.exclusions(Protocol.TCP) if r.owner == "WinNAT")
    status, out, err = run(capsys, "check", "8080", "5357", "50010", str(winnat.start), "60000/udp",
                           "--preset", "hyperv")
    lines = out.splitlines()
    assert status == 1 and lines[0] == "portpool check: 5 ports on a hyperv machine"
    assert lines[1].split()[:2] == ["8080/tcp", "ok"]
    assert lines[2].split()[:2] == ["5357/tcp", "BLOCKED"] and "HTTP.sys" in lines[2] and "[X2]" in lines[2]
    assert lines[3].split()[:2] == ["50010/tcp", "ok"] and "administered" in lines[3]
    assert lines[4].split()[:2] == [f"{winnat.start}/tcp", "BLOCKED"] and "WinNAT" in lines[4]
    assert lines[5].split()[:2] == ["60000/udp", "BLOCKED"] and "dynamic range" in lines[5]
    assert "2 blocked" not in err and "3 blocked" in err
    assert run(capsys, "check", "8080", "3000-3010/both", "--preset", "hyperv")[0] == 0


def test_under_the_patch_a_bound_port_is_blocked(capsys: pytest.CaptureFixture[str]) -> None:
    """The seam's path: the machine the code runs on (here the patched one)."""
    host = EmulatedHost(seed=1)
    holder = host.process().socket()
    holder.bind(("0.0.0.0", 8080))
    with portpool.patch(host):
        status, out, _ = run(capsys, "check", "8080", "8081")
    assert status == 1 and "8080/tcp   BLOCKED  in use: socket" in out and "8081/tcp   ok" in out
    assert "the emulated machine under portpool.patch()" in out.splitlines()[0]


def test_on_this_machine_only_a_test_bind_speaks(capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        busy = sock.getsockname()[1]
        status, out, _ = run(capsys, "check", str(busy))
    assert status == 1 and f"{busy}/tcp" in out and "in use now" in out


def test_files_by_default_and_actions_annotations(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "docker-compose.yml").write_text(COMPOSE)
    (tmp_path / ".env").write_text(ENV + "WSD_PORT=5357\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    status, out, _ = run(capsys, "check", "--preset", "hyperv")
    assert status == 1 and out.startswith("portpool check: 12 ports on a hyperv machine")
    assert "50010/tcp  ok       kept by the administered row" in out
    assert out.count("::error") == 1
    assert "::error file=.env,line=6,title=portpool check::5357/tcp: excluded" in out
    assert "5357/tcp   BLOCKED  excluded: inside the row 5357-5357 (HTTP.sys) [X2] (.env:6)" in out
    monkeypatch.setenv("GITHUB_ACTIONS", "false")
    assert "::error" not in run(capsys, "check", "--preset", "hyperv")[1]


def test_actions_annotation_of_a_blocked_port(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    compose = tmp_path / "compose.yaml"
    compose.write_text(textwrap.dedent("""\
        services:
          x:
            ports:
              - "5357:80"
        """))
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    status, out, _ = run(capsys, "check", "-f", str(compose), "--preset", "hyperv")
    assert status == 1
    assert (f"::error file={compose},line=4,title=portpool check::5357/tcp: excluded: inside the row"
            " 5357-5357 (HTTP.sys)") in out


@pytest.mark.parametrize(("argv", "message"), [
    (["check", "80:80"], "write PORT, PORT/udp"),
    (["check", "-f", "no-such-file.yml"], "--file no-such-file.yml"),
    (["check"], "no ports"),
])
def test_errors_are_one_line_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch, argv: list[str], message: str) -> None:
    monkeypatch.chdir(tmp_path)
    status, out, err = run(capsys, *argv)
    assert status == 2 and out == "" and message in err and err.count("\n") == 1
    assert os.listdir(tmp_path) == []
