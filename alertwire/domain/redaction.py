"""Masking credentials in free text: URL user-info, secret query parameters, authorization
values and well-known token shapes (SPEC §8). Used on every log line before it is written."""

from __future__ import annotations

import re

REDACTED = "[REDACTED]"

# scheme://user:password@host → scheme://[REDACTED]@host
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/\s@?#'\"<>]+@")
# ?token=…, &api_key=…, &X-Amz-Signature=…: any parameter whose name says it is a secret.
_SECRET_PARAM = re.compile(
    r"(?i)([?&;][^=&\s#'\"]*(?:token|secret|key|passw|pwd|auth|sig|session|credential)"
    r"[^=&\s#'\"]*=)[^&\s#'\"<>]+"
)
# Authorization: Bearer …, Basic …, token … (GitHub), whatever the spelling around it.
_AUTH_VALUE = re.compile(r"(?i)\b(bearer|basic|token)(\s+|%20|\+)(?=\S*\d)[A-Za-z0-9._~+/=\-]{8,}")
_TOKEN_SHAPES = re.compile(
    r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|xox[abposr]-[A-Za-z0-9\-]{10,}"
    r"|whsec_[A-Za-z0-9+/=]{16,}|aw_[A-Za-z0-9_\-]{20,}|AKIA[0-9A-Z]{16}|sk-[A-Za-z0-9_\-]{20,}"
    r"|eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,})"
)
# Webhook URLs whose path is the credential.
_SECRET_PATHS = re.compile(
    r"(?i)((?:hooks\.slack\.com/(?:services|workflows|triggers)|discord(?:app)?\.com/api/webhooks"
    r"|webhook\.office\.com/webhookb2)/)[^\s'\"<>?#]+"
)


def redact_text(text: str) -> str:
    """`text` with every credential it visibly holds replaced by [REDACTED]."""
    text = _URL_USERINFO.sub(lambda m: f"{m.group(1)}{REDACTED}@", text)
    text = _SECRET_PARAM.sub(lambda m: f"{m.group(1)}{REDACTED}", text)
    text = _SECRET_PATHS.sub(lambda m: f"{m.group(1)}{REDACTED}", text)
    text = _AUTH_VALUE.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    return _TOKEN_SHAPES.sub(REDACTED, text)
