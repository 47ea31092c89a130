"""The counter clerk's pages (filled in by the pages work)."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("counter", __name__, url_prefix="/counter")
