"""Shared helpers.  The fixtures emulated_host, port_pool and admin_port_pool come from
portpool's own pytest plugin (portpool/pytest_plugin.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from portpool import EmulatedHost, PortPoolError, WinError


class Refusals:
    """``refused(code, call)``: the call fails with ``code`` and changes nothing."""

    def __init__(self, host: EmulatedHost) -> None:
        self.host = host

    def __call__(self, code: WinError, call: Callable[[], Any], rule: str | None = None) -> PortPoolError:
        before = self.host.snapshot()
        with pytest.raises(PortPoolError) as info:
            call()
        assert info.value.winerror == int(code), str(info.value)
        assert info.value.name == code.name
        if rule is not None:
            assert f"[rule {rule}]" in str(info.value)
        assert self.host.snapshot() == before, "a refused call changed the machine"
        return info.value


@pytest.fixture
def refused(emulated_host: EmulatedHost) -> Refusals:
    return Refusals(emulated_host)
