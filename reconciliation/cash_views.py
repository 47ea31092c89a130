"""The counter's cash page (recording cash taken for a dossier). Filled by its work."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("cash", __name__, url_prefix="/counter")
