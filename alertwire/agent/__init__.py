"""`alertwire agent`: KubeArmor file and process policies enforced on a Linux host with
fanotify, violations sent to the server as KubeArmor alerts. Policy model and matching
(`policy`), syscall decoding (`syscalls`) and alert shape (`alerts`) are pure; `fanotify` is
the kernel interface and `enforcer` ties them together."""
