"""The finance officer's workspace (pages). Filled by its work."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("finance", __name__, url_prefix="/finance")
