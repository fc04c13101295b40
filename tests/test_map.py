"""``portpool map``: the SVG is valid XML and to scale (every position computed from ports),
the terminal rendering puts each block in the right cells, and hosts render in notebooks."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portpool import EmulatedHost, PortRange, Protocol
from portpool._teach._map import (
    FULL_SPACE,
    LEFT,
    MIN_WIDTH,
    PLOT_WIDTH,
    map_segments,
    port_x,
    render_svg,
    render_text,
)
from portpool.testing import strategies as pst

ROOT = Path(__file__).resolve().parent.parent
SVG = "{http://www.w3.org/2000/svg}"


def _rects(svg: str) -> list[ET.Element]:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return [r for r in root.iter(f"{SVG}rect") if "data-kind" in r.attrib]


def _busy_host() -> EmulatedHost:
    host = EmulatedHost.preset("hyperv", seed=4)
    app = host.process()
    app.socket().bind(("0.0.0.0", 3000))
    app.socket().acquire_port_reservation(40000, 10)
    return host


def test_port_x_is_the_linear_scale() -> None:
    assert port_x(1) == LEFT
    assert port_x(65536) == LEFT + PLOT_WIDTH  # the right edge of port 65535
    assert port_x(5357) == pytest.approx(LEFT + 5356 * PLOT_WIDTH / 65535)
    assert port_x(50000, PortRange(49152, 16384)) == pytest.approx(LEFT + 848 * PLOT_WIDTH / 16384)


@pytest.mark.parametrize("preset", ["default", "hyperv", "vs-runner"])
def test_svg_is_valid_and_every_rect_sits_where_its_ports_say(preset: str) -> None:
    host = EmulatedHost.preset(preset)
    rects = _rects(render_svg(host, (Protocol.TCP, Protocol.UDP)))
    assert rects
    for rect in rects:
        start, end = int(rect.attrib["data-start"]), int(rect.attrib["data-end"])
        x, width = float(rect.attrib["x"]), float(rect.attrib["width"])
        assert x == pytest.approx(port_x(start), abs=0.006)
        assert width == pytest.approx(max(port_x(end + 1) - port_x(start), MIN_WIDTH), abs=0.011)


def test_specific_rects_of_a_hyperv_machine() -> None:
    host = _busy_host()
    rects = {(r.attrib["data-kind"], int(r.attrib["data-start"])): r
             for r in _rects(render_svg(host, (Protocol.TCP,)))}
    http = rects[("system", 5357)]
    assert float(http.attrib["x"]) == pytest.approx(LEFT + (5357 - 1) * PLOT_WIDTH / 65535, abs=0.006)
    assert float(http.attrib["width"]) == MIN_WIDTH  # one port: drawn visible from its true x
    dynamic = rects[("dynamic-ipv4", 49152)]
    assert float(dynamic.attrib["x"]) == pytest.approx(LEFT + 49151 * PLOT_WIDTH / 65535, abs=0.006)
    assert float(dynamic.attrib["width"]) == pytest.approx(16384 * PLOT_WIDTH / 65535, abs=0.011)
    assert ("administered", 50000) in rects and ("runtime", 40000) in rects and ("bound", 3000) in rects
    assert float(rects[("bound", 3000)].attrib["x"]) == pytest.approx(port_x(3000), abs=0.006)


def test_every_row_and_socket_is_drawn() -> None:
    host = _busy_host()
    for protocol in Protocol:
        rects = _rects(render_svg(host, (protocol,)))
        spans = [(int(r.attrib["data-start"]), int(r.attrib["data-end"]), r.attrib["data-kind"])
                 for r in rects]
        for row in host.exclusions(protocol):
            assert any(s <= row.start and row.end <= e and k in {"system", "administered", "runtime"}
                       for s, e, k in spans), row
        for binding in host.bindings(protocol):
            assert (binding.port, binding.port, "bound") in spans


def test_a_window_clips_and_rescales() -> None:
    host = _busy_host()
    window = PortRange(49152, 16384)
    for rect in _rects(render_svg(host, (Protocol.TCP,), window)):
        start, end = int(rect.attrib["data-start"]), int(rect.attrib["data-end"])
        assert end >= window.start and start <= window.last  # nothing outside is drawn
        assert float(rect.attrib["x"]) == pytest.approx(port_x(max(start, window.start), window), abs=0.006)


def test_labels_name_owners_and_merge_adjacent_rows() -> None:
    host = EmulatedHost.preset("hyperv")
    segs = [s for s in map_segments(host, Protocol.TCP) if s.kind == "system"]
    rows = [r for r in host.exclusions(Protocol.TCP) if not r.administered]
    assert sum(s.rows for s in segs) == len(rows)
    assert any(s.rows > 1 and s.label.endswith(f"({s.rows} rows)") for s in segs)
    svg = render_svg(host, (Protocol.TCP,))
    for seg in segs:
        assert f">{seg.label}</text>" in svg
    assert "HTTP.sys 5357" in svg and "* 50000-50059" in svg


def test_repr_svg_draws_both_protocols() -> None:
    svg = EmulatedHost.preset("hyperv")._repr_svg_()
    assert "TCP ports 1-65535" in svg and "UDP ports 1-65535" in svg
    ET.fromstring(svg)


def test_the_readme_picture_is_current(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """docs/hyperv-map.svg is what the README's command draws now."""
    from portpool.__main__ import main

    target = tmp_path / "m.svg"
    assert main(["map", "--preset", "hyperv", "--protocol", "both", "--svg", str(target)]) == 0
    capsys.readouterr()
    expected = render_svg(EmulatedHost.preset("hyperv"), (Protocol.TCP, Protocol.UDP),
                          title="portpool map: a hyperv machine")
    assert target.read_text(encoding="utf-8") == expected
    assert (ROOT / "docs" / "hyperv-map.svg").read_text(encoding="utf-8") == expected


def _cell_of(line: str, port: int, window: PortRange, per: int) -> str:
    return line[14 + (port - window.start) // per]


@given(host=pst.emulated_hosts(), data=st.data())
@settings(max_examples=30, deadline=None)
def test_terminal_cells_show_the_blocks_in_them(host: EmulatedHost, data: st.DataObject) -> None:
    width = data.draw(st.integers(8, 120))
    window = data.draw(pst.port_ranges(within=FULL_SPACE))
    text = render_text(host, Protocol.TCP, window, width=width, rows=False)
    lines = text.splitlines()
    per = max(1, -(-window.count // width))
    dyn = host.dynamic_range(Protocol.TCP)
    for port in {window.start, window.last, dyn.start, dyn.last}:
        if port in window:
            cell_ports = range(window.start + (port - window.start) // per * per,
                               min(window.start + ((port - window.start) // per + 1) * per, window.last + 1))
            expected = "=" if any(p in dyn for p in cell_ports) else "."
            assert _cell_of(lines[2], port, window, per) == expected
    for row in host.exclusions(Protocol.TCP):
        if row.start in window and not row.administered:
            assert _cell_of(lines[4], row.start, window, per) in "Xr"


def test_terminal_colour_only_when_asked() -> None:
    host = EmulatedHost.preset("hyperv")
    plain = render_text(host, Protocol.TCP)
    coloured = render_text(host, Protocol.TCP, color=True)
    assert "\x1b" not in plain and "\x1b[31;1mX\x1b[0m" in coloured
    assert coloured.replace("\x1b[31;1m", "").replace("\x1b[34;1m", "").replace("\x1b[32m", "").replace(
        "\x1b[36m", "").replace("\x1b[0m", "") == plain


def test_terminal_width_is_checked() -> None:
    with pytest.raises(ValueError, match="at least 8"):
        render_text(EmulatedHost(), Protocol.TCP, width=7)
