"""The citizen's pages, reached by the payment request's unguessable token (no login).

Endpoint names are fixed (the API builds its URLs from them):
``citizen.pay`` /pay/<token>, ``citizen.card`` /pay/<token>/card.<fmt> (?layout=a6|receipt80),
``citizen.qr_png`` /pay/<token>/qr.png, ``citizen.status`` /pay/<token>/status.json.
"""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("citizen", __name__)
