"""The national portal's payment platform, as the simulator plays it: its own record of the
payments citizens made on it (a JSON file per payment under ``instance/simportal/``), so
that its status query can answer for a confirmation it never sent."""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from bank_adapters import portal
from bank_adapters.transfers import BankTransfer
from simulator import callbacks


@dataclass
class PlatformPayment:
    ref: str                 # MaThamChieu
    dossier_code: str
    procedure_code: str
    status: str              # "00" paid | "01" pending | "02" failed
    transfer: dict           # the transfer as the bank booked it (see ``ledger``)
    confirmed: bool = False  # whether the confirmation was sent

    def bank_transfer(self) -> BankTransfer:
        from simulator.ledger import transfer_from_json

        return transfer_from_json(self.transfer)


class Platform:
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def _path(self, ref: str) -> Path:
        safe = "".join(ch for ch in ref if ch.isalnum())
        return self.root / f"{safe}.json"

    def save(self, payment: PlatformPayment) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        path = self._path(payment.ref)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(asdict(payment), ensure_ascii=False), encoding="utf-8")
        temporary.replace(path)

    def get(self, ref: str) -> PlatformPayment | None:
        path = self._path(ref)
        if not path.exists():
            return None
        return PlatformPayment(**json.loads(path.read_text(encoding="utf-8")))

    def answer(self, body: bytes, secret: str) -> dict[str, str]:
        """The platform's answer to a status query (portal.md): the confirmation object with
        ``MaLoi`` 00 paid, 01 pending or 02 failed; 04 for a query it cannot read."""
        try:
            ref = portal.verify_query(body, secret)
        except Exception as exc:  # a wrong MaXacThuc or an unreadable body
            return {"MaLoi": "04", "MoTaLoi": f"Yeu cau khong hop le: {exc}"}
        payment = self.get(ref)
        if payment is None:
            return {"MaLoi": "04", "MoTaLoi": "Khong tim thay giao dich"}
        return callbacks.portal_object(payment.bank_transfer(), secret, portal_ref=payment.ref,
                                       dossier_code=payment.dossier_code, procedure_code=payment.procedure_code,
                                       code=payment.status)
