"""portpool.windows_code: the Windows code of any caught exception, on every OS."""

from __future__ import annotations

import socket
import sys

import pytest

import portpool
from portpool import EmulatedHost, PortPoolError, Protocol, WinError, windows_code, winerror

from ._wctypes import wctypes


def test_portpool_errors_give_their_code_as_a_plain_int() -> None:
    code = windows_code(winerror(WinError.WSAEADDRINUSE, "port 9000"))
    assert code == 10048 and type(code) is int


def test_a_refusal_of_the_model_gives_its_code() -> None:
    host = EmulatedHost(seed=1)
    host.exclude(Protocol.TCP, 50000, 100)
    with pytest.raises(PortPoolError) as refused:
        host.process().socket().bind(("0.0.0.0", 50001))
    assert windows_code(refused.value) == WinError.WSAEACCES


@pytest.mark.rule("X2")
def test_the_patch_s_errors_give_their_code_on_every_os() -> None:
    with portpool.patch() as host:
        host.exclude(Protocol.TCP, 50000, 100)
        with pytest.raises(PermissionError) as refused, socket.socket() as sock:
            sock.bind(("0.0.0.0", 50000))
        assert windows_code(refused.value) == 10013
        assert windows_code(wctypes.WinError(10048)) == 10048


def test_codes_portpool_does_not_list_are_given_too() -> None:
    assert windows_code(PortPoolError(12345)) == 12345


@pytest.mark.skipif(sys.platform == "win32", reason="on Windows OSError has its own winerror")
def test_an_error_of_linux_carries_no_windows_code() -> None:
    assert windows_code(PermissionError(13, "Permission denied")) is None
    assert windows_code(OSError(13, "Permission denied", None, 10013)) is None  # ignored off Windows


@pytest.mark.skipif(sys.platform != "win32", reason="Python sets OSError.winerror on Windows only")
def test_python_s_own_windows_errors_give_their_code() -> None:
    assert windows_code(OSError(None, "x", None, 10048)) == 10048
    assert windows_code(PermissionError(13, "Permission denied")) is None


@pytest.mark.parametrize("error", [ValueError("x"), KeyboardInterrupt(), OSError()])
def test_other_exceptions_carry_none(error: BaseException) -> None:
    assert windows_code(error) is None


def test_a_winerror_that_is_no_code_is_not_taken_for_one() -> None:
    odd = OSError(13, "x")
    # setattr: someone's own attribute of a type no platform's typeshed allows
    setattr(odd, "winerror", "10013")  # noqa: B010
    assert windows_code(odd) is None
    setattr(odd, "winerror", True)  # noqa: B010
    assert windows_code(odd) is None


def test_the_name_is_public_and_not_the_factory() -> None:
    assert "windows_code" in portpool.__all__
    assert portpool.windows_code is windows_code
    assert isinstance(portpool.winerror(10013), PortPoolError)  # the factory keeps its name
