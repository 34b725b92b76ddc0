from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class NonceMessage(_message.Message):
    __slots__ = ("nonce",)
    NONCE_FIELD_NUMBER: _ClassVar[int]
    nonce: int
    def __init__(self, nonce: _Optional[int] = ...) -> None: ...

class ReplyMessage(_message.Message):
    __slots__ = ("Retval",)
    RETVAL_FIELD_NUMBER: _ClassVar[int]
    Retval: int
    def __init__(self, Retval: _Optional[int] = ...) -> None: ...

class RequestMessage(_message.Message):
    __slots__ = ("Filter",)
    FILTER_FIELD_NUMBER: _ClassVar[int]
    Filter: str
    def __init__(self, Filter: _Optional[str] = ...) -> None: ...

class Podowner(_message.Message):
    __slots__ = ("Ref", "Name", "Namespace")
    REF_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    Ref: str
    Name: str
    Namespace: str
    def __init__(self, Ref: _Optional[str] = ..., Name: _Optional[str] = ..., Namespace: _Optional[str] = ...) -> None: ...

class ExecEvent(_message.Message):
    __slots__ = ("ExecID", "ExecutableName")
    EXECID_FIELD_NUMBER: _ClassVar[int]
    EXECUTABLENAME_FIELD_NUMBER: _ClassVar[int]
    ExecID: str
    ExecutableName: str
    def __init__(self, ExecID: _Optional[str] = ..., ExecutableName: _Optional[str] = ...) -> None: ...

class Alert(_message.Message):
    __slots__ = ("Timestamp", "UpdatedTime", "ClusterName", "HostName", "NamespaceName", "PodName", "ContainerID", "ContainerName", "HostPID", "PPID", "PID", "UID", "PolicyName", "Severity", "Tags", "Message", "Type", "Source", "Operation", "Resource", "Data", "Action", "Result", "ContainerImage", "ParentProcessName", "ProcessName", "HostPPID", "Enforcer", "Labels", "ATags", "Owner", "Cwd", "TTY", "MaxAlertsPerSec", "DroppingAlertsInterval", "ExecEvent", "KubeArmorVersion", "NodeID", "ProcessHash", "ParentHash", "ResourceHash", "HashAlgo", "EventData", "UserName")
    class EventDataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    UPDATEDTIME_FIELD_NUMBER: _ClassVar[int]
    CLUSTERNAME_FIELD_NUMBER: _ClassVar[int]
    HOSTNAME_FIELD_NUMBER: _ClassVar[int]
    NAMESPACENAME_FIELD_NUMBER: _ClassVar[int]
    PODNAME_FIELD_NUMBER: _ClassVar[int]
    CONTAINERID_FIELD_NUMBER: _ClassVar[int]
    CONTAINERNAME_FIELD_NUMBER: _ClassVar[int]
    HOSTPID_FIELD_NUMBER: _ClassVar[int]
    PPID_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    POLICYNAME_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    CONTAINERIMAGE_FIELD_NUMBER: _ClassVar[int]
    PARENTPROCESSNAME_FIELD_NUMBER: _ClassVar[int]
    PROCESSNAME_FIELD_NUMBER: _ClassVar[int]
    HOSTPPID_FIELD_NUMBER: _ClassVar[int]
    ENFORCER_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    ATAGS_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    CWD_FIELD_NUMBER: _ClassVar[int]
    TTY_FIELD_NUMBER: _ClassVar[int]
    MAXALERTSPERSEC_FIELD_NUMBER: _ClassVar[int]
    DROPPINGALERTSINTERVAL_FIELD_NUMBER: _ClassVar[int]
    EXECEVENT_FIELD_NUMBER: _ClassVar[int]
    KUBEARMORVERSION_FIELD_NUMBER: _ClassVar[int]
    NODEID_FIELD_NUMBER: _ClassVar[int]
    PROCESSHASH_FIELD_NUMBER: _ClassVar[int]
    PARENTHASH_FIELD_NUMBER: _ClassVar[int]
    RESOURCEHASH_FIELD_NUMBER: _ClassVar[int]
    HASHALGO_FIELD_NUMBER: _ClassVar[int]
    EVENTDATA_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    Timestamp: int
    UpdatedTime: str
    ClusterName: str
    HostName: str
    NamespaceName: str
    PodName: str
    ContainerID: str
    ContainerName: str
    HostPID: int
    PPID: int
    PID: int
    UID: int
    PolicyName: str
    Severity: str
    Tags: str
    Message: str
    Type: str
    Source: str
    Operation: str
    Resource: str
    Data: str
    Action: str
    Result: str
    ContainerImage: str
    ParentProcessName: str
    ProcessName: str
    HostPPID: int
    Enforcer: str
    Labels: str
    ATags: _containers.RepeatedScalarFieldContainer[str]
    Owner: Podowner
    Cwd: str
    TTY: str
    MaxAlertsPerSec: int
    DroppingAlertsInterval: int
    ExecEvent: ExecEvent
    KubeArmorVersion: str
    NodeID: str
    ProcessHash: str
    ParentHash: str
    ResourceHash: str
    HashAlgo: str
    EventData: _containers.ScalarMap[str, str]
    UserName: str
    def __init__(self, Timestamp: _Optional[int] = ..., UpdatedTime: _Optional[str] = ..., ClusterName: _Optional[str] = ..., HostName: _Optional[str] = ..., NamespaceName: _Optional[str] = ..., PodName: _Optional[str] = ..., ContainerID: _Optional[str] = ..., ContainerName: _Optional[str] = ..., HostPID: _Optional[int] = ..., PPID: _Optional[int] = ..., PID: _Optional[int] = ..., UID: _Optional[int] = ..., PolicyName: _Optional[str] = ..., Severity: _Optional[str] = ..., Tags: _Optional[str] = ..., Message: _Optional[str] = ..., Type: _Optional[str] = ..., Source: _Optional[str] = ..., Operation: _Optional[str] = ..., Resource: _Optional[str] = ..., Data: _Optional[str] = ..., Action: _Optional[str] = ..., Result: _Optional[str] = ..., ContainerImage: _Optional[str] = ..., ParentProcessName: _Optional[str] = ..., ProcessName: _Optional[str] = ..., HostPPID: _Optional[int] = ..., Enforcer: _Optional[str] = ..., Labels: _Optional[str] = ..., ATags: _Optional[_Iterable[str]] = ..., Owner: _Optional[_Union[Podowner, _Mapping]] = ..., Cwd: _Optional[str] = ..., TTY: _Optional[str] = ..., MaxAlertsPerSec: _Optional[int] = ..., DroppingAlertsInterval: _Optional[int] = ..., ExecEvent: _Optional[_Union[ExecEvent, _Mapping]] = ..., KubeArmorVersion: _Optional[str] = ..., NodeID: _Optional[str] = ..., ProcessHash: _Optional[str] = ..., ParentHash: _Optional[str] = ..., ResourceHash: _Optional[str] = ..., HashAlgo: _Optional[str] = ..., EventData: _Optional[_Mapping[str, str]] = ..., UserName: _Optional[str] = ...) -> None: ...

class Log(_message.Message):
    __slots__ = ("Timestamp", "UpdatedTime", "ClusterName", "HostName", "NamespaceName", "PodName", "ContainerID", "ContainerName", "HostPID", "PPID", "PID", "UID", "Type", "Source", "Operation", "Resource", "Data", "Result", "ContainerImage", "ParentProcessName", "ProcessName", "HostPPID", "Labels", "Owner", "Cwd", "TTY", "ExecEvent", "NodeID", "ProcessHash", "ParentHash", "ResourceHash", "HashAlgo", "EventData", "UserName")
    class EventDataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    UPDATEDTIME_FIELD_NUMBER: _ClassVar[int]
    CLUSTERNAME_FIELD_NUMBER: _ClassVar[int]
    HOSTNAME_FIELD_NUMBER: _ClassVar[int]
    NAMESPACENAME_FIELD_NUMBER: _ClassVar[int]
    PODNAME_FIELD_NUMBER: _ClassVar[int]
    CONTAINERID_FIELD_NUMBER: _ClassVar[int]
    CONTAINERNAME_FIELD_NUMBER: _ClassVar[int]
    HOSTPID_FIELD_NUMBER: _ClassVar[int]
    PPID_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    CONTAINERIMAGE_FIELD_NUMBER: _ClassVar[int]
    PARENTPROCESSNAME_FIELD_NUMBER: _ClassVar[int]
    PROCESSNAME_FIELD_NUMBER: _ClassVar[int]
    HOSTPPID_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    CWD_FIELD_NUMBER: _ClassVar[int]
    TTY_FIELD_NUMBER: _ClassVar[int]
    EXECEVENT_FIELD_NUMBER: _ClassVar[int]
    NODEID_FIELD_NUMBER: _ClassVar[int]
    PROCESSHASH_FIELD_NUMBER: _ClassVar[int]
    PARENTHASH_FIELD_NUMBER: _ClassVar[int]
    RESOURCEHASH_FIELD_NUMBER: _ClassVar[int]
    HASHALGO_FIELD_NUMBER: _ClassVar[int]
    EVENTDATA_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    Timestamp: int
    UpdatedTime: str
    ClusterName: str
    HostName: str
    NamespaceName: str
    PodName: str
    ContainerID: str
    ContainerName: str
    HostPID: int
    PPID: int
    PID: int
    UID: int
    Type: str
    Source: str
    Operation: str
    Resource: str
    Data: str
    Result: str
    ContainerImage: str
    ParentProcessName: str
    ProcessName: str
    HostPPID: int
    Labels: str
    Owner: Podowner
    Cwd: str
    TTY: str
    ExecEvent: ExecEvent
    NodeID: str
    ProcessHash: str
    ParentHash: str
    ResourceHash: str
    HashAlgo: str
    EventData: _containers.ScalarMap[str, str]
    UserName: str
    def __init__(self, Timestamp: _Optional[int] = ..., UpdatedTime: _Optional[str] = ..., ClusterName: _Optional[str] = ..., HostName: _Optional[str] = ..., NamespaceName: _Optional[str] = ..., PodName: _Optional[str] = ..., ContainerID: _Optional[str] = ..., ContainerName: _Optional[str] = ..., HostPID: _Optional[int] = ..., PPID: _Optional[int] = ..., PID: _Optional[int] = ..., UID: _Optional[int] = ..., Type: _Optional[str] = ..., Source: _Optional[str] = ..., Operation: _Optional[str] = ..., Resource: _Optional[str] = ..., Data: _Optional[str] = ..., Result: _Optional[str] = ..., ContainerImage: _Optional[str] = ..., ParentProcessName: _Optional[str] = ..., ProcessName: _Optional[str] = ..., HostPPID: _Optional[int] = ..., Labels: _Optional[str] = ..., Owner: _Optional[_Union[Podowner, _Mapping]] = ..., Cwd: _Optional[str] = ..., TTY: _Optional[str] = ..., ExecEvent: _Optional[_Union[ExecEvent, _Mapping]] = ..., NodeID: _Optional[str] = ..., ProcessHash: _Optional[str] = ..., ParentHash: _Optional[str] = ..., ResourceHash: _Optional[str] = ..., HashAlgo: _Optional[str] = ..., EventData: _Optional[_Mapping[str, str]] = ..., UserName: _Optional[str] = ...) -> None: ...

class Message(_message.Message):
    __slots__ = ("Timestamp", "UpdatedTime", "ClusterName", "HostName", "HostIP", "Type", "Level", "Source", "Message", "KubeArmorVersion")
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    UPDATEDTIME_FIELD_NUMBER: _ClassVar[int]
    CLUSTERNAME_FIELD_NUMBER: _ClassVar[int]
    HOSTNAME_FIELD_NUMBER: _ClassVar[int]
    HOSTIP_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    KUBEARMORVERSION_FIELD_NUMBER: _ClassVar[int]
    Timestamp: int
    UpdatedTime: str
    ClusterName: str
    HostName: str
    HostIP: str
    Type: str
    Level: str
    Source: str
    Message: str
    KubeArmorVersion: str
    def __init__(self, Timestamp: _Optional[int] = ..., UpdatedTime: _Optional[str] = ..., ClusterName: _Optional[str] = ..., HostName: _Optional[str] = ..., HostIP: _Optional[str] = ..., Type: _Optional[str] = ..., Level: _Optional[str] = ..., Source: _Optional[str] = ..., Message: _Optional[str] = ..., KubeArmorVersion: _Optional[str] = ...) -> None: ...
