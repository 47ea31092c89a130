"""``flask --app app qr ...`` exactly as the integration contract says: stdout, stderr, exit code."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from qr.cli import qr_cli

ROOT = Path(__file__).resolve().parents[2]
NAPAS_EXAMPLE = (
    "00020101021238570010A00000072701270006970403011300110123456780208QRIBFTTA"
    "530370454061800005802VN62340107NPS68690819thanh toan don hang63042E2E"
)
KEYS = ["payload_format", "point_of_initiation", "guid", "bin", "bank_code", "account", "service_code",
        "amount", "currency", "country", "merchant_name", "merchant_city", "bill_number", "reference_label",
        "terminal_label", "purpose", "crc"]


def flask(*args: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/cli.db"}
    return subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def test_decode_prints_one_json_object(tmp_path):
    result = flask("qr", "decode", NAPAS_EXAMPLE, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.strip().splitlines()) == 1
    fields = json.loads(result.stdout)
    assert list(fields) == KEYS
    assert fields["amount"] == 180000 and fields["bank_code"] == "STB" and fields["merchant_name"] is None


def test_decode_error_is_one_line_on_stderr_and_exit_1(tmp_path):
    result = flask("qr", "decode", NAPAS_EXAMPLE[:-1] + "F", tmp_path=tmp_path)
    assert result.returncode == 1 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: CRC mismatch") and "tag 63" in lines[0]


def test_encode_prints_the_payload(tmp_path):
    result = flask("qr", "encode", "--bank", "970403", "--account", "0011012345678", "--amount", "180000",
                   "--purpose", "thanh toan don hang", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    payload = result.stdout.strip()
    assert payload.startswith("000201010212") and "5406180000" in payload
    assert json.loads(flask("qr", "decode", payload, tmp_path=tmp_path).stdout)["purpose"] == "thanh toan don hang"


def invoke(*args: str, input: str | None = None):
    return CliRunner().invoke(qr_cli, list(args), input=input)


def test_static_code():
    result = invoke("encode", "--bank", "VietinBank", "--account", "113366668888", "--static")
    assert result.exit_code == 0
    assert result.stdout.startswith("000201010211") and "970415" in result.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["--account", "113366668888", "--amount", "0"], "positive"),
        (["--account", "113366668888", "--amount", "12.5"], "not a whole number"),
        (["--account", "113366668888", "--amount", "abc"], "--amount"),
        (["--account", "113366668888", "--amount", "1000", "--static"], "static"),
        (["--account", "113366668888", "--purpose", "x" * 26], "at most 25"),
        (["--account", "113366668888", "--purpose", "phí 5€"], "printable ASCII"),
        (["--account", "1" * 20], "at most 19"),
    ],
)
def test_encode_refusals(args, message):
    result = invoke("encode", "--bank", "970415", *args)
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    assert result.stderr.startswith("error: ") and message in result.stderr


def test_unknown_bank_name_is_refused():
    result = invoke("encode", "--bank", "NoSuchBank", "--account", "1", "--amount", "1000")
    assert result.exit_code == 1 and "unknown bank" in result.stderr


def test_unknown_bin_warns_and_encodes():
    result = invoke("encode", "--bank", "999999", "--account", "1", "--amount", "1000")
    assert result.exit_code == 0 and result.stdout.startswith("000201")
    assert result.stderr.startswith("warning: BIN 999999")


def test_decode_from_stdin():
    result = invoke("decode", "-", input=NAPAS_EXAMPLE + "\n")
    assert result.exit_code == 0 and json.loads(result.stdout)["bill_number"] == "NPS6869"


def test_card_command_writes_a_card_whose_qr_reads_back(tmp_path):
    import zxingcpp
    from PIL import Image

    out = tmp_path / "card.png"
    result = invoke("card", "--bank", "VietinBank", "--account", "113000123456", "--holder", "VĂN PHÒNG ĐĂNG KÝ ĐẤT ĐAI",
                    "--amount", "1528000", "--content", "HS7K2M9QXA4 LE PHI", "--dossier", "000.00.12.H26-261125-0001",
                    "--valid-until", "2026-11-26T17:00:00+07:00", "--out", str(out))
    assert result.exit_code == 0, result.output
    decoded = [r.text for r in zxingcpp.read_barcodes(Image.open(out))]
    assert len(decoded) == 1
    fields = json.loads(invoke("decode", decoded[0]).stdout)
    assert (fields["amount"], fields["purpose"], fields["account"]) == (1528000, "HS7K2M9QXA4 LE PHI", "113000123456")
    pdf = tmp_path / "card.pdf"
    assert invoke("card", "--bank", "970415", "--account", "1", "--holder", "X", "--layout", "receipt80",
                  "--out", str(pdf)).exit_code == 0
    assert pdf.read_bytes().startswith(b"%PDF")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--out", "card.txt"], ".pdf or .png"),
        (["--out", "card.pdf", "--valid-until", "tomorrow"], "--valid-until"),
        (["--out", "card.pdf", "--content", "x" * 30], "at most 25"),
    ],
)
def test_card_command_refusals(tmp_path, args, message):
    args = [a.replace("card.", str(tmp_path / "card.")) for a in args]
    result = invoke("card", "--bank", "970415", "--account", "1", "--holder", "X", "--amount", "1000", *args)
    assert result.exit_code == 1 and message in result.stderr
    assert not any(tmp_path.iterdir())


def test_decode_prints_warnings_on_stderr_and_the_json_on_stdout(tmp_path):
    from tests.qr.test_vietqr import MOMO

    result = flask("qr", "decode", MOMO, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    fields = json.loads(result.stdout)
    assert list(fields) == KEYS and fields["reference_label"] == "MOMOW2W34875080" and fields["bin"] == "970454"
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("warning: tag 80 at offset 114 holds '046'")
