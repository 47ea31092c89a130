"""Staff login and logout (filled in by the pages work)."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("auth", __name__)
