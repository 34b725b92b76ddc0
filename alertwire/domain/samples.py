"""Realistic sample alerts: the default Test Connection payload and `alertwire simulate`."""

from __future__ import annotations

import time
from typing import Any


def kubearmor_file_integrity_alert(now: float | None = None) -> dict[str, Any]:
    """A KubeArmor file-integrity Block alert, shaped like the upstream relay's JSON."""
    now = time.time() if now is None else now
    updated = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1e6):06d}Z"
    return {
        "ATags": ["NIST", "NIST_800-53_AU-2", "NIST_800-53_SI-4", "MITRE",
                  "MITRE_T1036_masquerading", "MITRE_T1565_data_manipulation"],
        "Action": "Block",
        "ClusterName": "default",
        "ContainerID": "b75628d4225b8071d5795da342cf2a5c03b1d67b22b40016697fcd17a0db20e4",
        "ContainerImage": "docker.io/library/mysql:5.6",
        "ContainerName": "mysql",
        "Data": "syscall=SYS_OPEN flags=O_WRONLY|O_CREAT|O_NOCTTY|O_NONBLOCK",
        "Enforcer": "AppArmor",
        "HostName": "worker-1",
        "HostPID": 16462,
        "HostPPID": 16435,
        "Labels": "app=mysql",
        "Message": "Detected and prevented compromise to File integrity",
        "NamespaceName": "wordpress-mysql",
        "Operation": "File",
        "Owner": {"Name": "mysql", "Namespace": "wordpress-mysql", "Ref": "Deployment"},
        "PID": 167,
        "PPID": 160,
        "PodName": "mysql-74775b4bf4-65nqf",
        "PolicyName": "harden-mysql-file-integrity-monitoring",
        "ProcessName": "/bin/touch",
        "Resource": "/sbin/file",
        "Result": "Permission denied",
        "Severity": "5",
        "Source": "/usr/bin/touch /sbin/file",
        "Tags": "NIST,NIST_800-53_AU-2,NIST_800-53_SI-4,MITRE,MITRE_T1036_masquerading,"
                "MITRE_T1565_data_manipulation",
        "Timestamp": int(now),
        "Type": "MatchedPolicy",
        "UID": 0,
        "UpdatedTime": updated,
    }
