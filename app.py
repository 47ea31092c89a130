"""The application factory and WSGI target: ``gunicorn 'app:create_app()'``."""
from __future__ import annotations

import os
from typing import Any, Mapping

from flask import Flask
from flask_wtf import CSRFProtect

from core.config import DEV_ENVS, load_settings
from core.db import db
from core.web import babel, register_error_handlers, select_locale

csrf = CSRFProtect()

# Every module that defines models; Alembic's autogenerate and the tests import them all.
MODEL_MODULES = ("core.users", "core.throttle", "core.tokens", "core.settings", "core.versions", "core.audit",
                 "payments.models", "reconciliation.models", "reports.models")


def import_models() -> None:
    import importlib

    for name in MODEL_MODULES:
        importlib.import_module(name)


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    instance_path = (config or {}).get("INSTANCE_PATH")
    app = Flask(__name__, instance_relative_config=True, instance_path=instance_path)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.update(load_settings(app.instance_path, config))
    if app.config["TRUSTED_PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # The client's address (sign-in throttling) and scheme as the proxies in front saw them.
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    register_extensions(app)
    register_hooks()
    register_jobs()
    register_api_docs()
    register_blueprints(app)
    register_error_handlers(app)
    register_cli(app)
    register_template_helpers(app)
    return app


def register_extensions(app: Flask) -> None:
    from core.login import init_login
    from core.requestlog import init_request_log
    from core.ratelimit import init_ratelimit
    from core.security import init_security

    db.init_app(app)
    babel.init_app(app, locale_selector=select_locale, default_timezone="Asia/Ho_Chi_Minh")
    csrf.init_app(app)
    init_login(app)  # Flask-Login: staff sessions for the pages
    init_security(app)  # CSP, framing, no-store on staff pages, HSTS on https
    init_request_log(app)  # request ids, one JSON log line per request (LOG_FORMAT)
    init_ratelimit(app)  # per-address limits on public pages and refused callbacks (Flask-Limiter)


def register_hooks() -> None:
    """Every connection between packages that runs by itself, in one place (each idempotent)."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    from payments.api_schemas import register_payment_lines
    from reconciliation.api.schemas import dossier_payments
    from reconciliation.channels.outbox import announce_cancellations
    from reconciliation.channels.portal import handle_event
    from reconciliation.inbound.ingest import on_transfers, set_portal_handler
    from reconciliation.matching.reconcile import on_new_transfers
    from reports.facts import install as keep_report_tables

    on_transfers(on_new_transfers)  # new credits are matched in the callback's own transaction
    set_portal_handler(handle_event)  # the national portal's confirmations
    register_payment_lines(dossier_payments)  # a dossier lists its payments (the API, receipts)
    if not event.contains(Session, "before_flush", announce_cancellations):
        event.listen(Session, "before_flush", announce_cancellations)  # a cancelled request's event
    keep_report_tables()  # the reports' tables follow every session's changes


def register_jobs() -> None:
    """The scheduler's jobs of packages above reconciliation (its own are ``scheduler.JOBS``)."""
    from reconciliation.scheduler import register_job
    from reports.jobs import REPORT_FACTS

    register_job(REPORT_FACTS)


def register_api_docs() -> None:
    """The OpenAPI document (``payments.openapi``) with the other packages' operations."""
    from payments.openapi import extend
    from reconciliation.api import openapi as reconciliation_doc
    from reports import openapi as reports_doc
    from reports import treasury_openapi as treasury_doc

    for doc in (reconciliation_doc, reports_doc, treasury_doc):
        extend(paths=doc.PATHS, schemas=doc.SCHEMAS, responses=doc.RESPONSES, tags=doc.TAGS)


def register_blueprints(app: Flask) -> None:
    from core.login import bp as auth
    from core.staff_views import bp as staff
    from core.views import bp as site
    from ops.views import bp as ops
    from payments.admin import bp as admin
    from payments.api import bp as api
    from payments.citizen import bp as citizen
    from payments.counter import bp as counter
    from payments.receipt_views import bp as receipt_changes
    from reconciliation.web.admin_events import bp as admin_events
    from reconciliation.api.api import bp as recon_api
    from reconciliation.web.cash_views import bp as cash
    from reconciliation.web.citizen_help import bp as citizen_help
    from reconciliation.web.finance import bp as finance
    from reconciliation.inbound.webhooks import bp as callbacks
    from reports.api import bp as reports_api
    from reports.treasury_api import bp as treasury_api
    from reports.treasury_views import bp as treasury
    from reports.views import bp as reports

    app.register_blueprint(site)
    app.register_blueprint(ops)  # /readyz, /metrics
    app.register_blueprint(auth)
    app.register_blueprint(api)
    app.register_blueprint(citizen)
    app.register_blueprint(counter)
    app.register_blueprint(admin)
    app.register_blueprint(staff)
    app.register_blueprint(recon_api)
    app.register_blueprint(callbacks)
    app.register_blueprint(finance)
    app.register_blueprint(receipt_changes)
    app.register_blueprint(cash)
    app.register_blueprint(citizen_help)  # the citizen's refund request and inquiry (on /pay/<token>)
    app.register_blueprint(admin_events)
    app.register_blueprint(reports)
    app.register_blueprint(reports_api)
    app.register_blueprint(treasury)
    app.register_blueprint(treasury_api)
    csrf.exempt(api)  # bearer tokens, not cookies: no CSRF exposure
    csrf.exempt(recon_api)
    csrf.exempt(reports_api)
    csrf.exempt(treasury_api)
    csrf.exempt(callbacks)  # each format authenticates itself (signatures, keys)
    csrf.exempt("reconciliation.web.finance.upload_statement")  # checks CSRF itself, after raising the size limit
    if app.config["APP_ENV"] in DEV_ENVS:  # the simulated portal platform plays its part in demos and tests
        from simulator.views import bp as simulator

        app.register_blueprint(simulator)
        csrf.exempt(simulator)


def register_cli(app: Flask) -> None:
    from core.cli import db_cli, seed_command, token_cli, user_cli
    from core.demo_users import seed_demo_users
    from core.seed import register_seeder
    from payments.agencies import seed_agencies
    from payments.catalogue import seed_catalogue
    from payments.cli import catalogue_cli
    from payments.demo import seed_demo_dossiers
    from qr.cli import qr_cli
    from reconciliation.cli import (audit_cli, day_cli, events_cli, journal_cli, match_cli, scheduler_cli,
                                    statement_cli)
    from simulator.cli import bank_cli
    from reports.cli import report_cli

    register_seeder(10, "demo staff users", seed_demo_users)
    register_seeder(20, "agencies and collection accounts", seed_agencies)
    register_seeder(30, "fee catalogue", seed_catalogue)
    register_seeder(90, "demo dossiers", seed_demo_dossiers)
    app.cli.add_command(db_cli)
    app.cli.add_command(seed_command)
    app.cli.add_command(qr_cli)
    app.cli.add_command(token_cli)
    app.cli.add_command(user_cli)
    app.cli.add_command(catalogue_cli)
    for command in (journal_cli, statement_cli, bank_cli, scheduler_cli, audit_cli, day_cli, match_cli, events_cli,
                    report_cli):
        app.cli.add_command(command)


def register_template_helpers(app: Flask) -> None:
    from flask_babel import get_locale

    from core.clock import format_ict
    from core.money import amount_in_words_for, format_vnd

    app.jinja_env.filters["vnd"] = format_vnd
    app.jinja_env.filters["in_words"] = lambda amount: amount_in_words_for(amount, str(get_locale()))
    app.jinja_env.filters["ict"] = format_ict
    app.jinja_env.globals["current_locale"] = lambda: str(get_locale())
    from core.users import actor_name

    app.jinja_env.globals["actor"] = actor_name  # who did it, by name or label: never ``user:x``
