"""Test dossiers with short readable codes ("HK-A1", "CN2-C1") that tables of expected figures
name. Registration checks the national format (``payments.dossiers.valid_dossier_code``, tested
in tests/payments/test_guiding_forms.py), so such a dossier is registered under a national code
and renamed afterwards, as a dossier stored before the check would be."""
from __future__ import annotations

import itertools

from payments.dossiers import parse_dossier_input, register_dossier, valid_dossier_code
from payments.models import Dossier, code_key

_numbers = itertools.count(1)


def register_named(session, body: dict, actor: str = "test") -> Dossier:
    code = body["code"]
    if valid_dossier_code(code):
        return register_dossier(session, parse_dossier_input(body), actor=actor)
    made = register_dossier(session, parse_dossier_input({**body, "code": f"000.00.00.H26-261101-{next(_numbers):06d}"}),
                            actor=actor)
    made.code, made.code_key = code, code_key(code)
    session.flush()
    return made
