"""``/api/v1/matching/rules``: read by finance, replaced by an administrator, audited; a refused
change changes nothing; every status the description names is given, and no other."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.audit import AuditRecord
from core.tokens import create_token
from reconciliation.matching.reconcile import load_rules
from tests.payments.test_openapi import Recorder, operations

RULES_OPERATIONS = {"getMatchingRules", "putMatchingRules"}


@pytest.fixture
def tokens(seeded):
    made = {role: create_token(seeded, f"recon-{role}", role) for role in ("counter", "finance", "admin")}
    seeded.commit()
    return made


def test_rules_are_read_replaced_and_audited(client, tokens, seeded):
    rec = Recorder(client, tokens)
    assert rec.call("getMatchingRules", role="finance").get_json()["confidence"]["reference_exact"] == 1.0
    rec.call("getMatchingRules", role=None)
    rec.call("getMatchingRules", role="counter")

    saved = rec.call("putMatchingRules", role="admin", json={"auto_threshold": 0.93,
                                                              "confidence": {"reference_exact": 0.96}}).get_json()
    assert saved["auto_threshold"] == 0.93 and saved["confidence"]["reference_exact"] == 0.96
    assert saved["suggest_threshold"] == 0.5  # left out: its default
    seeded.rollback()
    assert load_rules(seeded).of("reference_exact") == 0.96
    audit = seeded.scalars(select(AuditRecord).where(AuditRecord.action == "settings.matching_rules")).all()
    assert [a.actor for a in audit] == ["token:recon-admin"]
    seeded.commit()

    refused = [{"auto_threshold": 1.5}, {"auto_threshold": 0.4}, {"confidence": {"no_such_rule": 0.5}},
               {"confidence": [1]}, {"threshold": 0.9}, [0.9]]
    for body in refused:
        problem = rec.call("putMatchingRules", role="admin", json=body).get_json()
        assert problem["status"] == 422 and problem["code"] == "invalid", body
    rec.call("putMatchingRules", role="admin", data="{", content_type="application/json")
    rec.call("putMatchingRules", role="admin", data='{"x": "' + "y" * 1_100_000 + '"}',
             content_type="application/json")
    rec.call("putMatchingRules", role="finance", json={})
    rec.call("putMatchingRules", role=None, json={})
    assert rec.call("getMatchingRules", role="finance").get_json() == saved  # nothing refused was kept

    described = {(op["operationId"], status) for _, _, op in operations() for status in op["responses"]
                 if op["operationId"] in RULES_OPERATIONS}
    assert rec.seen == described
