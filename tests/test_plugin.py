"""portpool's pytest plugin, run in a pytester sandbox: marker, ini options, fixtures."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

STRICT = ("--strict-markers", "-p", "no:cacheprovider", "-p", "no:randomly")


def outcome(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest(*STRICT, *args)


def test_marker_is_registered_for_strict_markers(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest

        @pytest.mark.portpool(seed=3)
        def test_marked(emulated_host):
            assert emulated_host is not None
    """)
    outcome(pytester).assert_outcomes(passed=1)
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["*@pytest.mark.portpool(seed=0, preset=None, admin=False, dynamic=None,"
                                 " variants=None, profile=None, auto_reuse=None)*"])


def test_marker_seed_preset_variants_dynamic(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest
        from portpool import EmulatedHost, PortRange, Protocol

        def first_block(host):
            with host.process() as app:
                return app.socket().acquire_port_reservation(0, 10).range

        @pytest.mark.portpool(seed=7)
        def test_seed(emulated_host):
            assert first_block(emulated_host) == first_block(EmulatedHost(seed=7))
            assert first_block(EmulatedHost(seed=7)) != first_block(EmulatedHost(seed=8))

        @pytest.mark.portpool(preset="hyperv", variants={"X15": "refused"})
        def test_preset_and_variants(emulated_host):
            assert emulated_host.machine.preset == "hyperv"
            assert emulated_host.variants["X15"] == "refused"
            assert any(row.owner == "WinNAT" for row in emulated_host.exclusions(Protocol.TCP))

        @pytest.mark.portpool(dynamic="10000-19999")
        def test_dynamic(emulated_host):
            assert emulated_host.dynamic_range(Protocol.UDP) == PortRange(10000, 10000)

        def test_defaults(emulated_host, portpool_settings):
            assert portpool_settings.seed == 0 and portpool_settings.preset is None
            assert emulated_host.dynamic_range(Protocol.TCP) == PortRange(49152, 16384)
    """)
    outcome(pytester).assert_outcomes(passed=4)


def test_closest_marker_wins_key_by_key(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest

        pytestmark = pytest.mark.portpool(seed=5, preset="hyperv", variants={"X14": "succeeds"})

        @pytest.mark.portpool(seed=9, variants={"X15": "refused"})
        def test_function_over_module(portpool_settings, emulated_host):
            assert portpool_settings.seed == 9
            assert portpool_settings.preset == "hyperv"
            assert emulated_host.variants["X15"] == "refused"

        def test_module(portpool_settings):
            assert portpool_settings.seed == 5
            assert dict(portpool_settings.variants) == {"X14": "succeeds"}
    """)
    outcome(pytester).assert_outcomes(passed=2)


def test_ini_options_configure_every_test(pytester: pytest.Pytester) -> None:
    pytester.makeini("""
        [pytest]
        portpool_seed = 4
        portpool_preset = vs-runner
        portpool_admin = true
        portpool_variants =
            X15=refused
            X13=hidden
    """)
    pytester.makepyfile("""
        import pytest

        def test_from_ini(portpool_settings, emulated_host, port_pool):
            assert portpool_settings.seed == 4
            assert emulated_host.machine.preset == "vs-runner"
            assert emulated_host.variants["X15"] == "refused"
            assert emulated_host.variants["X13"] == "hidden"
            assert port_pool.admin is True

        @pytest.mark.portpool(admin=False, variants={"X13": "listed"})
        def test_marker_over_ini(emulated_host, port_pool):
            assert port_pool.admin is False
            assert emulated_host.variants["X13"] == "listed"
            assert emulated_host.variants["X15"] == "refused"
    """)
    outcome(pytester, "--strict-config").assert_outcomes(passed=2)


def test_ini_profile_path_is_relative_to_the_ini_file(pytester: pytest.Pytester) -> None:
    import json

    from portpool._model._rules import ALTERNATIVES

    default, observed = ALTERNATIVES["X15"][0].name, ALTERNATIVES["X15"][-1].name
    assert default != observed
    (pytester.path / "machine.json").write_text(
        json.dumps({"results": {"X15": {"observed": observed}}}), encoding="utf-8")
    pytester.makeini("""
        [pytest]
        portpool_profile = machine.json
    """)
    pytester.mkdir("sub")
    pytester.makepyfile(**{"sub/test_profile": f"""
        def test_profile(emulated_host):
            assert emulated_host.variants["X15"] == {observed!r}
    """})
    outcome(pytester, "sub").assert_outcomes(passed=1)


@pytest.mark.parametrize(("ini", "message"), [
    ("portpool_seed = nine", "portpool_seed*not an integer"),
    ("portpool_dynamic = 10000", "portpool_dynamic*START-END"),
    ("portpool_variants = X15", "portpool_variants*RULE=alternative"),
])
def test_bad_ini_values_are_usage_errors(pytester: pytest.Pytester, ini: str, message: str) -> None:
    pytester.makeini(f"[pytest]\n{ini}\n")
    pytester.makepyfile("def test_it(emulated_host):\n    pass\n")
    result = outcome(pytester)
    assert result.ret != 0
    result.stderr.fnmatch_lines([f"*{message}*"])


def test_bad_marker_arguments_fail_the_test_clearly(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest

        @pytest.mark.portpool(sead=1)
        def test_typo(emulated_host):
            pass

        @pytest.mark.portpool(1)
        def test_positional(emulated_host):
            pass

        @pytest.mark.portpool(admin="yes")
        def test_admin(port_pool):
            pass
    """)
    result = outcome(pytester)
    result.assert_outcomes(errors=3)
    result.stdout.fnmatch_lines(["*unknown option(s) sead*", "*keyword arguments only*",
                                 "*admin=...) must be True or False*"])


@pytest.mark.parametrize("backend", ["emulated", "ctypes"])
def test_every_fixture_of_a_test_shares_one_machine(pytester: pytest.Pytester, backend: str) -> None:
    pytester.makepyfile("""
        import socket
        from portpool import Protocol

        def test_shared(emulated_host, port_pool, admin_port_pool, portpool_patch):
            assert portpool_patch is emulated_host
            s = port_pool.socket()
            s.bind(("127.0.0.1", 0))
            a = admin_port_pool.socket()
            a.bind(("127.0.0.1", 0))
            py = socket.socket()
            py.bind(("127.0.0.1", 0))
            ports = {b.port for b in emulated_host.bindings(Protocol.TCP)}
            assert {s.getsockname()[1], a.getsockname()[1], py.getsockname()[1]} == ports
            assert len({b.pid for b in emulated_host.bindings(Protocol.TCP)}) == 3
            py.close()
    """)
    outcome(pytester, f"--portpool-backend={backend}").assert_outcomes(passed=1)


def test_windows_backend_skips_tests_that_would_get_two_machines(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        def test_host_and_pool(emulated_host, port_pool):
            pass

        def test_patch_and_admin_pool(portpool_patch, admin_port_pool):
            pass

        def test_factory_and_pool(emulated_host_factory, port_pool):
            pass

        def test_host_alone(emulated_host, portpool_patch):
            assert portpool_patch is emulated_host
    """)
    result = outcome(pytester, "--portpool-backend=windows", "-rs")
    result.assert_outcomes(skipped=3, passed=1)
    result.stdout.fnmatch_lines(["*a test gets one machine*"])


def test_patch_fixture_patches_for_the_test_and_restores(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import ctypes
        import socket
        import pytest
        from portpool import Protocol

        REAL = socket.socket

        @pytest.mark.portpool(admin=True)
        def test_patched(portpool_patch):
            with socket.socket() as sock:
                assert type(sock) is not REAL
            iphlpapi = ctypes.WinDLL("iphlpapi")
            token = ctypes.c_uint64()
            assert iphlpapi.CreatePersistentTcpPortReservation(
                socket.htons(3000), 10, ctypes.byref(token)) == 0
            (row,) = portpool_patch.reservations(Protocol.TCP)
            assert (row.range.start, row.token) == (3000, token.value)

        def test_after():
            with socket.socket() as sock:
                assert type(sock) is REAL
    """)
    outcome(pytester).assert_outcomes(passed=2)


def test_fault_injection_through_the_fixture(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import ctypes
        import socket
        from portpool import WinError

        def test_injected(portpool_patch):
            portpool_patch.calls.fail_next("CreatePersistentTcpPortReservation",
                                           WinError.ERROR_NOT_SUPPORTED)
            token = ctypes.c_uint64()
            result = ctypes.windll.iphlpapi.CreatePersistentTcpPortReservation(
                socket.htons(3000), 10, ctypes.byref(token))
            assert result == int(WinError.ERROR_NOT_SUPPORTED)
    """)
    outcome(pytester).assert_outcomes(passed=1)


def test_given_with_the_factory_fixture(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest
        from hypothesis import HealthCheck, given, settings, strategies as st
        from portpool import Protocol

        @pytest.mark.portpool(preset="hyperv")
        @settings(max_examples=5, suppress_health_check=[HealthCheck.function_scoped_fixture])
        @given(seed=st.integers(0, 100))
        def test_fresh_machine_per_example(emulated_host_factory, seed):
            host = emulated_host_factory(seed=seed)
            assert host.machine.preset == "hyperv"
            with host.process() as app:
                port = app.socket().acquire_port_reservation(0, 10).range.start
            assert not any(row.start <= port <= row.end for row in host.exclusions(Protocol.TCP)
                           if row.owner == "WinNAT")
    """)
    outcome(pytester).assert_outcomes(passed=1)


def test_module_and_session_pools_follow_the_ini(pytester: pytest.Pytester) -> None:
    pytester.makeini("""
        [pytest]
        portpool_admin = true
        portpool_preset = hyperv
    """)
    pytester.makepyfile("""
        def test_module(port_pool_module):
            assert port_pool_module.admin is True
            assert port_pool_module.host.machine.preset == "hyperv"

        def test_session(port_pool_session):
            assert port_pool_session.admin is True
    """)
    outcome(pytester).assert_outcomes(passed=2)
