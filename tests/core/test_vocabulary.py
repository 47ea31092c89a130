"""The vocabulary: every value of every StrEnum has its one label, in Vietnamese and English,
and the tuples the models and the API description list come from it."""
from __future__ import annotations

from flask_babel import force_locale

from core import vocabulary as v
from reconciliation.models import EXCEPTION_REASONS, PAYMENT_CHANNELS


def test_every_value_has_a_label_in_both_languages(app):
    with app.test_request_context():
        for vocabulary, labels in v.LABELS.items():
            assert set(labels) == set(v.values(vocabulary)), vocabulary.__name__
            for value in v.values(vocabulary):
                with force_locale("vi"):
                    vi = v.label(vocabulary, value)
                with force_locale("en"):
                    en = v.label(vocabulary, value)
                assert vi and en and (vi != en or vi in ("payOS", "SePay")), (vocabulary.__name__, value)
        with force_locale("en"):
            assert v.label(v.RequestStatus, "expired") == "Expired"
            assert v.label(v.RequestStatus, "no-such") == "no-such"


def test_the_models_and_the_api_take_their_values_from_it(app):
    from payments.openapi import document

    assert PAYMENT_CHANNELS == ("portal", "gateway", "counter_transfer", "card", "cash")
    assert EXCEPTION_REASONS == v.values(v.ExceptionReason) and "booked_on_closed_day" in EXCEPTION_REASONS
    with app.test_request_context():
        schemas = document()["components"]["schemas"]
    assert schemas["Payment"]["properties"]["payment_channel"]["enum"] == list(PAYMENT_CHANNELS)
    assert schemas["Dossier"]["properties"]["payment_status"]["enum"] == list(v.values(v.PaymentStatus))
