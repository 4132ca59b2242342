"""QR codes with payloads real documents carry: the EPC "Girocode" credit transfer for EUR
invoices and a payment/receipt URL otherwise. The payload is recorded verbatim in the fields."""

from __future__ import annotations

import numpy as np
import qrcode
from qrcode.constants import ERROR_CORRECT_M


def epc_payload(name: str, iban: str, total: str, currency: str, reference: str) -> str:
    """EPC069-12 (SEPA credit transfer) payload, as printed on European invoices."""
    iban = iban.replace(" ", "")
    return "\n".join(
        ["BCD", "002", "1", "SCT", "", name[:70], iban, f"{currency}{total}", "", "", reference[:140]]
    )


def url_payload(number: str, total: str, currency: str, host: str = "pay") -> str:
    """A payment or e-receipt link naming the document number and amount."""
    return f"https://{host}.example.com/d/{number}?amount={total}&currency={currency}"


def qr_matrix(payload: str, mask: int = 0) -> np.ndarray:
    """The module matrix (True = dark) including a 4-module quiet zone.

    The mask pattern is given rather than searched for: qrcode's search renders all eight in
    pure Python and would cost more than the rest of the page; any mask decodes the same."""
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=4, box_size=1, mask_pattern=mask % 8)
    qr.add_data(payload)
    qr.make(fit=True)
    return np.array(qr.get_matrix(), dtype=bool)
