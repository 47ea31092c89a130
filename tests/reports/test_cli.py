"""``flask report ...``: the monthly disclosure files, rebuild and check of the reports' tables,
and the reports' settings."""
from __future__ import annotations

import csv
import io
import json

from openpyxl import load_workbook
from PIL import Image
from sqlalchemy import insert, select

from core.audit import AuditRecord
from payments.models import Dossier


def test_monthly_writes_the_disclosure(runner, november, tmp_path):
    out = tmp_path / "cong-khai"
    result = runner.invoke(args=["report", "monthly", "--month", "2026-11", "--out", str(out)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("month 2026-11: 2 of 16 dossiers with fees paid online (12.5 %)")
    stem = "cong-khai-thanh-toan-truc-tuyen-2026-11"
    assert sorted(p.name for p in out.iterdir()) == [f"{stem}.csv", f"{stem}.png", f"{stem}.xlsx"]
    assert lines[1:] == [str(out / f"{stem}.xlsx"), str(out / f"{stem}.csv"), str(out / f"{stem}.png")]
    rows = list(csv.reader(io.StringIO((out / f"{stem}.csv").read_bytes().decode("utf-8-sig"))))
    assert rows[1][4:8] == ["19", "16", "2", "0.1250"]
    book = load_workbook(out / f"{stem}.xlsx")
    units = book["Theo đơn vị"]
    keys = [units.cell(r, 3).value for r in range(2, units.max_row + 1)]
    assert keys.index("P-DONGDA") < keys.index("P-HOANKIEM")  # both at 0: the one with more dossiers with fees first
    image = Image.open(out / f"{stem}.png")
    assert image.format == "PNG" and image.size[0] == 1600


def test_monthly_refuses_a_bad_month(runner, base, tmp_path):
    result = runner.invoke(args=["report", "monthly", "--month", "2026-13", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "YYYY-MM" in result.output
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = runner.invoke(args=["report", "monthly", "--month", "2026-11", "--out", str(blocker / "sub")])
    assert result.exit_code == 1 and "cannot create" in result.output


def test_check_and_rebuild(runner, november, session):
    assert runner.invoke(args=["report", "check"]).output.startswith("ok: 21 dossiers")
    t = Dossier.__table__
    row = session.execute(select(t).where(t.c.code == "CN2-C3")).mappings().one()
    session.execute(insert(t).values({**{k: v for k, v in row.items() if k != "id"}, "code": "BULK-1",
                                      "code_key": "BULK1"}))
    session.commit()
    result = runner.invoke(args=["report", "check"])
    assert result.exit_code == 1 and "differ" in result.output
    result = runner.invoke(args=["report", "rebuild"])
    assert result.exit_code == 0 and "rebuilt: 22 dossiers, 13 receipt lines, 3 lines receipted elsewhere" in result.output  # C1 ×2, C6
    assert runner.invoke(args=["report", "check"]).exit_code == 0


def test_the_settings(runner, base, session):
    shown = json.loads(runner.invoke(args=["report", "config", "show"]).output)
    assert shown["ONLINE_FLAG_VIETQR_AS_GATEWAY"] is False and shown["online_channels"] == ["portal"]
    assert shown["reports.scoring"]["3.6"] == {"points": 6, "full_marks_at": 0.3, "verified": False}
    result = runner.invoke(args=["report", "config", "set", "reports.online_channels", '["gateway", "portal", "card"]',
                                 "--actor", "quantri"])
    assert result.exit_code == 1 and "ONLINE_FLAG_VIETQR_AS_GATEWAY" in result.output  # retired: the flag decides
    result = runner.invoke(args=["report", "config", "set", "reports.scoring", '{"3.6": {"full_marks_at": 0.5}}',
                                 "--actor", "quantri"])
    assert result.exit_code == 0, result.output
    shown = json.loads(runner.invoke(args=["report", "config", "show"]).output)
    assert shown["reports.scoring"]["3.6"]["full_marks_at"] == 0.5 and shown["reports.scoring"]["3.5"]["points"] == 2
    for bad in (("reports.online_channels", '["bitcoin"]'), ("reports.scoring", '{"3.6": {"full_marks_at": 2}}'),
                ("reports.unknown", "1"), ("reports.close_grace_days", "not json")):
        result = runner.invoke(args=["report", "config", "set", *bad, "--actor", "quantri"])
        assert result.exit_code != 0, bad
    session.expire_all()
    actions = session.scalars(select(AuditRecord.data).where(AuditRecord.action == "setting.changed")).all()
    assert len(actions) == 1 and actions[0]["to"]["3.6"]["full_marks_at"] == 0.5
