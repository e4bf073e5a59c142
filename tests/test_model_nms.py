"""NetworkManagementService / NativeDaemonConnector: sequence numbers, quoting, exceptions, LocalLog."""

from __future__ import annotations

import pytest

from harness.sim.android.handler import Event
from harness.sim.android.nms import JavaException, quote_arg, service_specific
from model_helpers import BUGGY, boot


def drive(device, blocking):
    """Run a blocking system_server call to completion on the device's clock."""
    scheduler = device.scheduler
    try:
        step = next(blocking)
        while True:
            assert not isinstance(step, Event)
            scheduler.run_until(scheduler.now() + step)
            step = blocking.send(None)
    except StopIteration as done:
        return done.value


@pytest.fixture
def nms():
    device = boot(BUGGY, 0)
    server = device.android.system_server
    return device, server.nms


def test_sequence_numbers_count_every_command_and_replies_carry_them(nms):
    device, service = nms
    before = service.connector.sequence
    lines = drive(device, service.execute("interface", "list"))
    assert lines[-1] == f"200 {before + 1} Interface list completed"
    assert lines[:-1] == [f"110 {before + 1} lo", f"110 {before + 1} eth0"]
    assert service.connector.sequence == before + 1


def test_4xx_is_illegal_state_with_the_ndc_message(nms):
    device, service = nms
    seq = service.connector.sequence + 1
    with pytest.raises(JavaException) as caught:
        drive(device, service.execute("network", "interface", "add", 4242, "eth0"))
    assert str(caught.value) == (f"java.lang.IllegalStateException: command '{seq} network interface add 4242 eth0' "
                                 f"failed with '400 {seq} addInterfaceToNetwork() failed (Machine is not on the network)'")
    log = [entry.text for entry in service.connector.local_log][-2:]
    assert log == [f"SND -> {{{seq} network interface add 4242 eth0}}",
                   f"RCV <- {{400 {seq} addInterfaceToNetwork() failed (Machine is not on the network)}}"]


def test_5xx_is_illegal_argument_and_spaces_are_quoted(nms):
    device, service = nms
    seq = service.connector.sequence + 1
    with pytest.raises(JavaException) as caught:
        drive(device, service.execute("network", "bogus", "two words"))
    assert caught.value.java_class == "java.lang.IllegalArgumentException"
    assert caught.value.message == (f"command '{seq} network bogus \"two words\"' failed with "
                                    f"'500 {seq} Unknown argument'")
    assert quote_arg('a "b"') == '"a \\"b\\""' and quote_arg("plain") == "plain"


def test_missing_netd_is_missing_output_stream(nms):
    device, service = nms
    device.android.stop_service("netd")
    with pytest.raises(JavaException, match=r"^java\.lang\.IllegalStateException: missing output stream$"):
        drive(device, service.execute("interface", "list"))


def test_service_specific_exception_text():
    assert str(service_specific(16)) == "android.os.ServiceSpecificException: Device or resource busy (code 16)"
    assert service_specific(17).message == "File exists"
