"""Cache versions (migration 0017, ``core.versions``): every write to a cached table moves its
counter, whoever writes; the process caches of the accounts and the matching rules see a change
made on another connection (another instance) in the next transaction, with no time-to-live; a
change rolled back is never served; the counters are read once per transaction."""
from __future__ import annotations

from sqlalchemy import create_engine, event, select, text

from core.db import db
from core.versions import version, versions
from payments.agencies import seed_agencies
from reconciliation.inbound.transactions import accounts_by_number, resolve_account
from reconciliation.matching.matcher import MatchRules
from reconciliation.matching.reconcile import RULES_KEY, load_rules, save_rules


def _other_instance(database_url, *statements):
    """Write as another instance would: its own engine and connection, plain SQL, committed."""
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            for sql, params in statements:
                conn.execute(text(sql), params)
    finally:
        engine.dispose()


def test_every_write_moves_the_counter_of_its_table_and_only_at_commit(app, database_url):
    with app.app_context():
        session = db.session
        start = versions(session)
        assert set(start) == {"collection_accounts", "settings"}
        session.commit()
        seed_agencies(session, lambda _: None)  # inserts accounts through the ORM
        session.commit()
        after_seed = version(session, "collection_accounts")
        assert after_seed > start["collection_accounts"]
        assert version(session, "settings") == start["settings"]
        session.commit()
        # By hand, as in psql: a trigger counts it too.
        _other_instance(database_url, ("UPDATE collection_accounts SET holder_name = holder_name || ' '", {}))
        assert version(session, "collection_accounts") > after_seed
        session.commit()
        now = version(session, "collection_accounts")
        session.commit()
        session.execute(text("DELETE FROM collection_accounts WHERE number = 'none-such'"))
        session.rollback()
        assert version(session, "collection_accounts") == now  # a rolled-back write moves nothing
        session.commit()
        _other_instance(database_url, ("INSERT INTO settings (key, value, updated_at, updated_by) "
                                       "VALUES ('x', '1', CURRENT_TIMESTAMP, 'test')", {}),
                        ("DELETE FROM settings WHERE key = 'x'", {}))
        assert version(session, "settings") >= start["settings"] + 2


def test_an_account_changed_by_another_instance_is_seen_by_the_next_transaction(app, database_url):
    with app.app_context():
        session = db.session
        seed_agencies(session, lambda _: None)
        session.commit()
        number, bank_bin = session.execute(text("SELECT number, bank_bin FROM collection_accounts "
                                                "ORDER BY id LIMIT 1")).one()
        assert resolve_account(session, number, bank_bin).account_id is not None
        session.commit()
        assert "9999000011112222" not in accounts_by_number(session)
        session.commit()
        _other_instance(database_url, ("UPDATE collection_accounts SET number = '9999000011112222' "
                                       "WHERE number = :n AND bank_bin = :b", {"n": number, "b": bank_bin}))
        # No waiting: the very next transaction of this process reads them again.
        assert "9999000011112222" in accounts_by_number(session)
        assert resolve_account(session, number, bank_bin).account_id is None
        session.commit()


def test_rules_changed_by_another_instance_are_used_by_the_next_transaction(app, database_url):
    with app.app_context():
        session = db.session
        assert load_rules(session).of("reference_exact") == 1.0
        session.commit()
        changed = MatchRules.from_data({"confidence": {"reference_exact": 0.96}}).as_data()
        import json

        _other_instance(database_url, ("INSERT INTO settings (key, value, updated_at, updated_by) "
                                       "VALUES (:k, :v, CURRENT_TIMESTAMP, 'other')",
                                       {"k": RULES_KEY, "v": json.dumps(changed)}))
        assert load_rules(session).of("reference_exact") == 0.96
        session.commit()


def test_rules_saved_then_rolled_back_are_never_served(app):
    with app.app_context():
        session = db.session
        assert load_rules(session).auto_threshold == 0.9
        session.commit()
        save_rules(session, MatchRules.from_data({"auto_threshold": 0.99}), "test")
        assert load_rules(session).auto_threshold == 0.99  # its own transaction sees its change
        session.rollback()
        assert load_rules(session).auto_threshold == 0.9
        session.commit()
        save_rules(session, MatchRules.from_data({"auto_threshold": 0.98}), "test")
        session.commit()
        assert load_rules(session).auto_threshold == 0.98
        session.commit()


def test_the_counters_are_read_once_per_transaction(app):
    with app.app_context():
        session = db.session
        seed_agencies(session, lambda _: None)
        session.commit()
        seen: list[str] = []
        engine = db.engine

        def count(_conn, _cursor, statement, *_args):
            if "cache_versions" in statement:
                seen.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        try:
            for _ in range(3):
                accounts_by_number(session)
                load_rules(session)
            assert len(seen) == 1
            session.commit()
            accounts_by_number(session)
            load_rules(session)
            assert len(seen) == 2
            session.commit()
        finally:
            event.remove(engine, "before_cursor_execute", count)


def test_0017_down_and_up(database_url):
    from alembic import command
    from sqlalchemy import inspect

    from core.cli import alembic_config

    config = alembic_config(database_url)
    engine = create_engine(database_url)
    try:
        command.downgrade(config, "0016")
        assert "cache_versions" not in inspect(engine).get_table_names()
        with engine.begin() as conn:  # no trigger is left to write to a table that is gone
            conn.execute(text("UPDATE collection_accounts SET holder_name = holder_name"))
            conn.execute(text("INSERT INTO settings (key, value, updated_at, updated_by) "
                              "VALUES ('x', '1', CURRENT_TIMESTAMP, 'test')"))
        command.upgrade(config, "head")
        with engine.begin() as conn:
            assert dict(conn.execute(text("SELECT name, version FROM cache_versions")).all()) == {
                "collection_accounts": 0, "settings": 0}
            conn.execute(text("DELETE FROM settings WHERE key = 'x'"))
        with engine.connect() as conn:
            assert conn.execute(text("SELECT version FROM cache_versions WHERE name = 'settings'")).scalar_one() == 1
    finally:
        engine.dispose()


def test_an_account_changed_then_rolled_back_is_never_served(app):
    from payments.models import CollectionAccount

    with app.app_context():
        session = db.session
        seed_agencies(session, lambda _: None)
        session.commit()
        account = session.scalars(select(CollectionAccount).order_by(CollectionAccount.id)).first()
        number = account.number
        assert number in accounts_by_number(session)
        account.number = "8888000011112222"
        session.flush()
        assert "8888000011112222" in accounts_by_number(session)  # its own transaction sees its change
        session.rollback()
        assert "8888000011112222" not in accounts_by_number(session) and number in accounts_by_number(session)
        session.commit()
