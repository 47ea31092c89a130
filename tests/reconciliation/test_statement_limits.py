"""CONTRACT.md "Amounts" on statement import, on SQLite and PostgreSQL: a camt.053, MT940 or
CSV statement with a line over 9,999,999,999,999 đồng (a 14-digit one, and 10^20) is refused
whole with 422 naming the line, through the API, the function, the finance page, the CLI and
the drop folder; it leaves no import behind and changes nothing, the same file again gets the
same refusal, and the corrected file imports. An error half-way through an import marks it
``failed`` (never ``importing`` for ever), and the same file again finishes it."""
from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bank_adapters.transfers import IN, BankTransfer
from core.clock import ict_day, utcnow
from core.errors import ValidationError
from core.money import MAX_AMOUNT
from core.refusals import Refusal
from core.tokens import create_token
from reconciliation.inbound import statement_import
from reconciliation.inbound.statement_import import import_statement
from reconciliation.models import BankTransaction, Statement, StatementImport, StatementLine
from simulator.statement_files import write_statement

from .test_finance_pages import HOANKIEM, csrf_token, ketoan, site, text  # noqa: F401

FORMATS = ("camt053", "mt940", "csv")
BIG = (10**13, 10**20)  # 14 digits, and the fuzzer's 10^20


def transfer(n: int, amount: int, day) -> BankTransfer:
    return BankTransfer(account=HOANKIEM, bank_ref=f"FT26LIM{n:06d}", amount=amount, direction=IN,
                        booked_at=utcnow() - timedelta(minutes=n), content=f"NOP PHI HO SO {n}", bank_bin="970405",
                        counter_account="0011001234567", counter_name="NGUYEN VAN A", counter_bank="970436")


def statement(fmt: str, amounts: list[int]) -> bytes:
    day = ict_day(utcnow())
    buffer = io.BytesIO()
    write_statement(fmt, buffer, account=HOANKIEM, bank_bin="970405", day_from=day, day_to=day,
                    opening_balance=1_000_000, transfers=[transfer(i + 1, a, day) for i, a in enumerate(amounts)])
    return buffer.getvalue()


def counts(session) -> tuple[int, ...]:
    session.rollback()
    return tuple(session.scalar(select(func.count()).select_from(model))
                 for model in (StatementImport, Statement, StatementLine, BankTransaction))


def assert_names_the_bad_line(fmt: str, data: bytes, params: dict, amount: int) -> None:
    assert params["amount"] == amount and params["limit"] == MAX_AMOUNT
    line = params["line"]
    assert isinstance(line, int) and line > 1 and params["where"].startswith(f"line {line}")
    lines = data.decode("utf-8-sig").splitlines()
    if fmt == "camt053":  # the line where the entry starts
        assert "<Ntry>" in lines[line - 1]
        assert str(amount) in "".join(lines[line - 1:line + 3])
    else:
        assert str(amount) in "".join(ch for ch in lines[line - 1] if ch.isdigit())


@pytest.fixture
def finance(seeded):
    token = create_token(seeded, "limits-finance", "finance")
    seeded.commit()
    return {"Authorization": f"Bearer {token}"}


def api_upload(client, headers, data: bytes, name: str):
    return client.post("/api/v1/statements", headers=headers, data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("amount", BIG)
def test_the_api_refuses_a_statement_with_a_line_over_the_limit_whole(client, seeded, finance, fmt, amount):
    bad = statement(fmt, [8000, amount, 5000])
    before = counts(seeded)
    for _ in range(2):  # the same file again: the same clear refusal, not a 500 or "already imported"
        response = api_upload(client, finance, bad, f"s.{fmt}")
        assert response.status_code == 422, response.get_data(as_text=True)
        assert response.mimetype == "application/problem+json"
        problem = response.get_json()
        assert problem["code"] == "statement_amount_out_of_range"
        assert_names_the_bad_line(fmt, bad, problem["params"], amount)
        assert problem["errors"][0]["field"] == "file" and f"line {problem['params']['line']}" in \
            problem["errors"][0]["message"]
        assert counts(seeded) == before == (0, 0, 0, 0)
    fixed = statement(fmt, [8000, MAX_AMOUNT, 5000])  # at the limit: imported
    response = api_upload(client, finance, fixed, f"s.{fmt}")
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["entries"] == 3 and response.get_json()["new_transactions"] == 3
    seeded.rollback()
    assert sorted(seeded.scalars(select(BankTransaction.amount))) == [5000, 8000, MAX_AMOUNT]
    assert seeded.scalars(select(StatementImport.status)).all() == ["done"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_function_refuses_it_too_and_leaves_nothing(seeded, fmt):
    bad = statement(fmt, [10**20])
    with pytest.raises(ValidationError) as refused:
        import_statement(seeded, io.BytesIO(bad), filename="s", actor="test")
    assert refused.value.code == Refusal.STATEMENT_AMOUNT_OUT_OF_RANGE and refused.value.status == 422
    assert refused.value.params["amount"] == 10**20
    assert counts(seeded) == (0, 0, 0, 0)


def test_a_huge_balance_is_refused_as_unreadable_not_a_500(client, seeded, finance):
    data = statement("mt940", [8000]).replace(b"VND1000000,", b"VND" + b"9" * 25 + b",", 1)
    assert b"9" * 25 in data
    response = api_upload(client, finance, data, "s.sta")
    assert response.status_code == 422 and response.get_json()["code"] == "unreadable_statement"
    assert counts(seeded) == (0, 0, 0, 0)


def test_the_finance_page_says_which_line_in_vietnamese_and_english(site, ketoan):  # noqa: F811
    bad = statement("csv", [8000, 10**20])
    for lang, expected in (("vi", "Sao kê bị từ chối cả tệp: dòng"), ("en", "The statement is refused whole: line")):
        ketoan.get(f"/lang/{lang}")
        response = ketoan.post("/finance/statements", data={"csrf_token": csrf_token(ketoan, "/finance/statements"),
                                                            "file": (io.BytesIO(bad), "sao-ke.csv")},
                               content_type="multipart/form-data")
        page = text(response)
        assert response.status_code == 422 and expected in page, page[:2000]
        assert "100.000.000.000.000.000.000" in page  # the amount, for people
    with site.app_context():
        from core.db import db
        assert db.session.scalar(select(func.count()).select_from(StatementImport)) == 0


def test_the_cli_refuses_it_with_the_code(app, seeded, tmp_path):
    path = tmp_path / "sao-ke.sta"
    path.write_bytes(statement("mt940", [8000, 10**13]))
    result = app.test_cli_runner().invoke(args=["statement", "import", str(path)], env={"LANG": "en_US.UTF-8"})
    assert result.exit_code == 1
    assert "error [statement_amount_out_of_range]" in result.output and "line" in result.output
    assert counts(seeded) == (0, 0, 0, 0)


def test_the_drop_folder_moves_it_to_failed_with_the_reason(app, seeded, tmp_path):
    from reconciliation.inbound.dropfolder import process_folder

    folder = tmp_path / "drop"
    folder.mkdir()
    (folder / "sao-ke.csv").write_bytes(statement("csv", [10**20]))
    report = process_folder(folder, actor="test")
    assert "sao-ke.csv: failed" in report and "over the limit" in report
    assert (folder / "failed" / "sao-ke.csv").exists()
    assert "over the limit" in (folder / "failed" / "sao-ke.csv.error.txt").read_text(encoding="utf-8")
    assert counts(seeded) == (0, 0, 0, 0)


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_error_half_way_marks_the_import_failed_and_the_same_file_finishes_it(client, seeded, finance,
                                                                                 monkeypatch, fmt):
    data = statement(fmt, [8000, 9000, 10000, 11000, 12000])
    real_flush = statement_import._flush
    calls = []

    def flaky(session, record, state, chunk):
        calls.append(chunk.size)
        if len(calls) == 2:
            raise RuntimeError("the database went away")
        real_flush(session, record, state, chunk)

    monkeypatch.setattr(statement_import, "_flush", flaky)
    with pytest.raises(RuntimeError):
        import_statement(seeded, io.BytesIO(data), filename="s", actor="test", chunk_size=2)
    seeded.rollback()
    record = seeded.scalar(select(StatementImport))
    assert record.status == "failed" and "the database went away" in record.error
    assert record.lines_done == 2
    monkeypatch.setattr(statement_import, "_flush", real_flush)
    response = api_upload(client, finance, data, f"s.{fmt}")  # retried: resumes, not "already imported"
    assert response.status_code == 201, response.get_json()
    seeded.rollback()
    record = seeded.scalar(select(StatementImport))
    assert record.status == "done" and record.error is None
    assert sorted(seeded.scalars(select(BankTransaction.amount))) == [8000, 9000, 10000, 11000, 12000]
    assert seeded.scalar(select(func.count()).select_from(StatementLine)) == 5
    again = api_upload(client, finance, data, f"s.{fmt}")
    assert again.status_code == 200 and counts(seeded) == (1, 1, 5, 5)


def test_the_statements_page_lists_a_failed_import_until_the_same_file_finishes_it(site, ketoan,  # noqa: F811
                                                                                    monkeypatch):
    from core.db import db

    data = statement("csv", [8000, 9000, 10000])
    real_flush = statement_import._flush
    calls = []

    def flaky(session, record, state, chunk):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("the database went away")
        real_flush(session, record, state, chunk)

    monkeypatch.setattr(statement_import, "_flush", flaky)
    with site.app_context(), pytest.raises(RuntimeError):
        import_statement(db.session, io.BytesIO(data), filename="sao-ke-do.csv", actor="test", chunk_size=2)
    monkeypatch.setattr(statement_import, "_flush", real_flush)
    page = text(ketoan.get("/finance/statements"))
    assert 'data-testid="unfinished-imports"' in page and "sao-ke-do.csv" in page and "lỗi, chưa xong" in page
    assert "the database went away" in page
    response = ketoan.post("/finance/statements", data={"csrf_token": csrf_token(ketoan, "/finance/statements"),
                                                         "file": (io.BytesIO(data), "sao-ke-do.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    assert 'data-testid="unfinished-imports"' not in text(ketoan.get("/finance/statements"))
