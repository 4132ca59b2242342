"""What is written on a page: Faker content per document type, as layout blocks plus the
normalised fields that the ground truth records (ISO dates, decimal amounts, ISO currency).

Each builder returns a :class:`Doc`; the layout engine (layout.py) decides where things go.
Amounts are computed with ``Decimal`` so the printed line items always add up to the total.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from typing import Any

from faker import Faker

from models.corpus.money import fmt_amount, fmt_date, fmt_qty, norm, q
from models.corpus.qr import epc_payload, url_payload
from models.corpus.vocab import ACCOUNT, CURRENCIES, PRODUCTS, RECEIPT, TAX_RATES, T


@dataclass
class Block:
    kind: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Doc:
    doc_type: str
    lang: str
    blocks: list[Block]
    fields: dict[str, Any]
    page_no: int = 1
    page_count: int = 1
    size: str = "a4"  # "a4", "letter" or "receipt"


def _b(kind: str, **data: Any) -> Block:
    return Block(kind, data)


class Ctx:
    """Per-page generation context: Faker, a seeded Random, the language's strings."""

    def __init__(self, fake: Faker, rng: random.Random, lang: str) -> None:
        self.f = fake
        self.r = rng
        self.lang = lang
        self.t = T[lang]
        self.want = 0  # signatures this page will carry (set by the page generator)
        self.day_first = lang != "en"  # numeric date order; English follows the currency

    def currency(self) -> str:
        """The page's currency; an English page priced in anything but dollars dates day first."""
        cur = str(self.pick(CURRENCIES[self.lang]))
        if self.lang == "en":
            self.day_first = cur != "USD"
        return cur

    def pick(self, seq: Any) -> Any:
        return seq[self.r.randrange(len(seq))]

    def day(self) -> date:
        return date(2019, 1, 1) + timedelta(days=self.r.randrange(365 * 7))

    def date_str(self, d: date) -> str:
        return fmt_date(d, self.lang, self.r, self.day_first)

    def money(self, x: Decimal, cur: str | None) -> str:
        return fmt_amount(x, self.lang, cur, self.r)

    def company(self) -> dict[str, Any]:
        addr = self.f.address().split("\n")
        name = self.f.company()
        lines = [*addr, self.f.phone_number()]
        if self.r.random() < 0.5:
            lines.append(self.f.company_email())
        if self.lang == "fr" and self.r.random() < 0.6:
            lines.append(
                f"SIRET {self.f.siret()}"
                if hasattr(self.f, "siret")
                else f"SIRET {self.r.randrange(10**13, 10**14)}"
            )
        return {"name": name, "lines": lines}

    def person(self) -> dict[str, Any]:
        return {"name": self.f.name(), "lines": self.f.address().split("\n")}

    def number(self, prefix: str) -> str:
        year = 2019 + self.r.randrange(7)
        style = self.r.randrange(3)
        if style == 0:
            return f"{prefix}-{year}-{self.r.randrange(1, 99999):05d}"
        if style == 1:
            return f"{prefix}{self.r.randrange(100000, 999999)}"
        return f"{year}{self.r.randrange(1, 12):02d}-{self.r.randrange(1, 9999):04d}"

    def sentences(self, n: int) -> str:
        return " ".join(self.f.sentence(nb_words=self.r.randrange(8, 18)) for _ in range(n))


def line_items(
    c: Ctx, n: int, cur: str, with_price: bool = True
) -> tuple[list[dict[str, str]], list[list[str]]]:
    """Line items (normalised) and their printed table rows; amounts are qty x unit price."""
    items, rows = [], []
    for _ in range(n):
        desc = c.pick(PRODUCTS[c.lang])
        if c.r.random() < 0.3:
            desc = f"{desc} - {c.f.word().capitalize()}"
        qty = Decimal(c.r.choice([1, 1, 1, 2, 2, 3, 4, 5, 6, 10, 12, 20, 24]))
        if c.r.random() < 0.1:
            qty = Decimal(c.r.randrange(5, 80)) / 2  # hours in halves
        unit = q(Decimal(c.r.randrange(150, 150000)) / 100)
        amount = q(qty * unit)
        items.append(
            {
                "description": desc,
                "quantity": f"{qty.normalize():f}",
                "unit_price": norm(unit),
                "amount": norm(amount),
            }
        )
        row = [desc, fmt_qty(qty, c.lang)]
        if with_price:
            row += [c.money(unit, None), c.money(amount, None)]
        rows.append(row)
    return items, rows


def _totals(
    c: Ctx, items: list[dict[str, str]], cur: str
) -> tuple[dict[str, str], list[tuple[str, str, bool]]]:
    sub = sum((Decimal(i["amount"]) for i in items), Decimal("0"))
    rate = c.pick(TAX_RATES[c.lang])
    tax = q(sub * rate)
    total = q(sub + tax)
    t = c.t
    rate_s = f"{(rate * 100).normalize():f}%".replace(".", "," if c.lang == "fr" else ".")
    printed = [(t["subtotal"], c.money(sub, cur), False), (f"{t['tax']} {rate_s}", c.money(tax, cur), False),
               (t["total"], c.money(total, cur), True)]  # fmt: skip
    return {"subtotal": norm(sub), "tax": norm(tax), "tax_rate": f"{rate:f}", "total": norm(total)}, printed


def _iban(c: Ctx) -> str:
    if hasattr(c.f, "iban"):
        return str(c.f.iban())
    return "FR76" + "".join(str(c.r.randrange(10)) for _ in range(23))


def _creditor_id(country: str, national: str) -> str:
    """A SEPA creditor identifier with its check digits (EPC262-08: MOD 97-10 over the national
    identifier, the country and "00"; the business code "ZZZ" is left out of it)."""
    digits = "".join(str(int(ch, 36)) for ch in national + country + "00")
    return f"{country}{98 - int(digits) % 97:02d}ZZZ{national}"


def _signing(c: Ctx, labels: list[str]) -> Block:
    """A signature block. Pages that will carry many signatures usually print a slot for each
    (co-signers, witnesses, approvers), so extra slots are added for them most of the time."""
    labels = list(labels)
    if c.want > len(labels) and c.r.random() < 0.7:
        extra = ["witness", "guarantor", "approved", "customer", "supplier"]
        k = 1
        while len(labels) < min(c.want, 6):
            labels.append(f"{c.t[extra[(k - 1) % len(extra)]]} {k}")
            k += 1
    return _b(
        "sign", slots=labels, style=c.pick(["line", "line", "box", "dotted"]), with_date=c.r.random() < 0.5
    )


def _account_lines(c: Ctx, d: date, client: dict[str, Any]) -> list[tuple[str, str]]:
    """What utilities, telecoms and cloud providers print beside the invoice number: the account,
    the customer id, the billing period and how they reach the customer. Identity-looking
    details on a page that is still an invoice."""
    w = ACCOUNT[c.lang]
    start = d.replace(day=1)
    end = (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    opts = [
        (c.pick(w["account"]), str(c.r.randrange(10**9, 10**12))),
        (c.pick(w["customer"]), f"{c.pick('ABCDEFGHKLMNPRSTUVWXYZ')}{c.r.randrange(10**6, 10**8)}"),
        (w["period"], f"{c.date_str(start)} - {c.date_str(end)}"),
        (c.pick(w["contact"]), c.f.email()),
        (w["line"], c.f.phone_number()),
    ]
    return c.r.sample(opts, c.r.randrange(2, len(opts) + 1))


def build_invoice(c: Ctx, kind: str = "invoice") -> Doc:
    t = c.t
    cur = c.currency()
    issuer, client = c.company(), c.company() if c.r.random() < 0.6 else c.person()
    num = c.number(
        {"invoice": "INV" if c.lang == "en" else "FAC", "purchase_order": "PO" if c.lang == "en" else "BC"}[
            kind
        ]
    )
    d = c.day()
    due = d + timedelta(days=c.pick([15, 30, 30, 45, 60]))
    items, rows = line_items(c, c.r.randrange(1, 9), cur)
    tot, printed = _totals(c, items, cur)
    title = c.pick(t[kind])
    meta_kv = [(t["number"], num), (t["date"], c.date_str(d))]
    if kind == "invoice":
        meta_kv.append((t["due"], c.date_str(due)))
        if c.r.random() < 0.35:  # a subscription's invoice: the customer's account details
            meta_kv += _account_lines(c, d, client)
    else:
        meta_kv.append((t["order_ref"], c.number("REF")))
    blocks = [
        _b("letterhead", name=issuer["name"], lines=issuer["lines"], logo=c.r.random() < 0.7),
        _b("title", text=title),
        _b("kv", items=meta_kv),
        _b("addresses", left_title=t["bill_to"] if kind == "invoice" else t["vendor"], left=[client["name"], *client["lines"][:3]],
           right_title=t["ship_to"] if c.r.random() < 0.5 else None, right=[client["name"], *client["lines"][:2]]),
        _b("table", headers=[t["desc"], t["qty"], t["unit"], t["amount"]], rows=rows, align="lrrr"),
        _b("totals", items=printed),
    ]  # fmt: skip
    fields: dict[str, Any] = {"number": num, "date": d.isoformat(), "currency": cur, **tot, "line_items": items,
                              "parties": [{"role": "issuer", "name": issuer["name"]}, {"role": "recipient", "name": client["name"]}]}  # fmt: skip
    if kind == "invoice":
        fields["due_date"] = due.isoformat()
        iban = _iban(c)
        blocks.append(
            _b("para", text=t["terms"].format(d=(due - d).days) + f"  {t['iban']}: {iban}", small=True)
        )
        fields["iban"] = iban
        if c.r.random() < 0.7:
            payload = (
                epc_payload(issuer["name"], iban, tot["total"], cur, num)
                if cur == "EUR"
                else url_payload(num, tot["total"], cur)
            )
            blocks.append(_b("qr", payload=payload, caption=t["scan_pay"]))
            fields["qr"] = payload
        if c.r.random() < 0.35:
            blocks.append(_signing(c, [t["authorized"]]))
    else:
        blocks.append(_signing(c, [t["approved"]] + ([t["supplier"]] if c.r.random() < 0.4 else [])))
    if c.r.random() < 0.4:
        blocks.append(_b("para", text=t["thanks"], small=True, script=c.r.random() < 0.5))
    return Doc(kind, c.lang, blocks, fields)


def build_purchase_order(c: Ctx) -> Doc:
    return build_invoice(c, "purchase_order")


def _tendered(total: Decimal, r: random.Random) -> Decimal:
    """What a customer paying cash hands over: the total rounded up to a note or a round sum."""
    step = r.choice([Decimal(1), Decimal(5), Decimal(10), Decimal(20), Decimal(50)])
    return max(step, (total / step).to_integral_value(rounding=ROUND_CEILING) * step)


def _rounding_and_summary(
    c: Ctx, tot: dict[str, str], printed: list[tuple[str, str, bool]]
) -> tuple[list[tuple[str, str, bool]], Decimal, list[Block]]:
    """A till that rounds cash sums to 5 cents and prints a tax summary under the totals. The
    total is then what is paid after the rounding line ("Total 31.47 / Rounding -0.02 / Total
    after rounding 31.45"), and the summary's own "Total" row adds up the net and the tax."""
    w = RECEIPT[c.lang]
    total = Decimal(tot["total"])
    rounded = (total / Decimal("0.05")).to_integral_value(rounding=ROUND_HALF_UP) * Decimal("0.05")
    if rounded != total and rounded > 0:
        printed = [*printed, (c.pick(w["rounding"]), c.money(rounded - total, None), False),
                   (c.pick(w["rounded"]), c.money(rounded, None), True)]  # fmt: skip
        total = rounded
    code = c.pick(["SR", "S", "A", "T1"])
    rate = f"{(Decimal(tot['tax_rate']) * 100).normalize():f}".replace(".", "," if c.lang == "fr" else ".")
    net, tax = c.money(Decimal(tot["subtotal"]), None), c.money(Decimal(tot["tax"]), None)
    summary = [
        _b("para", text=c.pick(w["summary"]), small=True),
        _b(
            "table",
            headers=w["summary_head"],
            rows=[[code, rate, net, tax], ["Total", "", net, tax]],
            align="lrrr",
            rules=False,
        ),
    ]
    return printed, total, summary


def build_receipt(c: Ctx) -> Doc:
    """A receipt: most are a shop's till roll (``_till_receipt``); some are the slip a card
    terminal prints (no items, the card and the approval), and some acknowledge a payment for a
    service (a stay, rent, fees) on a full page, in prose."""
    style = c.r.random()
    if style < 0.2:
        return _card_slip(c)
    if style < 0.35:
        return _payment_receipt(c)
    return _till_receipt(c)


def _card_slip(c: Ctx) -> Doc:
    """A card terminal's slip: the merchant, the terminal's and the card's ids, the amount and the
    approval; printed by a payment terminal beside or instead of the till roll."""
    t, w = c.t, RECEIPT[c.lang]
    cur = c.currency()
    shop = c.company()
    d = c.day()
    total = q(Decimal(c.r.randrange(150, 40000)) / 100)
    ref = f"{c.r.randrange(1000, 999999)}"
    hhmm = f"{c.r.randrange(7, 22):02d}:{c.r.randrange(60):02d}"
    card = c.pick(w["slip_cards"])
    ending = c.pick(w["card_ending"]).format(card=card, n=c.r.randrange(1000, 9999))
    label = c.pick(w["slip_ref"])
    kv = [(t["date"], f"{c.date_str(d)} {hhmm}")]
    ids = [("MID", str(c.r.randrange(10**10, 10**12))), ("TID", str(c.r.randrange(10**7, 10**8))),
           ("AUTH", f"{c.r.randrange(10**5, 10**6)}"), ("AID", f"A0000000{c.r.choice(['031010', '041010', '042203'])}")]  # fmt: skip
    c.r.shuffle(ids)
    kv += ids[: c.r.randrange(2, 5)]
    blocks = [
        _b("letterhead", name=shop["name"], lines=shop["lines"][:2], logo=False, center=True),
        _b("title", text=c.pick(w["slip_titles"])),
        _b("para", text=f"{label}{ref}" if label.endswith("#") else f"{label} {ref}"),
        _b("kv", items=kv),
        _b("para", text=ending, small=True),
        _b("totals", items=[(c.pick(w["slip_total"]), c.money(total, cur), True)]),
        _b("para", text=c.pick(w["approved"]), center=True, bold=True),
        _b("para", text=c.pick(w["verified"]), center=True, small=True),
    ]
    if c.r.random() < 0.5:
        blocks.append(_b("para", text=c.pick(w["slip_notes"]), center=True, small=True))
    if c.r.random() < 0.25:  # the merchant copy asks for a signature
        blocks.append(_signing(c, [t["customer"]]))
    fields: dict[str, Any] = {"number": ref, "date": d.isoformat(), "currency": cur, "total": norm(total),
                              "line_items": [], "parties": [{"role": "issuer", "name": shop["name"]}]}  # fmt: skip
    return Doc("receipt", c.lang, blocks, fields, size="receipt")


def _payment_receipt(c: Ctx) -> Doc:
    """A payment received for a service, on a full page: who paid, for what, how, and the sum,
    often in a sentence as well as in figures."""
    t, w = c.t, RECEIPT[c.lang]
    cur = c.currency()
    firm = c.company()
    who = c.f.name()
    d = c.day()
    what = c.pick(w["services"])
    total = q(Decimal(c.r.randrange(2000, 300000)) / 100)
    ref = c.number("R" if c.r.random() < 0.5 else "RC")
    kv = [(c.pick(w["paid_ref"]), ref), (t["date"], c.date_str(d)), (c.pick(w["received_from"]), who),
          (c.pick(w["mode"]), c.pick(w["modes"]))]  # fmt: skip
    if c.r.random() < 0.5:
        kv.insert(3, (c.pick(w["towards"]), what))
    item = {"description": what, "quantity": "1", "unit_price": norm(total), "amount": norm(total)}
    rows = [[what, "1", c.money(total, None)]]
    printed = [(c.pick(w["paid_total"]), c.money(total, cur), True)]
    if c.r.random() < 0.5:
        printed.append((w["balance"], c.money(Decimal(0), cur), False))
    blocks = [
        _b("letterhead", name=firm["name"], lines=firm["lines"][:3], logo=c.r.random() < 0.5),
        _b("title", text=c.pick(w["paid_titles"])),
        _b("kv", items=kv),
    ]
    if c.r.random() < 0.6:
        blocks.append(_b("table", headers=[t["desc"], t["qty"], t["amount"]], rows=rows, align="lrr"))
    blocks.append(_b("totals", items=printed))
    if c.r.random() < 0.7:
        prose = w["paid_prose"].format(who=who, amount=c.money(total, cur), what=what.lower())
        blocks.append(_b("para", text=prose))
    blocks.append(_signing(c, [t["authorized"]]) if c.r.random() < 0.5 else _b("para", text=t["thanks"]))
    fields: dict[str, Any] = {"number": ref, "date": d.isoformat(), "currency": cur, "total": norm(total),
                              "subtotal": norm(total), "tax": "0.00", "line_items": [item],
                              "parties": [{"role": "issuer", "name": firm["name"]}, {"role": "payer", "name": who}]}  # fmt: skip
    return Doc("receipt", c.lang, blocks, fields)


def _till_receipt(c: Ctx) -> Doc:
    """A till receipt. Shops print them many ways: titled "Receipt" or, where the law asks for it,
    "Tax invoice" (GST and VAT countries), or not titled at all; tax on top of the prices or
    included in them; paid by card or in cash with the change; item counts and tax ids."""
    t = c.t
    cur = c.currency()
    shop = c.company()
    d = c.day()
    items, _ = line_items(c, c.r.randrange(1, 10), cur)
    for it in items:  # shop prices are small
        unit = q(Decimal(it["unit_price"]) / 40 + Decimal("0.5"))
        it["unit_price"] = norm(unit)
        it["amount"] = norm(q(Decimal(it["quantity"]) * unit))
    rows = [
        [
            it["description"][:22],
            fmt_qty(Decimal(it["quantity"]), c.lang),
            c.money(Decimal(it["amount"]), None),
        ]
        for it in items
    ]
    tot, printed = _totals(c, items, cur)
    lines = shop["lines"][:3]
    if c.r.random() < 0.4:  # a tax registration number under the shop's address
        reg = f"{c.pick(RECEIPT[c.lang]['tax_id'])} {c.r.randrange(10**8, 10**12)}"
        if cur != "USD":  # the US levies no VAT or GST, so its shops print no such number
            lines = [*lines, reg]
    title = c.pick(t["receipt"]) if c.r.random() < 0.7 else c.pick(RECEIPT[c.lang]["titles"])
    num = f"{c.r.randrange(1, 9999):04d}-{c.r.randrange(100000, 999999)}"
    hhmm = f"{c.r.randrange(8, 21):02d}:{c.r.randrange(60):02d}"
    kv = [(c.pick(RECEIPT[c.lang]["number"]), num), (t["date"], f"{c.date_str(d)} {hhmm}")]
    if c.r.random() < 0.75:
        kv.append((t["cashier"], c.f.first_name()))
    if c.r.random() < 0.3:
        kv.append((c.pick(RECEIPT[c.lang]["till"]), str(c.r.randrange(1, 40))))
    total = Decimal(tot["total"])
    if c.r.random() < 0.5:  # the till's own wording of the totals
        w = RECEIPT[c.lang]
        qty = sum(Decimal(it["quantity"]) for it in items)
        printed = [
            *([(w["total_qty"], fmt_qty(qty, c.lang), False)] if c.r.random() < 0.5 else []),
            (c.pick(w["before_tax"]), printed[0][1], False),
            printed[1],
            (c.pick(w["to_pay"]), printed[2][1], True),
        ]
    summary = None
    if cur != "USD" and c.r.random() < 0.3:  # a VAT/GST till: cash rounding and a tax summary
        printed, total, summary = _rounding_and_summary(c, tot, printed)
        tot = {**tot, "total": norm(total)}
    if c.r.random() < 0.4:  # cash, and the change given back
        given = _tendered(total, c.r)
        printed = [*printed, (RECEIPT[c.lang]["cash"], c.money(given, None), False),
                   (RECEIPT[c.lang]["change"], c.money(given - total, None), False)]  # fmt: skip
        paid = None
    else:
        paid = _b("para", text=f"{t['paid_card']} **** {c.r.randrange(1000, 9999)}", small=True)
    blocks = [
        _b("letterhead", name=shop["name"], lines=lines, logo=False, center=True),
        *([_b("title", text=title)] if c.r.random() < 0.9 else []),
        _b("kv", items=kv),
        _b("table", headers=[t["item"], t["qty"], t["amount"]], rows=rows, align="lrr", rules=False),
        _b("totals", items=printed),
        *([paid] if paid else []),
        *(summary or []),
        _b("para", text=c.pick([t["thanks"], *RECEIPT[c.lang]["footer"]]), center=True),
    ]
    fields: dict[str, Any] = {"number": num, "date": d.isoformat(), "currency": cur, **tot, "line_items": items,
                              "parties": [{"role": "issuer", "name": shop["name"]}]}  # fmt: skip
    if c.r.random() < 0.4:
        payload = url_payload(num, tot["total"], cur, host="receipts")
        blocks.append(_b("qr", payload=payload, caption=None))
        fields["qr"] = payload
    if c.r.random() < 0.3:
        blocks.append(_signing(c, [t["customer"]]))
    return Doc("receipt", c.lang, blocks, fields, size="receipt")


def build_delivery_note(c: Ctx) -> Doc:
    t = c.t
    sender, to = c.company(), c.company()
    num = c.number("DN" if c.lang == "en" else "BL")
    d = c.day()
    items, _ = line_items(c, c.r.randrange(1, 10), "EUR", with_price=False)
    rows = [
        [it["description"], it["quantity"], it["quantity"] if c.r.random() < 0.85 else "0"] for it in items
    ]
    blocks = [
        _b("letterhead", name=sender["name"], lines=sender["lines"], logo=c.r.random() < 0.6),
        _b("title", text=c.pick(t["delivery_note"])),
        _b("kv", items=[(t["number"], num), (t["date"], c.date_str(d)), (t["order_ref"], c.number("PO"))]),
        _b("addresses", left_title=t["ship_to"], left=[to["name"], *to["lines"][:3]], right_title=None, right=[]),
        _b("table", headers=[t["desc"], t["ordered"], t["delivered"]], rows=rows, align="lrr"),
        _signing(c, [t["received"]] + ([t["driver"]] if c.r.random() < 0.6 else [])),
    ]  # fmt: skip
    fields = {"number": num, "date": d.isoformat(), "line_items": [{"description": i["description"], "quantity": i["quantity"]} for i in items],
              "parties": [{"role": "issuer", "name": sender["name"]}, {"role": "recipient", "name": to["name"]}]}  # fmt: skip
    return Doc("delivery_note", c.lang, blocks, fields)


def build_payslip(c: Ctx) -> Doc:
    t = c.t
    cur = "EUR" if c.lang == "fr" else c.pick(["USD", "USD", "GBP"])
    c.day_first = c.lang == "fr" or cur != "USD"
    emp, who = c.company(), c.person()
    d = c.day().replace(day=28)
    # from strings: Decimal(151.67) is 151.66999999999998749..., which the page then printed
    hours = Decimal(c.pick(["151.67", "140", "160", "120", "140"]))
    rate = q(Decimal(c.r.randrange(1200, 6000)) / 100)
    base = q(hours * rate)
    extra = q(Decimal(c.r.randrange(0, 40000)) / 100) if c.r.random() < 0.5 else Decimal("0")
    gross = base + extra
    ded = [(lbl, q(gross * Decimal(p))) for lbl, p in (
        (("Social security", "Sécurité sociale")[c.lang == "fr"], "0.069"),
        (("Pension", "Retraite complémentaire")[c.lang == "fr"], "0.0401"),
        (("Income tax", "Prélèvement à la source")[c.lang == "fr"], c.pick(["0.03", "0.075", "0.11"])))]  # fmt: skip
    net = gross - sum(x for _, x in ded)
    rows = [
        [
            ("Base salary", "Salaire de base")[c.lang == "fr"],
            fmt_qty(hours, c.lang),
            c.money(rate, None),
            c.money(base, None),
        ]
    ]
    if extra:
        rows.append([("Bonus", "Prime")[c.lang == "fr"], "", "", c.money(extra, None)])
    rows += [[lbl, "", "", c.money(-x, None)] for lbl, x in ded]
    blocks = [
        _b("letterhead", name=emp["name"], lines=emp["lines"][:3], logo=c.r.random() < 0.5),
        _b("title", text=c.pick(t["payslip"])),
        _b("kv", items=[(t["employee"], who["name"]), (t["period"], f"{d.year}-{d.month:02d}"), (t["date"], c.date_str(d)),
                        (t["occupation"], c.f.job()[:40])]),
        _b("table", headers=[t["desc"], t["hours"], t["rate"], t["amount"]], rows=rows, align="lrrr"),
        _b("totals", items=[(t["gross"], c.money(gross, cur), False), (t["net"], c.money(net, cur), True)]),
    ]  # fmt: skip
    if c.r.random() < 0.3:
        blocks.append(_signing(c, [t["employee"]]))
    fields = {"date": d.isoformat(), "period": f"{d.year}-{d.month:02d}", "currency": cur, "gross": norm(gross),
              "total": norm(net), "parties": [{"role": "employer", "name": emp["name"]}, {"role": "employee", "name": who["name"]}]}  # fmt: skip
    return Doc("payslip", c.lang, blocks, fields)


def build_contract(c: Ctx) -> Doc:
    t = c.t
    title = c.pick(t["contract"])
    a, b = (c.person() if c.r.random() < 0.5 else c.company()), c.person()
    d = c.day()
    roles = c.pick(
        [(t["landlord"], t["tenant"]), (t["supplier"], t["client"]), (t["employer"], t["employee"])]
    )
    page_count = c.r.randrange(1, 6)
    page_no = c.r.randrange(1, page_count + 1)
    intro = (f"Between {a['name']} ({roles[0]}) and {b['name']} ({roles[1]}), it is agreed as follows."
             if c.lang == "en" else f"Entre {a['name']} ({roles[0]}) et {b['name']} ({roles[1]}), il a été convenu ce qui suit.")  # fmt: skip
    blocks = [_b("title", text=title), _b("para", text=intro)]
    art = "Article" if c.r.random() < 0.5 else ("Section" if c.lang == "en" else "Art.")
    for i in range(c.r.randrange(2, 6)):
        blocks.append(
            _b("heading", text=f"{art} {i + 1 + (page_no - 1) * 4} - {c.f.sentence(nb_words=3).rstrip('.')}")
        )
        body = c.sentences(c.r.randrange(2, 6))
        blocks.append(_b("columns", text=body) if c.r.random() < 0.2 else _b("para", text=body))
    fields: dict[str, Any] = {
        "date": d.isoformat(),
        "parties": [{"role": roles[0], "name": a["name"]}, {"role": roles[1], "name": b["name"]}],
    }
    if c.r.random() < 0.5:
        rent = q(Decimal(c.r.randrange(40000, 300000)) / 100)
        cur = c.currency()
        blocks.append(
            _b(
                "para",
                text=(
                    f"Monthly amount: {c.money(rent, cur)}"
                    if c.lang == "en"
                    else f"Montant mensuel : {c.money(rent, cur)}"
                ),
            )
        )
        fields.update(total=norm(rent), currency=cur)
    if page_no == page_count:
        place = c.f.city()
        blocks.append(
            _b(
                "para",
                text=(
                    f"Signed at {place} on {c.date_str(d)}"
                    if c.lang == "en"
                    else f"Fait à {place}, le {c.date_str(d)}"
                ),
            )
        )
        slots = [roles[0], roles[1], *[t["guarantor"], t["witness"]][: c.r.randrange(0, 3)]]
        blocks.append(_signing(c, slots))
    return Doc("contract", c.lang, blocks, fields, page_no=page_no, page_count=page_count)


def build_letter(c: Ctx) -> Doc:
    t = c.t
    org, to = c.company(), c.person()
    signer = c.f.name()
    d = c.day()
    subj = c.f.sentence(nb_words=5).rstrip(".")
    blocks = [
        _b("letterhead", name=org["name"], lines=org["lines"], logo=c.r.random() < 0.6),
        _b("addresses", left_title=None, left=[], right_title=None, right=[to["name"], *to["lines"]]),
        _b("para", text=f"{c.f.city()}, {c.date_str(d)}", right=True),
        _b("para", text=f"{t['subject']}: {subj}", bold=True),
        _b("para", text=t["dear"].format(n=to["name"])),
    ]
    for _ in range(c.r.randrange(2, 5)):
        blocks.append(_b("para", text=c.sentences(c.r.randrange(2, 5))))
    blocks.append(_b("para", text=c.pick(t["regards"])))
    blocks.append(_b("sign", slots=[signer], style="name_below", with_date=False))
    fields = {"date": d.isoformat(), "subject": subj, "parties": [{"role": "sender", "name": org["name"]}, {"role": "recipient", "name": to["name"]}, {"role": "signer", "name": signer}]}  # fmt: skip
    return Doc(
        "letter", c.lang, blocks, fields, size="letter" if c.lang == "en" and c.r.random() < 0.6 else "a4"
    )


def build_mandate(c: Ctx) -> Doc:
    t = c.t
    cred, debtor = c.company(), c.person()
    ref = c.number("RUM" if c.lang == "fr" else "MR")
    c.r.randrange(10, 99)  # drawn as before the check digits were computed: later draws keep their values
    cid = _creditor_id("FR", str(c.r.randrange(100000, 999999)))
    iban = _iban(c)
    # A bank's code, then the IBAN's country (a debtor's BIC and IBAN are of one bank).
    bic = "".join(c.r.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(6))[:4] + iban[:2] + "2X"
    d = c.day()
    legal = ("By signing this mandate form, you authorise the creditor to send instructions to your bank to debit your account. "
             if c.lang == "en" else "En signant ce formulaire de mandat, vous autorisez le créancier à envoyer des instructions à votre banque pour débiter votre compte. ")  # fmt: skip
    blocks = [
        _b("letterhead", name=cred["name"], lines=cred["lines"][:3], logo=c.r.random() < 0.5),
        _b("title", text=c.pick(t["mandate"])),
        _b("kv", items=[(t["mandate_ref"], ref), (t["creditor_id"], cid)]),
        _b("para", text=legal + c.sentences(1), small=True),
        _b("form", items=[(t["account"], debtor["name"]), (t["address"], ", ".join(debtor["lines"][:2])), (t["iban"], iban), (t["bic"], bic),
                          (t["date"], c.date_str(d)), ("Type", c.pick(["Recurrent", "One-off"]) if c.lang == "en" else c.pick(["Récurrent", "Ponctuel"]))]),
        _signing(c, [t["debtor"]]),
    ]  # fmt: skip
    fields = {"number": ref, "date": d.isoformat(), "iban": iban, "bic": bic, "creditor_id": cid,
              "parties": [{"role": "creditor", "name": cred["name"]}, {"role": "debtor", "name": debtor["name"]}]}  # fmt: skip
    return Doc("mandate", c.lang, blocks, fields)


def build_kyc(c: Ctx) -> Doc:
    t = c.t
    bank, who = c.company(), c.person()
    dob = date(1940, 1, 1) + timedelta(days=c.r.randrange(365 * 65))
    d = c.day()
    id_no = f"{c.r.choice('ABCDEFGHJKLMNPRSTUVWXYZ')}{c.r.randrange(10**7, 10**8)}"
    id_kind = c.pick(
        ["Passport", "Driver's licence", "ID card"]
        if c.lang == "en"
        else ["Passeport", "Carte d'identité", "Permis de conduire"]
    )
    blocks = [
        _b("letterhead", name=bank["name"], lines=bank["lines"][:2], logo=True),
        _b("title", text=c.pick(t["kyc_form"])),
        _b("form", items=[(t["name"], who["name"]), (t["dob"], c.date_str(dob)), (t["nationality"], c.f.country()[:30]),
                          (t["id_doc"], id_kind), (t["id_no"], id_no), (t["address"], ", ".join(who["lines"][:2])),
                          (t["occupation"], c.f.job()[:40]), (t["email"], c.f.email()), (t["phone"], c.f.phone_number())]),
        _b("checks", items=[(c.r.random() < 0.5, "Politically exposed person" if c.lang == "en" else "Personne politiquement exposée"),
                            (c.r.random() < 0.8, "I certify the information above is accurate" if c.lang == "en" else "Je certifie l'exactitude des informations")]),
        _signing(c, [t["customer"]] + ([t["approved"]] if c.r.random() < 0.5 else [])),
    ]  # fmt: skip
    fields = {"date": d.isoformat(), "birth_date": dob.isoformat(), "id_number": id_no, "number": id_no,
              "parties": [{"role": "institution", "name": bank["name"]}, {"role": "customer", "name": who["name"]}]}  # fmt: skip
    return Doc("kyc_form", c.lang, blocks, fields)


def build_other(c: Ctx) -> Doc:
    t = c.t
    org = c.company()
    d = c.day()
    blocks = [_b("letterhead", name=org["name"], lines=org["lines"][:2], logo=c.r.random() < 0.5), _b("title", text=c.pick(t["other"])),
              _b("kv", items=[(t["date"], c.date_str(d)), (t["from"], c.f.name())])]  # fmt: skip
    for _ in range(c.r.randrange(1, 5)):
        if c.r.random() < 0.2:
            blocks.append(_b("columns", text=c.sentences(c.r.randrange(6, 12))))
        elif c.r.random() < 0.3:
            blocks.append(
                _b(
                    "bullets",
                    items=[c.f.sentence(nb_words=c.r.randrange(4, 10)) for _ in range(c.r.randrange(2, 5))],
                )
            )
        else:
            blocks.append(_b("para", text=c.sentences(c.r.randrange(2, 5))))
    if c.r.random() < 0.5:
        blocks.append(_signing(c, [c.f.name() for _ in range(c.r.randrange(1, 3))]))
    return Doc(
        "other", c.lang, blocks, {"date": d.isoformat(), "parties": [{"role": "issuer", "name": org["name"]}]}
    )


BUILDERS = {
    "invoice": build_invoice,
    "receipt": build_receipt,
    "contract": build_contract,
    "letter": build_letter,
    "mandate": build_mandate,
    "delivery_note": build_delivery_note,
    "purchase_order": build_purchase_order,
    "payslip": build_payslip,
    "kyc_form": build_kyc,
    "other": build_other,
}
