"""The settings that shape what the service tells the national portal about a dossier, read
from the app's configuration (``core/config.py``): whether a VietQR transfer for a dossier
filed online counts as paid through the city's gateway (flag 2), and the portal's fee codes.

Outside an app context (scripts, pure tests) the documented defaults apply.
"""
from __future__ import annotations

import copy

from payments.money_rules import DEFAULT_PORTAL_FEE_CODES

VIETQR_AS_GATEWAY_KEY = "ONLINE_FLAG_VIETQR_AS_GATEWAY"
FEE_CODES_KEY = "PORTAL_FEE_CODES"


def _config() -> dict:
    from flask import current_app, has_app_context

    return current_app.config if has_app_context() else {}


def vietqr_as_gateway() -> bool:
    """``ONLINE_FLAG_VIETQR_AS_GATEWAY``: off unless the city decided otherwise."""
    return bool(_config().get(VIETQR_AS_GATEWAY_KEY, False))


def fee_codes() -> dict[str, dict[str, int]]:
    """``PORTAL_FEE_CODES`` over the defaults (``kind`` and ``collection``)."""
    merged = copy.deepcopy(DEFAULT_PORTAL_FEE_CODES)
    for part, values in (_config().get(FEE_CODES_KEY) or {}).items():
        if part in merged and isinstance(values, dict):
            merged[part].update(values)
    return merged
