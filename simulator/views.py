"""The simulated national portal platform's status query, served by the app itself in
development and testing only (``PORTAL_QUERY_URL`` points here in the demo): the simulator
plays the platform, answering from its own records (``simulator.platform``)."""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, current_app, jsonify, request

bp = Blueprint("simulator", __name__, url_prefix="/simulator")


@bp.post("/portal/query")
def portal_query():
    from bank_adapters.keys import load_channel_keys
    from simulator.platform import Platform

    configured = current_app.config.get("SIMPORTAL_DIR")
    root = Path(configured) if configured else Path(current_app.instance_path) / "simportal"
    secret = load_channel_keys(current_app.config).portal_secret
    return jsonify(Platform(root).answer(request.get_data(), secret or ""))
