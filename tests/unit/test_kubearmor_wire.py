"""The relay's wire format (SPEC Appendix A) and its conversion to KubeArmor JSON."""

from __future__ import annotations

import json

import pytest

from alertwire.domain.alerts import detect_source
from alertwire.domain.backoff import Backoff
from alertwire.sources.proto import kubearmor_pb2
from alertwire.sources.relay import parse_target, to_kubearmor_json
from tests.fixtures import FIXTURES
from tests.relay import NOT_ON_THE_WIRE, from_json, load

ALERT_NUMBERS = {
    "Timestamp": 1, "UpdatedTime": 2, "ClusterName": 3, "HostName": 4, "NamespaceName": 5,
    "PodName": 6, "ContainerID": 7, "ContainerName": 8, "HostPID": 9, "PPID": 10, "PID": 11,
    "UID": 12, "PolicyName": 13, "Severity": 14, "Tags": 15, "Message": 16, "Type": 17,
    "Source": 18, "Operation": 19, "Resource": 20, "Data": 21, "Action": 22, "Result": 23,
    "ContainerImage": 24, "ParentProcessName": 25, "ProcessName": 26, "HostPPID": 27,
    "Enforcer": 28, "Labels": 29, "ATags": 30, "Owner": 31, "Cwd": 32, "TTY": 33,
    "MaxAlertsPerSec": 34, "DroppingAlertsInterval": 35, "ExecEvent": 36,
    "KubeArmorVersion": 37, "NodeID": 38, "ProcessHash": 39, "ParentHash": 40,
    "ResourceHash": 41, "HashAlgo": 42, "EventData": 43, "UserName": 44,
}
LOG_NUMBERS = {
    **{k: v for k, v in ALERT_NUMBERS.items() if v <= 12},
    "Type": 13, "Source": 14, "Operation": 15, "Resource": 16, "Data": 17, "Result": 18,
    "ContainerImage": 19, "ParentProcessName": 20, "ProcessName": 21, "HostPPID": 22,
    "Labels": 23, "Owner": 24, "Cwd": 25, "TTY": 26, "ExecEvent": 27, "NodeID": 28,
    "ProcessHash": 29, "ParentHash": 30, "ResourceHash": 31, "HashAlgo": 32, "EventData": 33,
    "UserName": 34,
}
INT_FIELDS = {"HostPID", "PPID", "PID", "UID", "HostPPID", "MaxAlertsPerSec",
              "DroppingAlertsInterval"}


@pytest.mark.parametrize(("message", "numbers"), [
    (kubearmor_pb2.Alert, ALERT_NUMBERS), (kubearmor_pb2.Log, LOG_NUMBERS)])
def test_field_numbers_and_types_are_the_relays(message: type, numbers: dict[str, int]) -> None:
    """Every Alert and Log field has the relay's name, number and type (Appendix A), and there
    are no others: a renumbered field would silently read another field's bytes."""
    fields = message.DESCRIPTOR.fields_by_name
    assert {name: f.number for name, f in fields.items()} == numbers
    for name, f in fields.items():
        if name == "Timestamp":
            assert f.type == f.TYPE_INT64
        elif name in INT_FIELDS:
            assert f.type == f.TYPE_INT32, name
        elif name == "ATags":
            assert f.is_repeated and f.type == f.TYPE_STRING
        elif name in ("Owner", "ExecEvent", "EventData"):
            assert f.type == f.TYPE_MESSAGE
        else:
            assert f.type == f.TYPE_STRING and not f.is_repeated, name
    owner = kubearmor_pb2.Podowner.DESCRIPTOR.fields_by_name
    assert {n: f.number for n, f in owner.items()} == {"Ref": 1, "Name": 2, "Namespace": 3}
    service = kubearmor_pb2.DESCRIPTOR.services_by_name["LogService"]
    assert service.full_name == "feeder.LogService"
    assert {m.name for m in service.methods} >= {"HealthCheck", "WatchAlerts", "WatchLogs"}


def test_wire_bytes_decode_to_the_named_fields() -> None:
    """Bytes as the relay writes them (hand-encoded tags) decode to the right fields:
    UserName is field 44, PolicyName 13, Timestamp an int64 (1)."""
    raw = (b"\x08\x80\xa8\x98\xa7\x06"            # 1: Timestamp varint 1692800000
           b"\x6a\x04sshd"                        # 13: PolicyName
           b"\xe2\x02\x04root")                   # 44: UserName (tag 44<<3|2 = 354)
    alert = kubearmor_pb2.Alert.FromString(raw)
    assert to_kubearmor_json(alert) == {"Timestamp": 1692800000, "PolicyName": "sshd",
                                        "UserName": "root"}


@pytest.mark.parametrize("path", sorted((FIXTURES / "kubearmor").glob("*/*.json")),
                         ids=lambda p: p.stem)
def test_every_upstream_sample_survives_the_wire(path: object) -> None:
    """Each KubeArmor sample sent through the relay's protobuf comes out as the same JSON
    (the AccuKnox-only keys, which the relay never sends, aside, and zero numbers, which proto3
    cannot tell from absent and the relay omits): names, nested Owner, ATags list, numbers as
    numbers; it is detected as `kubearmor`."""
    sample = load(path)  # type: ignore[arg-type]
    kind = kubearmor_pb2.Log if "logs" in str(path) else kubearmor_pb2.Alert
    converted = to_kubearmor_json(from_json(kind, sample))
    assert converted == {k: v for k, v in sample.items()
                         if k not in NOT_ON_THE_WIRE and v != 0}
    assert detect_source(json.loads(json.dumps(converted))) == "kubearmor"


def test_empty_fields_are_omitted_and_maps_kept() -> None:
    """Zero values are left out, as the relay's JSON does; EventData stays an object."""
    alert = kubearmor_pb2.Alert(PID=0, HostName="", Action="Block",
                                EventData={"k": "v"}, Owner=kubearmor_pb2.Podowner())
    assert to_kubearmor_json(alert) == {"Action": "Block", "EventData": {"k": "v"}}


def test_relay_address() -> None:
    """`--relay` takes HOST:PORT; a bare host means the relay's port 32767; nonsense is a
    clear error."""
    assert parse_target("kubearmor-relay") == "kubearmor-relay:32767"
    assert parse_target("127.0.0.1:5000") == "127.0.0.1:5000"
    with pytest.raises(ValueError, match="HOST:PORT"):
        parse_target("relay:http")


def test_backoff_grows_caps_jitters_and_resets() -> None:
    """Delays double up to the cap, each drawn from [ceiling/2, ceiling]; reset starts over."""
    backoff = Backoff(initial=0.5, cap=4.0)
    ceilings = [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    for ceiling in ceilings:
        assert ceiling / 2 <= backoff.next() <= ceiling
    backoff.reset()
    assert backoff.next() <= 0.5
    with pytest.raises(ValueError):
        Backoff(initial=5, cap=1)
