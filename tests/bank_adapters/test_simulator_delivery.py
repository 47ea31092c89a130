"""Delivery with retries, against a real tiny WSGI app that verifies with the real adapters:
in-process (WsgiTransport) and over loopback HTTP (HttpTransport on a werkzeug server)."""
from __future__ import annotations

import subprocess
import sys
import threading
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from flask import Flask, Response, request
from werkzeug.serving import make_server

from bank_adapters.callbacks import ChannelKeys, InboundRequest, Outcome, Refusal, get_adapter
from bank_adapters.keys import (DEMO_BANK_PRIVATE_KEY, DEMO_KEYS, DEMO_PAYOS_CHECKSUM_KEY, DEMO_PORTAL_SECRET,
                                DEMO_SEPAY_API_KEY, DEMO_SEPAY_HMAC_SECRET, DEMO_SERVICE_PUBLIC_KEY)
from simulator import delivery
from simulator.delivery import (DELIVERED, DUPLICATE, GAVE_UP, REFUSED, SCHEDULES, Answer,
                                              HttpTransport, WsgiTransport, deliver, judge)
from bank_adapters.transfers import BankTransfer

TRANSFER = BankTransfer(
    account="113000012345", bank_ref="FT26329000123456", amount=28_000, direction="in",
    booked_at=datetime.now(timezone.utc).replace(microsecond=0) - timedelta(seconds=5),
    content="IBFT HS7K2M9QXAS LE PHI", bank_bin="970415", counter_account="0011001234567",
    counter_name="NGUYEN VAN A", counter_bank="970436", balance_after=125_028_000,
)
SCALE = 0.001


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(round(seconds, 6))


def service_app(channel: str, script: list | None = None, keys: ChannelKeys = DEMO_KEYS, delay: float = 0.0) -> Flask:
    """A stand-in for the service: each call is verified with the real adapter and answered in
    the format's words. ``script`` says what the n-th call gets: an Outcome (answered by the
    adapter), an int (a bare HTTP status) or None (do what the service would: accept, or
    duplicate / replay for what it has seen)."""
    app = Flask(__name__)
    app.config["calls"] = calls = []
    seen_events: set[str] = set()
    seen_nonces: set[str] = set()
    adapter = get_adapter(channel)

    @app.post(f"/callbacks/{channel}")
    def callback():
        if delay:
            time.sleep(delay)
        step = script[len(calls)] if script and len(calls) < len(script) else None
        inbound = InboundRequest(request.get_data(), {k.lower(): v for k, v in request.headers.items()},
                                 request.remote_addr, datetime.now(timezone.utc))
        try:
            event = adapter.verify(inbound, keys)
        except Refusal as refusal:
            calls.append({"refused": refusal.outcome, "body": inbound.body})
            answer = adapter.respond(refusal.outcome, inbound, keys, refusal=refusal)
            return Response(answer.body, answer.status, content_type=answer.content_type)
        calls.append({"event": event, "body": inbound.body})
        if isinstance(step, int):
            return Response(b"upstream trouble", step)
        if step is None:
            if event.replay_key and event.replay_key in seen_nonces:
                step = Outcome.REPLAY
            elif event.event_id in seen_events:
                step = Outcome.DUPLICATE
            else:
                step = Outcome.ACCEPTED
        if step in (Outcome.ACCEPTED, Outcome.DUPLICATE):
            seen_events.add(event.event_id)
            if event.replay_key:
                seen_nonces.add(event.replay_key)
        answer = adapter.respond(step, inbound, keys, event=event)
        return Response(answer.body, answer.status, content_type=answer.content_type)

    return app


# --- SePay ------------------------------------------------------------------------------------

def test_sepay_retries_the_same_body_until_success():
    app = service_app("sepay", [500, 500])
    sleeps = Sleeps()
    build = delivery.sepay_builder(TRANSFER, sepay_id=92704, api_key=DEMO_SEPAY_API_KEY)
    result = deliver("sepay", build, WsgiTransport(app), sleep=sleeps, time_scale=SCALE)
    assert result.outcome == DELIVERED and result.done
    assert [a.status for a in result.attempts] == [500, 500, 200]
    assert sleeps == [0.06, 0.06]
    assert [a.scheduled_after for a in result.attempts] == [0, 60, 120]
    bodies = {call["body"] for call in app.config["calls"]}
    assert len(bodies) == 1  # the same body, the same id
    assert {call["event"].event_id for call in app.config["calls"]} == {"92704"}


def test_sepay_hmac_retries_are_signed_afresh_and_not_replays():
    app = service_app("sepay", [Outcome.FAILED, Outcome.FAILED])
    build = delivery.sepay_builder(TRANSFER, sepay_id=7, hmac_secret=DEMO_SEPAY_HMAC_SECRET)
    result = deliver("sepay", build, WsgiTransport(app), time_scale=0)
    assert result.outcome == DELIVERED
    assert [a.status for a in result.attempts] == [503, 503, 200]
    nonces = [call["event"].replay_key for call in app.config["calls"]]
    assert len(set(nonces)) == 3


def test_sepay_gives_up_after_its_fibonacci_schedule():
    app = service_app("sepay", [500] * 20)
    sleeps = Sleeps()
    build = delivery.sepay_builder(TRANSFER, sepay_id=1, api_key=DEMO_SEPAY_API_KEY)
    result = deliver("sepay", build, WsgiTransport(app), sleep=sleeps, time_scale=SCALE)
    assert result.outcome == GAVE_UP and not result.done
    assert len(result.attempts) == 8
    assert sleeps == [round(m * 60 * SCALE, 6) for m in (1, 1, 2, 3, 5, 8, 13)]


def test_sepay_refusal_is_retried_too():
    app = service_app("sepay", keys=ChannelKeys(sepay_api_key="another key"))
    build = delivery.sepay_builder(TRANSFER, sepay_id=1, api_key=DEMO_SEPAY_API_KEY)
    result = deliver("sepay", build, WsgiTransport(app), time_scale=0, max_attempts=3)
    assert result.outcome == GAVE_UP
    assert [a.status for a in result.attempts] == [401, 401, 401]


# --- direct bank -----------------------------------------------------------------------------

def bankdirect(app: Flask, **kwargs):
    return deliver("bankdirect", delivery.bankdirect_builder(TRANSFER, DEMO_BANK_PRIVATE_KEY), WsgiTransport(app),
                   service_public_key=DEMO_SERVICE_PUBLIC_KEY, **kwargs)


def test_bankdirect_retries_a_99_with_a_new_request_id():
    app = service_app("bankdirect", [Outcome.FAILED])
    sleeps = Sleeps()
    result = bankdirect(app, sleep=sleeps, time_scale=SCALE)
    assert result.outcome == DELIVERED
    assert [a.code for a in result.attempts] == ["99", "00"]
    assert sleeps == [0.01]
    request_ids = [a.request_id for a in result.attempts]
    assert len(set(request_ids)) == 2 and all(request_ids)
    assert {call["event"].event_id for call in app.config["calls"]} == {"FT26329000123456"}


def test_bankdirect_duplicate():
    app = service_app("bankdirect")
    assert bankdirect(app, time_scale=0).outcome == DELIVERED
    second = bankdirect(app, time_scale=0)
    assert second.outcome == DUPLICATE and second.attempts[0].code == "01"


def test_bankdirect_bad_signature_stops():
    keys = ChannelKeys(bankdirect_service_private_key=DEMO_KEYS.bankdirect_service_private_key)  # no bank key
    result = bankdirect(service_app("bankdirect", keys=keys), time_scale=0)
    assert result.outcome == REFUSED
    assert [a.code for a in result.attempts] == ["02"]


def test_bankdirect_unknown_account_stops():
    result = bankdirect(service_app("bankdirect", [Outcome.UNKNOWN_ACCOUNT]), time_scale=0)
    assert result.outcome == REFUSED
    assert [a.code for a in result.attempts] == ["04"]


def test_bankdirect_retries_an_answer_it_cannot_verify():
    wrong = replace(DEMO_KEYS, bankdirect_service_private_key=DEMO_BANK_PRIVATE_KEY)  # signs with the wrong key
    result = bankdirect(service_app("bankdirect", keys=wrong), time_scale=0, max_attempts=3)
    assert result.outcome == GAVE_UP
    assert len(result.attempts) == 3
    assert all("signature" in a.note for a in result.attempts)


def test_bankdirect_retries_a_non_200():
    result = bankdirect(service_app("bankdirect", [502]), time_scale=0)
    assert [a.status for a in result.attempts] == [502, 200]
    assert result.outcome == DELIVERED


def test_bankdirect_schedule_is_the_specs():
    delays = SCHEDULES["bankdirect"]
    assert delays[:7] == (10, 30, 60, 300, 900, 3600, 3600)
    assert set(delays[5:]) == {3600}
    assert sum(delays) <= 24 * 3600 < sum(delays) + 3600
    app = service_app("bankdirect", [Outcome.FAILED] * 40)
    sleeps = Sleeps()
    result = bankdirect(app, sleep=sleeps, time_scale=SCALE)
    assert result.outcome == GAVE_UP
    assert len(result.attempts) == len(delays) + 1 == 29
    assert sleeps == [round(d * SCALE, 6) for d in delays]


def test_bankdirect_needs_the_service_key():
    with pytest.raises(ValueError, match="service_public_key"):
        deliver("bankdirect", delivery.bankdirect_builder(TRANSFER, DEMO_BANK_PRIVATE_KEY),
                WsgiTransport(service_app("bankdirect")))


# --- payOS and the portal --------------------------------------------------------------------

def test_payos_retries_5xx_and_stops_on_4xx():
    build = delivery.payos_builder(TRANSFER, DEMO_PAYOS_CHECKSUM_KEY, order_code=5)
    result = deliver("payos", build, WsgiTransport(service_app("payos", [Outcome.FAILED])), time_scale=0)
    assert [a.status for a in result.attempts] == [503, 200] and result.outcome == DELIVERED
    refused = deliver("payos", build, WsgiTransport(service_app("payos", keys=ChannelKeys(payos_checksum_key="x"))),
                      time_scale=0)
    assert refused.outcome == REFUSED and [a.status for a in refused.attempts] == [401]


@pytest.mark.parametrize("script, outcome, codes", [
    ([Outcome.FAILED], DELIVERED, ["99", "00"]),
    ([Outcome.UNKNOWN_DOSSIER], REFUSED, ["04"]),
    ([Outcome.DUPLICATE], DUPLICATE, ["01"]),
    ([500], DELIVERED, [None, "00"]),
])
def test_portal(script, outcome, codes):
    build = delivery.portal_builder(TRANSFER, DEMO_PORTAL_SECRET, portal_ref="dvc1x20261125093000",
                                    dossier_code="000.00.12.H26-261125-0001")
    result = deliver("portal", build, WsgiTransport(service_app("portal", script)), time_scale=0)
    assert result.outcome == outcome
    assert [a.code for a in result.attempts] == codes


def test_portal_wrong_secret_is_refused():
    build = delivery.portal_builder(TRANSFER, "not the secret", portal_ref="dvc1", dossier_code="D-1")
    result = deliver("portal", build, WsgiTransport(service_app("portal")), time_scale=0)
    assert result.outcome == REFUSED and result.attempts[0].code == "02"


# --- transports ------------------------------------------------------------------------------

@pytest.fixture
def http_server():
    servers = []

    def start(app: Flask) -> str:
        server = make_server("127.0.0.1", 0, app)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        servers.append((server, thread))
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server, thread in servers:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_http_transport_retries_until_success(http_server):
    app = service_app("sepay", [500, 500])
    base = http_server(app)
    build = delivery.sepay_builder(TRANSFER, sepay_id=92704, api_key=DEMO_SEPAY_API_KEY,
                                   hmac_secret=DEMO_SEPAY_HMAC_SECRET)
    sleeps = Sleeps()
    result = deliver("sepay", build, HttpTransport(base), sleep=sleeps, time_scale=SCALE)
    assert result.outcome == DELIVERED
    assert [a.status for a in result.attempts] == [500, 500, 200]
    assert sleeps == [0.06, 0.06]
    assert len(app.config["calls"]) == 3
    assert all(call["event"].hints["auth"] == "apikey+hmac" for call in app.config["calls"])


def test_http_transport_bankdirect_end_to_end(http_server):
    base = http_server(service_app("bankdirect", [Outcome.FAILED]))
    result = deliver("bankdirect", delivery.bankdirect_builder(TRANSFER, DEMO_BANK_PRIVATE_KEY), HttpTransport(base),
                     service_public_key=DEMO_SERVICE_PUBLIC_KEY, time_scale=0)
    assert result.outcome == DELIVERED
    assert [a.code for a in result.attempts] == ["99", "00"]


def test_http_transport_connection_refused_is_retried(http_server):
    base = http_server(service_app("sepay"))
    port = int(base.rsplit(":", 1)[1])
    dead = make_server("127.0.0.1", 0, Flask(__name__))  # a port that nobody serves once closed
    dead_port = dead.server_port
    dead.server_close()
    assert dead_port != port
    build = delivery.sepay_builder(TRANSFER, sepay_id=1, api_key=DEMO_SEPAY_API_KEY)
    result = deliver("sepay", build, HttpTransport(f"http://127.0.0.1:{dead_port}"), time_scale=0, max_attempts=2)
    assert result.outcome == GAVE_UP
    assert [a.status for a in result.attempts] == [None, None]
    assert "refused" in result.attempts[0].note.lower()


def test_http_transport_timeout(http_server):
    base = http_server(service_app("payos", delay=0.6))
    answer = HttpTransport(base).post("/callbacks/payos", {"Content-Type": "application/json"}, b"{}", 0.2)
    assert answer.status is None and "timed out" in answer.error


def test_wsgi_transport_slow_answer_is_no_answer():
    app = service_app("payos", delay=0.3)
    answer = WsgiTransport(app).post("/callbacks/payos", {"Content-Type": "application/json"}, b"{}", 0.1)
    assert answer.status is None and "no answer within" in answer.error


def test_http_transport_refuses_other_schemes():
    with pytest.raises(ValueError):
        HttpTransport("file:///etc/passwd")


def test_delivery_does_not_import_flask():
    code = "import sys, simulator.delivery; sys.exit('flask' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=str(__import__("pathlib").Path(__file__).parents[2]),
                          timeout=60).returncode == 0


# --- judging answers -------------------------------------------------------------------------

def test_judge_sepay_needs_success_true():
    assert judge("sepay", Answer(201, b'{"success": true}'))[0] == DELIVERED
    assert judge("sepay", Answer(200, b'{"success": false}'))[0] == "retry"
    assert judge("sepay", Answer(200, b"OK"))[0] == "retry"
    assert judge("sepay", Answer(None, error="boom"))[0] == "retry"


def test_max_attempts_and_time_scale_zero():
    sleeps = Sleeps()
    app = service_app("portal", [Outcome.FAILED] * 9)
    build = delivery.portal_builder(TRANSFER, DEMO_PORTAL_SECRET, portal_ref="dvc9", dossier_code="D-9")
    result = deliver("portal", build, WsgiTransport(app), sleep=sleeps, time_scale=0, max_attempts=2)
    assert len(result.attempts) == 2 and result.outcome == GAVE_UP
    assert sleeps == []
    with pytest.raises(ValueError, match="unknown channel"):
        deliver("pigeon", build, WsgiTransport(app))
