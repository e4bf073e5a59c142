"""pytest plugin (pytest11 entry point `android_harness_reports`): stress runs, Allure and JUnit.

Thin by design: the work is in the sibling modules; this module holds the options, the hooks
every process needs, and registers the rest only where it is needed (§1.6 of the pytest
reference): the stress tally, JUnit properties, Allure metadata and crash results run on the
controller (the only process under xdist that sees every report); the Allure identity of each
test is attached by the processes that run tests.

- `--repeat N` / `@pytest.mark.stress(N)`: harness.reporting.stress.
- Every test that uses the harness's `device`/`device_pool` gets the user property `device`
  (its serials; JUnit shows it) and, with `--alluredir`, the Allure parameter `device`:
  excluded from the history id by default (load-balanced runs: one history whichever device
  ran the test), part of it with `--allure-device-param=split` (runs of the whole suite on
  every device: one result per device instead of retries).
- With `--alluredir`, the controller writes environment.properties, categories.json and
  executor.json at the end, and a `broken` result for each test whose xdist worker crashed.
  `--clean-alluredir` is refused under xdist: a worker restarted after a crash runs
  allure-pytest's configure again and wipes every result written before. Empty the directory
  before the run instead (`rm -rf reports/allure-results`).
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import TYPE_CHECKING

import allure
import pytest
from allure_commons.model2 import Parameter
from allure_commons.utils import represent

from harness.errors import HarnessError
from harness.reporting import devices, stress
from harness.reporting.classify import FAILURE_CLASS_PROPERTY, LABEL_ATTRIBUTE, label_exception
from harness.reporting.crash_results import DYNAMIC_PARAMETERS, CrashIdentityTagger, CrashResults
from harness.reporting.junit import JUnitProperties
from harness.reporting.stress import stress_repetition  # noqa: F401  (a fixture: pytest finds it in this module)
from harness.yamlcheck import ConfigError

if TYPE_CHECKING:
    from harness.logs.signatures import Registry

DEVICE = "device"                                  # user property and Allure parameter name
REGISTRY = pytest.StashKey["Registry"]()
XDIST_DEVICES = pytest.StashKey[devices.XdistDevices]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("android-reports", "Android harness: stress runs and reports")
    group.addoption("--repeat", dest="stress_repeat", type=stress.positive_count, default=None, metavar="N",
                    help="stress run: run every selected test N times as separate items (ids [repeat-i-of-N]) "
                         "and report each test's failure rate; @pytest.mark.stress(n) does it for one test")
    group.addoption("--stress-json", dest="stress_json", default=None, metavar="PATH",
                    help="where stress runs write their statistics (default: reports/stress.json in the rootdir)")
    group.addoption("--allure-device-param", dest="allure_device_param", choices=("excluded", "split"),
                    default="excluded",
                    help="the Allure `device` parameter: excluded from the history id (default, load-balanced "
                         "runs) or split (one result per device, for the whole suite on every device)")


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def _distributed(config: pytest.Config) -> bool:
    return config.pluginmanager.hasplugin("xdist") and config.getoption("dist", "no") != "no"


def _alluredir(config: pytest.Config) -> Path | None:
    given = config.getoption("allure_report_dir", None)
    return Path(os.path.abspath(given)) if given else None


@pytest.hookimpl(tryfirst=True)      # before allure-pytest's own configure empties the directory
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", stress.MARKER)
    alluredir = _alluredir(config)
    if _is_worker(config):
        stress.disable_global_reruns(config)
        if alluredir:
            config.pluginmanager.register(CrashIdentityTagger(), "android_harness_allure_identity")
        return
    if alluredir and config.getoption("clean_alluredir", False) and _distributed(config):
        raise pytest.UsageError(
            "--clean-alluredir cannot be used with pytest-xdist (-n/--dist): a worker restarted after a "
            "crash wipes the results written before it. Empty the directory before the run instead, "
            f"e.g. rm -rf {shlex.quote(str(alluredir))}")
    config.pluginmanager.register(stress.StressStats(stress.json_path(config), stress.disable_global_reruns(config)),
                                  "android_harness_stress")
    if config.getoption("xmlpath", None):
        config.pluginmanager.register(JUnitProperties(config), "android_harness_junit")
    if alluredir:
        from harness.logs.signatures import load_registry   # pydantic models: only for Allure runs
        try:
            config.stash[REGISTRY] = load_registry()
        except ConfigError as e:
            raise pytest.UsageError(f"signature registry (for Allure categories): {'; '.join(str(e).splitlines())}") from None
        config.pluginmanager.register(CrashResults(alluredir), "android_harness_allure_crashes")
        if config.pluginmanager.hasplugin("xdist"):
            config.stash[XDIST_DEVICES] = devices.XdistDevices()
            config.pluginmanager.register(config.stash[XDIST_DEVICES], "android_harness_xdist_devices")


def pytest_report_header(config: pytest.Config) -> list[str]:
    count = config.getoption("stress_repeat")
    if not count:
        return []
    reruns = (", pytest-rerunfailures reruns forced to 0" if config.pluginmanager.hasplugin(stress.RERUNFAILURES)
              else "")
    return [f"stress: every test {count} times (--repeat){reruns}"]


@pytest.hookimpl(trylast=True)       # after pytest's own parametrization: the repetition id comes last
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    stress.parametrize(metafunc)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    stress.prepare_items(items, config)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item):  # type: ignore[no-untyped-def]
    try:
        return (yield)
    finally:
        _tag_devices(item)              # the fixtures have run (or failed): the device is known if any


def _tag_devices(item: pytest.Item) -> None:
    serials = devices.serials_of_test(item)
    if not serials:
        return
    value = ",".join(serials)
    item.user_properties.append((DEVICE, value))
    if _alluredir(item.config):
        excluded = item.config.getoption("allure_device_param") != "split"
        allure.dynamic.parameter(DEVICE, value, excluded=excluded)
        item.stash[DYNAMIC_PARAMETERS] = [Parameter(name=DEVICE, value=represent(value), excluded=excluded or None)]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    report = yield
    if report.failed and call.excinfo is not None:
        exc = call.excinfo.value
        setattr(report, LABEL_ATTRIBUTE, label_exception(exc))
        if isinstance(exc, HarnessError):
            prop = (FAILURE_CLASS_PROPERTY, str(exc.failure_class))
            for properties in (report.user_properties, item.user_properties):
                if prop not in properties:
                    properties.append(prop)
    return report


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    if _is_worker(config):
        devices.publish_to_controller(config)
        return
    alluredir = _alluredir(config)
    if alluredir is None or config.option.collectonly or REGISTRY not in config.stash:
        return
    reported = devices.session_devices(config)
    if XDIST_DEVICES in config.stash:
        reported += config.stash[XDIST_DEVICES].devices
    from harness.reporting import allure_env
    allure_env.write_metadata(alluredir, devices.merge(reported), config.stash[REGISTRY], os.environ)
