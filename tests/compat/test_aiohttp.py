"""aiohttp's server, client and test utilities under the patch."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from portpool import EmulatedHost

from .conftest import DEADLINE, INSIDE, outside_rows, within

aiohttp = pytest.importorskip("aiohttp", reason="pip install 'portpool[compat]' for the matrix")
web = pytest.importorskip("aiohttp.web")
test_utils = pytest.importorskip("aiohttp.test_utils")

pytestmark = pytest.mark.portpool(preset="hyperv", seed=1)


async def hello(request: Any) -> Any:  # Any: the module is pytest.importorskip's
    return web.Response(text="aiohttp says hi")


def make_app() -> Any:  # Any: the module is pytest.importorskip's
    app = web.Application()
    app.router.add_get("/", hello)
    return app


def test_site_inside_winnat_gets_errno_13_as_on_windows(machine: EmulatedHost) -> None:
    async def main() -> None:
        runner = web.AppRunner(make_app())
        await runner.setup()
        try:
            await web.TCPSite(runner, "127.0.0.1", INSIDE).start()
        finally:
            await runner.cleanup()

    with pytest.raises(PermissionError) as info:
        within(DEADLINE, asyncio.run, main(), what="aiohttp on the excluded port")
    assert info.value.errno == 13 and "forbidden by its access permissions" in str(info.value)


def test_site_serves_the_client_and_cleans_up(machine: EmulatedHost) -> None:
    async def main() -> tuple[str, int]:
        runner = web.AppRunner(make_app())
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        try:
            async with aiohttp.ClientSession() as session, \
                    session.get(f"http://127.0.0.1:{port}/", timeout=aiohttp.ClientTimeout(5)) as reply:
                return await reply.text(), port
        finally:
            await runner.cleanup()

    text, port = within(DEADLINE, asyncio.run, main(), what="aiohttp")
    assert text == "aiohttp says hi"
    assert outside_rows(machine, port)


def test_test_client(machine: EmulatedHost) -> None:
    async def main() -> str:
        async with test_utils.TestServer(make_app(), host="127.0.0.1") as server, \
                test_utils.TestClient(server) as client:
            reply = await client.get("/")
            text: str = await reply.text()
            return text

    assert within(DEADLINE, asyncio.run, main(), what="aiohttp TestClient") == "aiohttp says hi"
