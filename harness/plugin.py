"""pytest plugin (pytest11 entry point `android_harness`): options, the device pool, markers,
the report header and the failure reports; the fixtures are in harness.fixtures.

Thin by design: options are resolved by harness.options, devices come from a farm lease
(harness.farm: an xdist worker, or --farm) or else from `acquire_devices()`, `requires` markers
are parsed by harness.markers, and a failed device test is explained (known regression, failing
layer, evidence) by harness.outcome. With pytest-xdist installed, harness.farm.xdist's controller
hooks are registered too.

With no device named, the session starts the embedded virtual device (profile from --profile)
behind a private adb server, once it knows a collected test needs a device, and stops both when
the session ends, also on Ctrl-C.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pytest

from harness import farm, fixtures, outcome
from harness.device import BOOT_TIMEOUT, Device
from harness.errors import BadConfiguration, DeviceLost, HarnessError, RootUnavailable
from harness.fixtures import REGISTRY, REQUIREMENTS, SESSION_NOTES, uses_harness_devices
from harness.logs.signatures import load_registry
from harness.markers import RequiresError, parse_requires
from harness.options import HarnessOptions, RawSources, from_environment, resolve
from harness.signals import terminate_like_ctrl_c
from harness.yamlcheck import ConfigError

if TYPE_CHECKING:
    from harness.embedded import EmbeddedDevices
    from harness.farm.worker import LeasedDevices

FIXTURES_PLUGIN = "android_harness_fixtures"
OPTIONS = pytest.StashKey[HarnessOptions]()
POOL = pytest.StashKey["DevicePool | HarnessError"]()

MARKERS = (
    "needs_root: the test needs root on the device; the device fixture gets it (adb root or su) "
    "or skips the test when the device cannot be rooted",
    "requires(root=, container=, android=, tool=, netd_networks=, ndc=, ethernet=, ethernet_service=, "
    "restart=): skip the test, with the reasons, on a device that lacks one of these (see harness.markers)",
    "restarts: the test restarts the device (given to every test using the `restart` fixture); "
    "deselect with -m 'not restarts'",
    "slow: the test takes long (e.g. loops restarts); deselect with -m 'not slow'",
    farm.RETRY_MARKER,
)


@dataclass
class DevicePool:
    devices: list[Device]
    embedded: EmbeddedDevices | LeasedDevices | None = None   # started (or leased) for this pool, stopped by close()
    header: list[str] = field(default_factory=list)

    def close(self) -> None:
        embedded, self.embedded = self.embedded, None
        if embedded is not None:
            embedded.stop()


def acquire_devices(options: HarnessOptions) -> DevicePool:
    """The devices of this session: the embedded virtual device, or the named serials on the
    given (or default) adb server, each online with sys.boot_completed=1."""
    if options.embedded:
        from harness.embedded import EmbeddedDevices     # imports the virtual device: only when used
        address = options.adb_server.value
        lab = EmbeddedDevices(options.profile.value, adb_address=str(address) if address else None,
                              clock_scale=options.clock_scale.value)
        lab.start()
        pool = DevicePool(lab.devices(), embedded=lab)
    else:
        from harness.adb_server import AdbServer
        server = AdbServer.attach(str(options.adb_server_address))
        profile = options.profile.value if options.profile.source != "default" else None
        pool = DevicePool([Device(s, server, profile=profile) for s in options.serials.value])
    try:
        for device in pool.devices:
            _check_present(device, options)
            device.wait_for_boot(BOOT_TIMEOUT)
        pool.header = [_describe(device) for device in pool.devices]
    except BaseException:
        pool.close()
        raise
    return pool


def _check_present(device: Device, options: HarnessOptions) -> None:
    if device.state() != "absent":
        return
    if device.is_tcp:
        try:
            device.reconnect()       # an `adb connect` device this server has not seen yet
            return
        except DeviceLost:
            pass
    raise BadConfiguration(f"serial {device.serial!r} (from {options.serials.source}): no such device on the "
                           f"adb server at {device.host}:{device.port} (see `adb -P {device.port} devices`)")


def _describe(device: Device) -> str:
    try:
        build = device.build
        what = f"{build.model}, Android {build.release} (sdk {build.sdk})"
    except HarnessError as e:
        what = f"build unknown ({e.message})"
    profile = device.profile or "none"
    return f"android device {device.serial}: {what}, profile {profile}"


# -- hooks ------------------------------------------------------------------------------------

def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("android", "Android device harness")
    group.addoption("--serial", action="append", dest="android_serial", default=None, metavar="SERIAL",
                    help="device to test (repeatable); env ANDROID_SERIAL, ini android_serial. "
                         "Default: start the embedded virtual device")
    group.addoption("--adb-server", dest="android_adb_server", default=None, metavar="HOST:PORT",
                    help="adb server to use; env ANDROID_ADB_SERVER_HOST/ANDROID_ADB_SERVER_PORT, ini adb_server. "
                         "Default: 127.0.0.1:5037 with --serial, a private server for the embedded device")
    group.addoption("--profile", dest="android_profile", default=None, metavar="NAME|PATH",
                    help="device profile (device_profiles/NAME.yaml or a path); env HARNESS_PROFILE, "
                         "ini device_profile. Default: sim-android-8.1-buggy for the embedded device")
    group.addoption("--sim-clock-scale", dest="android_sim_clock_scale", default=None, metavar="X",
                    help="device seconds per host second of the embedded virtual device (0.25: four times "
                         "faster); env HARNESS_SIM_CLOCK_SCALE, ini sim_clock_scale. Default: its profile's")
    parser.addini("android_serial", "devices to test (whitespace-separated serials)", type="args", default=[])
    parser.addini("adb_server", "adb server HOST:PORT", default="")
    parser.addini("device_profile", "device profile name or path", default="")
    parser.addini("sim_clock_scale", "clock scale of the embedded virtual device", default="")
    farm.add_options(parser)


@pytest.hookimpl(wrapper=True)
def pytest_cmdline_main(config: pytest.Config):  # type: ignore[no-untyped-def]
    """Before xdist reads `-n auto` (its hook is tryfirst, a wrapper comes before it)."""
    if config.pluginmanager.hasplugin("xdist"):
        from harness.farm.xdist import PLUGIN_NAME, XdistFarm
        config.pluginmanager.register(XdistFarm(config), PLUGIN_NAME)
    return (yield)


def pytest_configure(config: pytest.Config) -> None:
    terminate_like_ctrl_c()        # SIGTERM tears the session down like Ctrl-C: devices, adb server
    for marker in MARKERS:
        config.addinivalue_line("markers", marker)
    # The fixtures live in their own module, registered with (and only with) this plugin.
    if not config.pluginmanager.is_registered(fixtures):
        config.pluginmanager.register(fixtures, FIXTURES_PLUGIN)
    config.stash[OPTIONS] = harness_options(config)


def harness_options(config: pytest.Config) -> HarnessOptions:
    """The options, resolved (pytest.UsageError with one line for a bad one)."""
    raw = RawSources(cli_serials=config.getoption("android_serial"),
                     cli_adb_server=config.getoption("android_adb_server"),
                     cli_profile=config.getoption("android_profile"),
                     env=from_environment(),
                     ini_serials=list(config.getini("android_serial")),
                     ini_adb_server=str(config.getini("adb_server")),
                     ini_profile=str(config.getini("device_profile")),
                     cli_clock_scale=config.getoption("android_sim_clock_scale"),
                     ini_clock_scale=str(config.getini("sim_clock_scale")))
    try:
        options = resolve(raw)
        if options.embedded or options.profile.source != "default":
            from harness.embedded import check_profile
            check_profile(options.profile.value)
    except BadConfiguration as e:
        raise pytest.UsageError(" ".join(e.message.splitlines())) from None
    return options


def pytest_report_header(config: pytest.Config) -> list[str]:
    options = config.stash.get(OPTIONS, None)
    return options.header_lines() if options else []


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Parse every `requires` marker now (a malformed one stops the run naming the test), and mark
    tests that use the `restart` fixture as `restarts` (before -m deselects)."""
    for item in items:
        requirements: dict[str, object] = {}
        for mark in reversed(list(item.iter_markers("requires"))):     # the closest mark wins
            try:
                requirements.update(parse_requires(mark.args, mark.kwargs, item.nodeid))
            except RequiresError as e:
                raise pytest.UsageError(str(e)) from None
        if requirements:
            item.stash[REQUIREMENTS] = requirements
        if "restart" in getattr(item, "fixturenames", ()) and item.get_closest_marker("restarts") is None:
            item.add_marker("restarts")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """Acquire the devices before the first test when one needs them, so the header can name them
    and a bad serial stops the run at once instead of failing every test."""
    config = session.config
    if config.option.collectonly or OPTIONS not in config.stash:
        return
    if not any(uses_harness_devices(item) for item in session.items):
        return
    try:
        config.stash[REGISTRY] = load_registry()
    except ConfigError as e:
        raise pytest.UsageError(f"known-regression signatures: {'; '.join(str(e).splitlines())}") from None
    if hasattr(config, "workerinput"):
        return      # an xdist worker leases at its first device test: no lease held up collection, a failed one fails tests
    try:
        _pool(config)
    except BadConfiguration as e:
        raise pytest.UsageError(e.message) from None
    except HarnessError as e:
        pytest.exit(f"android devices unavailable: {e}", returncode=pytest.ExitCode.INTERNAL_ERROR)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    for note in config.stash.get(SESSION_NOTES, []):
        terminalreporter.write_line(f"android: {note}")


def pytest_report_collectionfinish(config: pytest.Config) -> list[str]:
    pool = config.stash.get(POOL, None)
    return pool.header if isinstance(pool, DevicePool) else []


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    """A failed device test, explained: `KNOWN <signature>: <layer> ...` when its logcat excerpt
    shows a known regression, and the evidence as report sections (and Allure attachments)."""
    analysis = None
    evidence = item.stash.get(outcome.EVIDENCE, None)
    error = call.excinfo.value if call.excinfo is not None else None
    if evidence is not None and error is not None and not isinstance(error, _NOT_FAILURES):
        analysis = outcome.analyse(evidence, error)
        allure = _allure(item.config)
        if allure is not None:
            outcome.note_on_exception(error, analysis)
    report = yield
    if analysis is not None and report.failed:
        outcome.label_report(report, item, analysis)
        allure = _allure(item.config)
        if allure is not None:
            outcome.attach_to_allure(allure, analysis)
    return report


# Outcomes that are not a test failing (pytest.fail's exception is a failure and is explained).
_NOT_FAILURES = (pytest.skip.Exception, pytest.xfail.Exception, pytest.exit.Exception, KeyboardInterrupt, SystemExit)


def _allure(config: pytest.Config):
    """The allure module when allure-pytest records this run (--alluredir), else None."""
    if config.pluginmanager.get_plugin("allure_listener") is None:
        return None
    import allure
    return allure


def _pool(config: pytest.Config) -> DevicePool:
    """The session's pool, acquired on first use; a failure is remembered, not retried per test."""
    pool = config.stash.get(POOL, None)
    if pool is None:
        try:
            pool = farm.lease_devices(config) or acquire_devices(config.stash[OPTIONS])
            config.add_cleanup(pool.close)
        except HarnessError as e:
            pool = e
        config.stash[POOL] = pool
    if isinstance(pool, HarnessError):
        raise pool
    return pool


# -- fixtures ---------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def device_pool(pytestconfig: pytest.Config) -> DevicePool:
    """Every device of this session."""
    return _pool(pytestconfig)


@pytest.fixture
def device(device_pool: DevicePool, request: pytest.FixtureRequest) -> Device:
    """The device under test (a harness.device.Device): the session's first device."""
    dev = device_pool.devices[0]
    if request.node.get_closest_marker("needs_root"):
        try:
            dev.root()
        except RootUnavailable as e:
            pytest.skip(f"needs root: {e.message}")
    return dev
