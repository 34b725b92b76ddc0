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


def falco_alert_with_secrets() -> dict[str, Any]:
    """A Falco event whose command line and environment hold credentials: what the console
    shows redaction rules working on (the secrets are made up)."""
    return {
        "output": "17:02:11.513093420: Notice Database client run in a container "
                  "(user=root command=psql postgresql://orders:Tr0ub4dor-3@db.internal:5432/orders "
                  "container=api-7f9c)",
        "priority": "Notice",
        "rule": "Database client in container",
        "time": "2026-11-28T17:02:11.513093420Z",
        "hostname": "worker-2",
        "tags": ["container", "database", "mitre_credential_access"],
        "output_fields": {
            "container.id": "api-7f9c",
            "proc.cmdline": "psql postgresql://orders:Tr0ub4dor-3@db.internal:5432/orders",
            "proc.env": "HOME=/root AWS_ACCESS_KEY_ID=AKIAZ7EXAMPLE4RQ2XPL "
                        "GITHUB_TOKEN=ghp_R2x9mQv7LkT4nB8cW1zYdF6hJ3sP5aE0uKiO PGPASSWORD=Tr0ub4dor-3",
            "user.name": "root",
            "k8s.ns.name": "shop",
        },
    }
