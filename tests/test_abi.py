"""portpool/_abi.py against the real Windows headers (mingw-w64), for x86_64 and i686.

The C file is generated from the Python definitions: every struct size and field
offset (computed for the target's pointer size), every constant and error code, and
each prototype, assigned to an exactly typed function pointer under -Werror.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from portpool._winsock import _abi

pytestmark = pytest.mark.mingw

COMPILERS = {"x86_64": ("x86_64-w64-mingw32-gcc", 8), "i686": ("i686-w64-mingw32-gcc", 4)}
def _layout(ctype: Any, ptr: int) -> tuple[int, int]:
    """(size, alignment) of a ctypes type on a target with ``ptr``-byte pointers."""
    if ctype is ctypes.c_void_p:
        return ptr, ptr
    if isinstance(ctype, type) and issubclass(ctype, ctypes.Array):
        size, align = _layout(ctype._type_, ptr)
        length: int = getattr(ctype, "_length_")  # noqa: B009 - typeshed types it for instances only
        return size * length, align
    if isinstance(ctype, type) and issubclass(ctype, ctypes.Structure):
        _, size, align = _offsets(ctype, ptr)
        return size, align
    return ctypes.sizeof(ctype), ctypes.alignment(ctype)


def _offsets(struct: type[ctypes.Structure], ptr: int) -> tuple[list[tuple[str, int, Any]], int, int]:
    offset, align_max, out = 0, 1, []
    for name, ftype, *_ in struct._fields_:  # (name, type) or (name, type, bit width)
        if name in getattr(struct, "_pointer_sized_", ()):
            size, align = ptr, ptr
        else:
            size, align = _layout(ftype, ptr)
        offset = (offset + align - 1) // align * align
        out.append((name, offset, ftype))
        offset += size
        align_max = max(align_max, align)
    return out, (offset + align_max - 1) // align_max * align_max, align_max


# mingw's C header makes INET_PORT_RESERVATION_INSTANCE's members anonymous.
ANONYMOUS = {"INET_PORT_RESERVATION_INSTANCE"}


def _leaf_offsets(name: str, struct: type[ctypes.Structure], ptr: int) -> Iterator[tuple[str, int]]:
    fields, _, _ = _offsets(struct, ptr)
    for fname, off, ftype in fields:
        if fname.startswith("_"):
            continue
        if name in ANONYMOUS and isinstance(ftype, type) and issubclass(ftype, ctypes.Structure):
            for sub, suboff, _ in _offsets(ftype, ptr)[0]:
                yield sub, off + suboff
        else:
            yield fname, off


def generate(ptr: int, tamper: dict[str, int] | None = None) -> str:
    tamper = tamper or {}
    lines = [
        # mstcpip.h defines SIO_CPU_AFFINITY only for NTDDI_VERSION >= NTDDI_WIN10_VB (2004).
        "#define _WIN32_WINNT 0x0A00", "#define NTDDI_VERSION 0x0A000008",
        "#include <winsock2.h>", "#include <ws2tcpip.h>", "#include <ws2spi.h>",
        "#include <mstcpip.h>", "#include <iphlpapi.h>", "#include <stddef.h>",
        "#define SA _Static_assert",
    ]
    for cname, struct in _abi.STRUCTS.items():
        size = tamper.get(f"size:{cname}", _layout(struct, ptr)[0])
        lines.append(f'SA(sizeof({cname}) == {size}, "size of {cname}");')
        for field, offset in _leaf_offsets(cname, struct, ptr):
            expected = tamper.get(f"offset:{cname}.{field}", offset)
            lines.append(f'SA(offsetof({cname}, {field}) == {expected}, "{cname}.{field}");')
    lines.append(f'SA(sizeof(SOCKET) == {ptr}, "SOCKET");')
    for cname, value in _abi.CONSTANTS.items():
        expected = tamper.get(f"const:{cname}", value)
        lines.append(f'SA((long long)({cname}) == {expected}LL, "{cname}");')
    for proto in _abi.PROTOTYPES.values():
        params = ", ".join(c for _, _, c in proto.params) or "void"
        lines.append(f"typedef {proto.c_restype} (WINAPI *t_{proto.name})({params});")
        if proto.spi_type:
            lines.append(f"SA(__builtin_types_compatible_p(t_{proto.name}, {proto.spi_type}),"
                         f' "{proto.name}");')
        else:
            lines.append(f"static t_{proto.name} p_{proto.name} = {proto.name};")
        for pname, ptype, ctype_name in proto.params:
            pointer_sized = ctype_name == "SOCKET" or "*" in ctype_name or ctype_name.startswith(("LP", "P"))
            size = ptr if pointer_sized else _layout(ptype, ptr)[0]
            lines.append(f'SA(sizeof({ctype_name}) == {size}, "{proto.name}.{pname}");')
    return "\n".join(lines) + "\n"


def compile_c(arch: str, source: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    compiler, _ = COMPILERS[arch]
    exe = shutil.which(compiler)
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail(f"{compiler} is missing: .ci/run installs gcc-mingw-w64")
        pytest.skip(f"{compiler} not installed (apt-get install gcc-mingw-w64)")
    path = tmp_path / f"abi_{arch}.c"
    path.write_text(source)
    return subprocess.run([exe, "-fsyntax-only", "-Wall", "-Werror", "-Wno-unused-variable",
                           str(path)], capture_output=True, text=True, check=False)


@pytest.mark.parametrize("arch", sorted(COMPILERS))
def test_abi_matches_the_headers(arch: str, tmp_path: Path) -> None:
    result = compile_c(arch, generate(COMPILERS[arch][1]), tmp_path)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "tamper",
    [{"size:INET_PORT_RESERVATION_INSTANCE": 12}, {"offset:INET_PORT_RESERVATION_INSTANCE.Token": 4},
     {"const:SIO_ACQUIRE_PORT_RESERVATION": 0x98000065}, {"const:WSAEACCES": 10048},
     {"size:WSAOVERLAPPED": 24}],
)
def test_a_wrong_value_fails_the_check(tamper: dict[str, int], tmp_path: Path) -> None:
    result = compile_c("x86_64", generate(8, tamper), tmp_path)
    assert result.returncode != 0
    assert "static assertion failed" in result.stderr


def test_a_wrong_prototype_fails_the_check(tmp_path: Path) -> None:
    bad = generate(8).replace("typedef ULONG (WINAPI *t_DeletePersistentTcpPortReservation)(USHORT, USHORT)",
                              "typedef ULONG (WINAPI *t_DeletePersistentTcpPortReservation)(ULONG, USHORT)")
    assert bad != generate(8)
    result = compile_c("x86_64", bad, tmp_path)
    assert result.returncode != 0


def test_host_layout_agrees_with_ctypes() -> None:
    ptr = ctypes.sizeof(ctypes.c_void_p)
    for struct in _abi.STRUCTS.values():
        fields, size, _ = _offsets(struct, ptr)
        assert size == ctypes.sizeof(struct), struct
        for name, off, _ in fields:
            assert getattr(struct, name).offset == off


def test_issue7_names_are_part_of_the_check() -> None:
    """The option constants, the new error codes, SIO_CPU_AFFINITY and the four new
    prototypes all reach the generated C file, so the headers check them."""
    source = generate(8)
    for name in ("SOL_SOCKET", "SO_REUSEADDR", "SO_EXCLUSIVEADDRUSE", "IPPROTO_IPV6", "IPV6_V6ONLY",
                 "SIO_CPU_AFFINITY", "WSAENOPROTOOPT", "WSAEISCONN", "WSAENOTCONN",
                 "WSAEADDRNOTAVAIL"):
        assert f'"{name}");' in source, name
    for name in ("setsockopt", "getsockopt", "connect", "getpeername"):
        assert f"static t_{name} p_{name} = {name};" in source, name
    # The values, independently of the headers: winsock2.h's ~SO_REUSEADDR, and
    # _WSAIOW(IOC_VENDOR, 21) as windows-rs spells it (2550136853).
    assert (_abi.SO_EXCLUSIVEADDRUSE, _abi.SIO_CPU_AFFINITY) == (-5, 0x98000015)
    assert _abi.CONSTANTS["SO_EXCLUSIVEADDRUSE"] == ~_abi.CONSTANTS["SO_REUSEADDR"]


@pytest.mark.parametrize("tamper", [{"const:SIO_CPU_AFFINITY": 0x98000016},
                                    {"const:SO_EXCLUSIVEADDRUSE": 0xFFFFFFFB},
                                    {"const:IPV6_V6ONLY": 26}, {"const:WSAENOPROTOOPT": 10043}])
def test_a_wrong_issue7_constant_fails_the_check(tamper: dict[str, int], tmp_path: Path) -> None:
    result = compile_c("x86_64", generate(8, tamper), tmp_path)
    assert result.returncode != 0
    assert "static assertion failed" in result.stderr


@pytest.mark.parametrize(("arch", "name", "good", "bad"), [
    ("x86_64", "setsockopt", "SOCKET, int, int, const char *, int", "SOCKET, int, int, char *, int"),
    ("x86_64", "getsockopt", "SOCKET, int, int, char *, int *", "SOCKET, int, int, char *, int"),
    ("x86_64", "getpeername", "SOCKET, struct sockaddr *, int *", "SOCKET, struct sockaddr *, int"),
    ("i686", "connect", "SOCKET, const struct sockaddr *, int",
     "SOCKET, const struct sockaddr *, short"),
])
def test_a_wrong_issue7_prototype_fails_the_check(arch: str, name: str, good: str, bad: str,
                                                  tmp_path: Path) -> None:
    source = generate(COMPILERS[arch][1])
    typedef = f"typedef int (WINAPI *t_{name})"
    assert f"{typedef}({good});" in source
    result = compile_c(arch, source.replace(f"{typedef}({good});", f"{typedef}({bad});"), tmp_path)
    assert result.returncode != 0
