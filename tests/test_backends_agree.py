"""The emulated backend and the ctypes backend over the emulated DLLs give identical
results, values and errors alike, for the same calls on identically seeded machines."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from portpool import EmulatedHost, PortPool, PortPoolError, Protocol
from portpool.backends.windows import WindowsPool

PORT = st.sampled_from([0, 1, 80, 5000, 5001, 5002, 49152, 65535, 65536, -1])
COUNT = st.sampled_from([0, 1, 2, 3, 100, 65535, 70000])
OPS = st.one_of(
    st.tuples(st.just("socket"), st.sampled_from([(2, 1, 0), (2, 2, 0), (23, 1, 0), (2, 3, 0),
                                                  (2, 1, 17), (99, 1, 0)])),
    st.tuples(st.just("acquire"), st.integers(0, 9), PORT, COUNT),
    st.tuples(st.just("associate"), st.integers(0, 9), st.integers(0, 9)),
    st.tuples(st.just("release"), st.integers(0, 9), st.integers(0, 9)),
    st.tuples(st.just("bind"), st.integers(0, 9), st.sampled_from(["", "127.0.0.1", "::1", "x"]), PORT),
    st.tuples(st.just("name"), st.integers(0, 9)),
    st.tuples(st.just("close"), st.integers(0, 9)),
    st.tuples(st.just("persistent"), st.sampled_from(["create", "lookup", "delete"]),
              st.sampled_from([Protocol.TCP, Protocol.UDP, 3]), PORT, COUNT),
)


def _run(pool: PortPool, ops: list[tuple[Any, ...]]) -> list[Any]:
    socks: list[Any] = []
    tokens: list[int] = [0x1234]
    out: list[Any] = []
    for op in ops:
        try:
            kind = op[0]
            if kind == "socket":
                socks.append(pool.socket(*op[1]))
                result: Any = "ok"
            elif not socks and kind in ("acquire", "associate", "release", "bind", "name", "close"):
                result = "skip"
            elif kind == "acquire":
                res = socks[op[1] % len(socks)].acquire_port_reservation(op[2], op[3])
                tokens.append(res.token)
                result = res
            elif kind in ("associate", "release"):
                sock = socks[op[1] % len(socks)]
                token = tokens[op[2] % len(tokens)]
                getattr(sock, f"{kind}_port_reservation")(token)
                result = "ok"
            elif kind == "bind":
                sock = socks[op[1] % len(socks)]
                address = (op[2], op[3]) if sock.family == 2 else (op[2], op[3], 0, 0)
                sock.bind(address)
                result = "ok"
            elif kind == "name":
                result = socks[op[1] % len(socks)].getsockname()
            elif kind == "close":
                socks[op[1] % len(socks)].close()
                result = "ok"
            else:
                fn = getattr(pool, f"{op[1]}_persistent_reservation")
                result = fn(op[2], op[3], op[4])
                if op[1] == "create":
                    tokens.append(result)
        except PortPoolError as exc:
            result = ("error", exc.winerror)
        except (TypeError, OverflowError) as exc:  # what Python decides: the same on both
            result = (type(exc).__name__, str(exc))
        out.append(result)
    return out


@settings(max_examples=300, deadline=None)
@given(st.lists(OPS, max_size=30), st.booleans())
def test_same_calls_same_results(ops: list[tuple[Any, ...]], admin: bool) -> None:
    emulated = _run(EmulatedHost(seed=4).process(admin=admin), ops)
    through_ctypes = _run(WindowsPool(dlls=EmulatedHost(seed=4).dlls(admin=admin)), ops)
    assert emulated == through_ctypes
