"""Fields per document type from the OCR lines, each with a confidence and the words it came from,
and the consistency checks on them (line items against totals, net + tax = gross, IBAN checksum,
QR payload against the printed fields, signature places against signatures found).

Extraction is label-driven ("Invoice No.", "Total TTC", "Échéance"...) in English and French with
positional fallbacks (the letterhead's first line is the issuer). A failed check is reported as a
``Check(ok=False)``; the value stays as read so a reviewer sees both.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from urllib.parse import parse_qs, urlparse

from edge.contract import Check, Code, Fields, FieldValue, LineItem
from edge.read import parse
from edge.read.ocr import OcrPage
from edge.read.tables import Row, parse_row

log = logging.getLogger(__name__)

CENT = Decimal("0.011")

# Label patterns, most specific first. Each captures nothing: the value is what follows.
L_NUMBER = [
    r"(?:invoice|inv|facture|receipt|re[çc]u|ticket|order|commande|delivery note|bon de livraison|payslip)\s*(?:no\.?|n[°º*o]\.?|n[ec]\.?(?=\s*:)|number|num[ée]ro|#)",
    r"(?:num[ée]ro de (?:facture|commande)|factuurnummer|invoice number|booking id|mandate reference|r[ée]f[ée]rence unique du mandat|document number)",
    # a payment receipt's or a card slip's own reference
    r"(?<![a-z] )(?<![a-z])(?:reference|r[ée]f[ée]rence|transaction id|n° (?:de )?(?:r[ée]servation|transaction))(?=\s*:)",
    r"(?<![A-Za-z])(?:no\.|n°|nº|n\*|number|num[ée]ro|#)",
    # "No:" without its dot, and "N°:" whose degree sign OCR read as a letter ("Ne:", "Nc.:")
    # or lost ("N: BC-2019-02138").
    r"(?<![A-Za-z])n[oec]?\.?(?=\s*:)",
]
L_DATE = [
    r"(?:invoice|issue|order|receipt|facture|factuur|document)\s*date|date (?:de (?:la )?facture|d'[ée]mission)|factuurdatum",
    r"(?<![A-Za-z'])date(?!\s+(?:of\s+b[a-z]{2,5}\b|de\s+nais|d'[ée]ch[ée]ance|limite))(?!\s*d'[ée]ch)",
]
L_DUE = [
    r"due date|date d'[ée]ch[ée]ance|[ée]ch[ée]ance|payment due|[àa] payer avant le|date limite(?: de (?:paiement|r[èe]glement))?|vervaldatum"
]
RE_DUE = re.compile("|".join(L_DUE), re.I)  # a due-date line: never the issue date
L_TOTAL = [
    r"total due|amount due|balance due|grand total|net [àa] payer|(?<![a-z])t?otal ttc|montant ttc"
    r"|total(?: sales| amount)?\s*\(?(?:inc\.?|incl\.?|including|inclusive)"
    r"|total amount|totaal|(?:total|amount) payable|total to pay|(?:montant |reste )?(?<![a-z])[àa] payer(?!\s*avant)"
    # what a card slip or a payment receipt says was paid
    r"|(?:amount|total) (?:paid|received)|(?:sale|purchase) amount|montant (?:r[ée]gl[ée]|pay[ée]|re[çc]u)|total pay[ée]",
    # a bare "Total" that is not a count, a discount, the tax or a figure before tax
    # ("Total Qty 3", "Total GST 1.69", "Total 6% supplies (excl. GST): 28.32")
    r"net pay|(?<![a-z-])t?otal(?!\s*(?:ht|hors|excl|before|net\b|qty|quantity|items?\b|units?\b|pcs|articles?\b"
    r"|discounts?\b|savings|gst|vat|tax|tva))(?![^:\n]{0,30}excl)",
    # a card slip's bare "AMOUNT 23.90" / "MONTANT 48,97 €": the sum on the same line (specks
    # read as "°", "." or "," may stand between); after a bare "Total", which a page that has
    # one prints lower down than its "Net amount"
    r"(?<![a-z])(?<!net )(?:amount|montant)(?!\s*(?:ht|hors|excl))"
    r"(?=\s*:?\s*(?:[°·.,'‘’]\s*){0,2}(?:[A-Z]{3}\s*)?[$€£]?\s*\d)",
]
# What a till receipt prints under its total when paid in cash: the money handed over, the change
# given back, and the adjustment of a total rounded to the smallest coin.
L_CASH = [
    r"(?<![a-z])(?:cash(?:\s*tendered)?|(?:amount\s*)?tendered|esp[èe]ces|paid in cash)(?![a-z])"
    r"(?!\s*(?:back|sale|register|bill|receipt|memo|discount))"
]
L_CHANGE = [
    r"(?<![a-z])(?:change(?:\s*due)?|rendu(?:\s*monnaie)?|monnaie(?:\s*rendue)?|[àa] rendre)(?![a-z])"
]
L_ROUNDING = [r"(?<![a-z])(?:rounding(?:\s*adj(?:ustment)?)?|round(?:ing)?[\s-]*off|arrondi)(?![a-z])"]
RE_TAX_SUMMARY = (
    r"(?<![a-z])(?:gst|vat|tax|tva)\s*(?:summary|analysis|breakdown|details)|r[ée]capitulatif\s*(?:de\s*la\s*|des\s*)?tva"
    r"|d[ée]tail\s*(?:de\s*la\s*)?tva"
)
# The page's issuer is looked for among its first lines, skipping titles and label lines.
ISSUER_LINES = 4
ISSUER_MAX_WORDS = 8  # a line longer than this is a sentence, not a name
LOGO_GAP = 1.2  # word heights between a lone letter and the name: a logo's letter, not a word
LOGO_TALL = 1.5  # ... or a lone letter this many times taller than the name: the logo read whole
# ... or a mark of up to three characters left of the edge that the name's second word and the
# two lines below it share (within this many word heights): a letterhead's block, a logo beside it
LOGO_ALIGN = 0.5
# A page's title, which is no issuer: an invoice, receipt or order named in English, French,
# Dutch or German, with the words a title may carry before it ("Original invoice", "Pro forma
# invoice"). Compact: OCR's stray spaces and dots gone ("FACTU U R.") it must still match.
TITLE_WORDS = (
    r"(?:(?:official|original|duplicate|customer|commercial|final|simplified|pro\s*forma)\s*)?"
    r"(?:tax\s*invoice|invoice|facture|factuur|rechnung|receipt|re[çc]u|quittung|ticket"
    r"|purchase\s*order|delivery\s*note|payment\s*receipt|sales\s*receipt|cash\s*(?:sale|receipt)"
    r"|bon\s*de\s*(?:commande|livraison))"
)
RE_TITLE = re.compile(rf"^\W*(?:{TITLE_WORDS})\W*$", re.I)
RE_TITLE_COMPACT = re.compile(rf"(?:{TITLE_WORDS})", re.I)
# Titles of agreements, mandates and forms, which head the page where an invoice's issuer would
# ("Consulting agreement", "Mandat de prélèvement SEPA"): a whole line of them is no issuer.
RE_DOC_TITLE = re.compile(
    r"(?:[^\W\d_]+\s+){0,2}(?:agreement|contract)|contrat(?:\s+de\s+[^\W\d_]+)?|bail"
    r"|(?:sepa\s+)?direct\s+debit\s+(?:mandate|authori[sz]ation)|recurring\s+payment\s+authori[sz]ation"
    r"|(?:mandat|autorisation)\s+de\s+pr[ée]l[èe]vement(?:\s+sepa)?"
    r"|account\s+opening(?:\s+form)?|ouverture\s+de\s+compte"
    r"|(?:know\s+your\s+customer|kyc)(?:\s*\(kyc\))?(?:\s+form)?|(?:formulaire|fiche)\s+(?:kyc|d'identification)[^\n]*"
    # notes, notices and minutes: an office's other paperwork
    r"|(?:internal\s+)?memo(?:randum)?|notice|circular|circulaire|minutes(?:\s+of\s+(?:the\s+)?meeting)?"
    r"|note\s+(?:de\s+service|interne|d'information)|compte\s+rendu(?:\s+de\s+r[ée]union)?|proc[èe]s[\s-]verbal"
    r"|avis|attestation|certificate",
    re.I,
)
# A title printed after the issuer's name on one line ("OYO PAYMENT RECEIPT"): the name before
# it is then the issuer.
RE_TITLE_TAIL = re.compile(rf"\s+(?:{TITLE_WORDS})\W*$", re.I)
RE_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
RE_LABELLED = re.compile(r"^[^:]{2,25}:\s*\S")
# Letterhead lines that are no name: a street or postcode line ("698 Robin Extensions", "4, rue
# Michel", "20867 Saint Julien", "Ashleyview, TN 88563"), an email or web address. Where the
# name itself is not read (a script font), the issuer is better left unread than one of these.
RE_ADDRESS_LINE = re.compile(
    r"^\W*\d{1,5}[a-z]?[,.]?\s+\S|,\s*[A-Z]{2}\s+\d{5}(?:-\d{4})?\W*$|@|(?i:\bwww\.|https?:)"
    # a French street whose number OCR lost ("avenue de Lefort": lower case, where a company
    # named after one is capitalised, "Rue du Commerce"), a suite, flat or box number
    r"|^\W*(?:rue|avenue|boulevard|chemin|impasse|all[ée]e|quai|route)\s+\w"
    r"|(?i:\b(?:suite|apt\.?|unit|box)\s+\d+\b)|^\W*[ADF]PO\s+A[AEP]\s+\d{5}"  # US forces' post
)
# What a logo beside the name reads as, before it: a symbol ("©", "|"), a lone accented letter
# ("À Guichard SARL."), or a scrap of lower-case letters before a capital ("rom Bernard S.A.S."),
# but not a name's particle ("de Vries BV", "van Dam").
RE_LOGO_SCRAP = re.compile(
    r"^(?:[^\w\s]+|[^\x00-\x7f]|(?!(?:de|du|da|di|del|des|van|von|le|la|les|den|der|ter|el|al)\s)[a-zà-ÿ]{1,3}"
    r"|\w{1,3}\s+[|¦])\s+(?=[A-ZÀ-Ý])"
)
# A name that ends in a legal form is a business's ("Coolblue B.V.", "MPH BOOKSTORES SDN BHD"),
# "Enterprise" and "Trading" included: the registered business names of sole traders and
# partnerships in Malaysia and Singapore ("KEDAI HUAT ENTERPRISE").
RE_ENDS_LEGAL_FORM = re.compile(
    r"[\s,](?:sdn\.?\s*bhd|bhd|ltd|limited|inc|llc|plc|gmbh|s\.?a\.?r\.?l|s\.a\.s|sas|s\.a|b\.v|n\.v|pty\.?\s*ltd"
    r"|corp(?:oration)?|& co|enterprises?|trading)\.?\W*$",
    re.I,
)
RE_LEGAL_FORM = re.compile(
    r"^\W*(?:sdn\.?\s*bhd|bhd|ltd|limited|inc|llc|plc|gmbh|s\.?a\.?r\.?l|s\.?a\.?s|b\.?v|pty\.?\s*ltd)\W*$",
    re.I,
)
ROUNDED_ROWS = 3  # how far below its rounding line a till prints the rounded total
COIN_ROUNDING = Decimal("0.05")  # the most a till rounds by to its smallest coin
TAX_SUMMARY_ROWS = 7  # the heading, the column titles, a few tax codes and the table's total
L_SUBTOTAL = [
    r"sub-?\s?total|sous-total|total ht|montant ht|total hors (?:taxes|tva)|net amount|exclusief btw"
    r"|total(?: sales| amount)?\s*\(?(?:excl\.?|excluding|exclusive of|before tax)"
]
# not the VAT registration ("TVA intracom. FR12...", "VAT No.", "GST Reg", "N° TVA")
# not a total named by the tax it includes or leaves out ("Total excl. tax", "Total Sales
# (Excluding GST)", "Total incl. VAT")
L_TAX = [
    r"(?<!n° )(?<!no\. )(?<![a-z])(?<!excl\. )(?<!incl\. )(?<!excl )(?<!incl )(?<!excluding )(?<!including )"
    r"(?<!before )(?<!exclusive of )(?<!inclusive of )(?<!hors )(?<!exclusief )(?<!inclusief )(?<!exkl\. )(?<!inkl\. )"
    r"(?:vat|tva|tax|gst|sales tax|btw)(?![a-z])"
    r"(?![\s.:]*(?:invoice|intra|no\b|n°|num|number|reg|id\b|#|[a-z]{2}\s?\d{6}))"  # or a VAT id: "BTW NL8104..."
]
# Words that make the "No." after them someone's registration or line number, not the document's.
REGISTRATION = re.compile(
    r"(?<![a-z])(?:reg(?:n|istration)?|vat|gst|tva|tax|siret|siren|company|co|tel|phone|fax|account|acct|customer"
    r"|client|line|order ref)\.?\s*$",
    re.I,
)
OTHER_NUMBER = re.compile(r"\s*(?:d[eu]\s+)?(?:client|compte|ligne|tva|siret|t[ée]l[ée]?phone|tel)\b", re.I)
# Canada writes dates both ways: its dollar settles nothing.
AMBIGUOUS_ORDER_CURRENCIES = frozenset({"CAD"})
RE_NON_US_TAX = re.compile(r"\b(?:VAT|GST)\b", re.I)
RE_US_DOLLAR = re.compile(r"\bUSD\b|US\$|U\.S\.|\bdollars?\b", re.I)
L_GROSS = [r"gross pay|salaire brut|gross"]
L_BUYER = [
    # "Client:" names the buyer, "Id. client:" or "N° client:" gives its number
    r"bill to|billed to|factur(?:er|é)\s?[àa](?![a-z])|(?<!id\. )(?<!id )(?<!n° )(?<!no )(?:client|customer)\s*:"
    r"|sold to|ship to|deliver to|consignee"
    r"|livr(?:er|é)\s?[àa](?![a-z])|destinataire"  # "Livrer à" as OCR runs it together ("Livrera")
]
# What a contract pays, labelled at the start of its line ("Monthly rent: 1,200.00 EUR", "Montant
# mensuel : 946,55 €"); the same words inside a clause's sentence are not a label.
L_CONTRACT_AMOUNT = [
    r"^\W*(?:(?:monthly|annual|yearly|total)\s+)?(?:amount|rent|fee|price|salary)(?=\s*:)"
    r"|^\W*(?:montant|loyer|salaire|prix|honoraires)(?:\s+(?:mensuel|annuel|total|brut))?(?=\s*:)"
]
L_VENDOR = [r"(?<![a-z])(?:vendor|supplier|fournisseur|sold by|order(?:ed)? from|command[ée] [àa])(?![a-z])"]
RE_PARTY_LABEL = re.compile("|".join([*L_BUYER, *L_VENDOR]), re.I)
L_SIGN = r"signature|sign here|signez ici|sign[ée] par|lu et approuv[ée]|signed by"
# The signing block under a table ("Received in good condition by", "Witness 1"): no more rows.
L_SIGN_BLOCK = (
    r"received in good condition|re[çc]u en bon [ée]tat|approved by|approuv[ée] par|\bwitness\b|t[ée]moin\b"
)
# With the parties' roles in brackets, a name holding "and" is still one party ("Between
# Simmons, Elliott and Berger (Employer) and Theresa Farley (Employee)").
RE_BETWEEN_ROLES = re.compile(
    r"(?:between|entre)\s+(?P<a>[^()]{1,120}?)\s*\((?P<ra>[^)]{1,40})\)\s*,?\s+(?:and|et)\s+(?P<b>[^()]{1,120}?)\s*\((?P<rb>[^)]{1,40})\)",
    re.I | re.S,
)
RE_BETWEEN = re.compile(
    r"(?:between|entre)\s+(?P<a>.+?)\s*(?:\((?P<ra>[^)]*)\))?\s*,?\s+(?:and|et)\s+(?P<b>.+?)\s*(?:\((?P<rb>[^)]*)\))?\s*[,.]",
    re.I | re.S,
)
RE_PLACE = re.compile(
    r"(?:signed at|made at|done at|fait [àa])\s+(?P<place>[A-ZÀ-ÿa-z][\w' -]{1,40}?)\s*(?:,|\s+on\b|\s+le\b)",
    re.I,
)
# Forms (KYC, mandates): labels of the values filled in beside or under them.
# "birth" as OCR reads it in a form's small print too ("Date of buth", "Date de naiss").
L_BIRTH = [
    r"date\s+of\s+b[a-z]{2,5}\b|birth\s?date|date\s+de\s+nais\w*|n[ée]\(?e?\)? le(?!\w)|(?<![a-z])dob(?![a-z])"
]
RE_BIRTH = re.compile("|".join(L_BIRTH), re.I)
L_FULL_NAME = [
    r"full name|nom et pr[ée]nom|pr[ée]nom et nom|nom complet|(?:customer|applicant|client)(?:'s)? name|nom du client",
    r"(?<![a-z])(?:name|nom)(?![a-z])",  # the rest of the label lost ("[x name")
]
L_ID_NUMBER = [
    r"(?:id|identity|passport|licen[cs]e)\s(?:document\s|card\s)?(?:no\.?|number|#)|document number"
    r"|num[ée]ro (?:de (?:la )?)?(?:pi[èe]ce|passeport|document|carte)|n°\s?(?:de )?pi[èe]ce"
]
L_NATIONALITY = [r"nationality|nationalit[ée]"]
L_CREDITOR_ID = [r"creditor id\w*|identifiant (?:du )?cr[ée]ancier(?: sepa)?|(?<![a-z])ics(?![a-z])"]
L_BIC = [r"(?<![A-Za-z])(?:BIC|SWIFT)(?![A-Za-z])"]
L_DEBTOR = [
    r"account holder|debtor(?:'s)? name|name of (?:the )?debtor|titulaire du compte|nom du d[ée]biteur",
    r"(?<![a-z])(?:holder|t?i?tulaire(?:\W{1,3}\w?u compte)?)(?![a-z])",  # the label's start lost on the box's side ("count holder")
]
L_PERIOD = [
    r"pay period|billing period|period of pay|p[ée]riode(?: de (?:paie|facturation))?|(?<![a-z])period(?![a-z])"
]
# Any label of a form's boxes: under a label whose value was not read, the next label is no value.
RE_FORM_LABEL = re.compile(
    "|".join(
        [
            *L_BIRTH,
            L_FULL_NAME[0],  # not the bare "name" a lost label leaves: a value may hold the word
            *L_ID_NUMBER,
            *L_NATIONALITY,
            L_DEBTOR[0],  # not a lone "holder": a company's name may hold the word
            *L_BIC,
            *L_CREDITOR_ID,
            r"^\W*(?:address|adresse|occupation|profession|e-?mail|courriel|phone|t[ée]l[ée]phone|iban|date|type"
            r"|id document|pi[èe]ce d'identit[ée])\W*$",
        ]
    ),
    re.I,
)
# A label's row as ``Extractor._label_row`` finds it: its words, its line's, its phrase's first
# and last in that line, its height and a column's gap.
LabelRow = tuple[list[int], list[int], int, int, float, float]
COLUMN_SLACK = 0.03  # of the page's width: how far left of its label a value under it may start
COLUMN_GAP = 1.5  # label heights between two words of a row that puts them in two columns
BELOW_LINES = 4.0  # label heights below a label that its value may lie within
RE_NAME = re.compile(
    r"^[^\W\d_][^\W\d_'’.\- ]*(?:[ '’.\-]+[^\W\d_]+)+\.?$"
)  # two words or more, letters only


# A letter's closing, above its signature and the signer's name.
RE_CLOSING = re.compile(
    r"^\W*(?:(?:yours )?sincerely|(?:best|kind|warm) regards|regards|yours (?:faithfully|truly)|respectfully"
    r"|cordialement|bien [àa] vous|veuillez agr[ée]er|salutations distingu[ée]es)",
    re.I,
)
SIGNER_LINES = 4
NAME_WORDS = 6  # the most words a name printed in a letter has ("Thomas Fernandez de la Vallet")
NAME_PARTICLES = frozenset(
    {"de", "du", "des", "da", "di", "del", "van", "von", "der", "den", "le", "la", "and", "et", "&", "y"}
)
RE_PLACE_DATE = re.compile(r"^\W*[A-ZÀ-Ý][^\W\d_][\w'’. -]{0,40},\s*(?:le\s+|the\s+)?(?P<d>\S.{5,30}?)\s*$")
RE_GREETING = re.compile(r"^\W*(?:dear|cher|ch[èe]re|madame|monsieur|to whom|bonjour|hello)\b", re.I)
RE_SUBJECT = re.compile(r"^\W*(?:subject|objet|re)\s*:", re.I)
# A greeting that names no one ("Dear Sir or Madam", "Dear valued customer").
RE_NO_ONE = re.compile(
    r"^(?:sirs?|madam|sir\s*(?:/|or|and)\s*madam|(?:valued\s+)?(?:customer|client|colleague|member)s?)$", re.I
)

# A document number standing alone: a short letter prefix, then digits in up to three groups.
RE_DOC_NUMBER = re.compile(r"[A-Z]{2,4}[-/]?\d{2,}(?:[-/]\d{2,}){0,2}")
UNLABELLED_ID_LINES = 12  # how far down the page (at least) an unlabelled number is looked for
UNLABELLED_ID_PRIOR = 0.5
RE_ID = re.compile(r"[A-Z0-9][A-Z0-9\-/._]*\d[A-Z0-9\-/._]*|\d[A-Z0-9\-/._]*", re.I)
EN_WORDS = {
    "the",
    "and",
    "of",
    "to",
    "for",
    "with",
    "is",
    "this",
    "invoice",
    "amount",
    "due",
    "bill",
    "description",
    "qty",
    "price",
    "unit",
    "subtotal",
    "tax",
    "receipt",
    "order",
    "pay",
    "dear",
    "between",
    "signed",
    "from",
}
FR_WORDS = {
    "le",
    "la",
    "les",
    "et",
    "de",
    "des",
    "du",
    "pour",
    "à",
    "au",
    "est",
    "un",
    "une",
    "montant",
    "facture",
    "échéance",
    "désignation",
    "qté",
    "prix",
    "unitaire",
    "ttc",
    "ht",
    "tva",
    "reçu",
    "commande",
    "fait",
    "entre",
    "objet",
    "madame",
    "monsieur",
    "salaire",
    "livraison",
    "bon",
    "caisse",
    "net",
    "payer",
}
SIGNED_TYPES = {"contract", "mandate", "kyc_form"}
RATE = parse.RATE_RE
MASKED = re.compile(r"[*xX•]{3,}\s*\d")  # a masked card or account number
VOTE_CONF = 0.6  # words under this OCR confidence do not vote on the page's date order
# Payment terms run from the issue date: due on receipt up to about four months (net 120).
DUE_WITHIN_DAYS = 120


@dataclass
class Span:
    line: int
    start: int
    end: int


# A tax label run into its rate, whose digits OCR read as the letters they look like
# ("TVAS.S%" for "TVA 5,5%"): the rate's letters are read back as digits, character for
# character, so the words' offsets hold.
_GLUED_RATE = re.compile(r"(?i)\b(vat|tva|tax|gst|btw)([0-9SOIl][0-9SOIl]?(?:[.,][0-9SOIl]{1,2})?%)")
_RATE_DIGITS = str.maketrans("SOIl", "5011")


def _glued_rate(line: str) -> str:
    return _GLUED_RATE.sub(lambda m: m.group(1) + m.group(2).translate(_RATE_DIGITS), line)


class Page:
    """OCR lines with character offsets of their words, so a match maps back to word indices."""

    def __init__(self, ocr: OcrPage) -> None:
        self.ocr = ocr
        self.lines = [_glued_rate(ln.text) for ln in ocr.lines]
        self.offsets: list[list[tuple[int, int, int]]] = []
        for ln in ocr.lines:
            pos, spans = 0, []
            for wi in ln.words:
                t = ocr.words[wi].text
                spans.append((pos, pos + len(t), wi))
                pos += len(t) + 1
            self.offsets.append(spans)
        self.text = "\n".join(self.lines)

    def words(self, span: Span) -> list[int]:
        return [wi for a, b, wi in self.offsets[span.line] if a < span.end and b > span.start]

    def conf(self, words: Iterable[int]) -> float:
        cs = [self.ocr.words[i].conf for i in words]
        return sum(cs) / len(cs) if cs else 0.5

    def find(self, patterns: list[str], start_line: int = 0) -> Iterable[tuple[int, re.Match[str]]]:
        """(line index, match) for each label, pattern priority first, then top to bottom."""
        for pat in patterns:
            rx = re.compile(pat, re.I)
            for i in range(start_line, len(self.lines)):
                m = rx.search(self.lines[i])
                if m:
                    yield i, m


# A word that starts another "label amount" pair on the same line ("Exclusief BTW 593,36
# Subtotaal 717,97", "Totaal 717,97 iDEAL op 21 april 2015 717,97"): 4+ letters, so a currency
# code ("12.00 USD 14.00") does not cut the line.
NEXT_LABEL = re.compile(r"[^\W\d_]{4,}")


_AMOUNT_LABELS = tuple(
    re.compile(p, re.I) for p in (*L_TOTAL, *L_SUBTOTAL, *L_TAX, *L_CASH, *L_CHANGE, *L_ROUNDING)
)


def _coin_rounding(rounding: tuple[Decimal, int] | None) -> bool:
    """Whether a printed rounding is a coin's (COIN_ROUNDING at most), not a misread ("-0 01"
    read as 1.00)."""
    return rounding is not None and 0 < abs(rounding[0]) <= COIN_ROUNDING


def _opens_with_label(line: str) -> bool:
    """Whether a line starts with a label of its own amount (total, net, tax, cash, change,
    rounding): the value on it is that label's, not the line's above."""
    head = line.lstrip(" .:-|*")
    return any((m := rx.search(head)) is not None and m.start() == 0 for rx in _AMOUNT_LABELS)


def _own_amount(text: str, amounts: list[tuple[Decimal, int, int]]) -> tuple[Decimal, int, int]:
    """The amount a label on this line names: the last sum of money (cents printed) before a
    word that starts another label's pair, else the line's last. A count is no such amount:
    "Total 3 items 45.00" is 45.00."""
    for k in range(len(amounts) - 1):
        cents = re.search(r"[.,]\d{2}$", text[amounts[k][1] : amounts[k][2]])
        if cents and NEXT_LABEL.search(text[amounts[k][2] : amounts[k + 1][1]]):
            return amounts[k]
    return amounts[-1]


class Extractor:
    def __init__(self, ocr: OcrPage) -> None:
        self.p = Page(ocr)
        self.values: dict[str, FieldValue] = {}
        self.checks: list[Check] = []
        self.rounding = Decimal("0")  # the cash rounding taken into the total, if any
        self.lang = self._language()
        self.month_first = self._month_first()

    def _language(self) -> str:
        toks = re.findall(r"[a-zà-ÿ]+", self.p.text.lower())
        en = sum(t in EN_WORDS for t in toks)
        fr = sum(t in FR_WORDS for t in toks) + sum(1 for t in toks if re.search(r"[éèêàçùâîô]", t))
        return "fr" if fr > en else "en"

    def _month_first(self) -> bool:
        # A numeric date with a day over 12 settles the page's order; otherwise follow the
        # language's convention (US English month first, French day first).
        # Only confidently read words vote: a stamp or a scribble read as "21/03/2000" must not
        # turn the page's printed dates around.
        votes = 0
        for w in self.p.ocr.words:
            if w.conf < VOTE_CONF:
                continue
            for m in re.finditer(r"(?<!\d)(\d{1,2})[/.-](\d{1,2})[/.-](\d{2,4})(?!\d)", w.text):
                a, b = int(m.group(1)), int(m.group(2))
                votes += (b > 12) - (a > 12)
        if votes:
            return votes > 0
        # Ambiguous everywhere: French pages are day first; English ones are month first only
        # where they look American. The US is the one English-writing country that puts the
        # month first, so a page priced in another currency (pounds, euros, ringgit, rupees)
        # or taxed with VAT or GST, which the US does not levy, is read day first.
        if self.lang != "en":
            return False
        cur = parse.find_currency(self.p.text)
        taxed = RE_NON_US_TAX.search(self.p.text)
        if cur == "USD" and taxed and not RE_US_DOLLAR.search(self.p.text):
            # A bare "$" beside VAT or GST is Australia's, Singapore's or New Zealand's dollar
            # (or an S that OCR read as "$": "Lot $319"), all of them day first.
            return False
        if cur is not None and cur not in AMBIGUOUS_ORDER_CURRENCIES:
            return cur == "USD"
        return cur is not None or not taxed

    def put(self, name: str, value: object, span: Span | None, prior: float, raw: str | None = None) -> None:
        words = self.p.words(span) if span else []
        conf = max(0.0, min(1.0, prior * (0.5 + 0.5 * self.p.conf(words)) if words else prior * 0.7))
        if raw is None and span is not None:
            raw = self.p.lines[span.line][span.start : span.end]
        if isinstance(value, str) and raw and RE_ISO_DATE.fullmatch(value):
            printed = parse.misread_year(raw, value)
            if printed:
                conf *= 0.7
                self.checks.append(
                    Check(
                        name="year_misread",
                        ok=False,
                        detail=f"{name}: year read as {printed}, taken as {value[:4]}",
                    )
                )
        self.values[name] = FieldValue(value=value, confidence=round(conf, 3), raw=raw, words=words)  # type: ignore[arg-type]

    # -- generic finders --------------------------------------------------------------------

    def _rows(self, i: int, m: re.Match[str], accept: Callable[[str], bool] | None = None) -> tuple[int, ...]:
        """The label's own line; when nothing but punctuation follows the label, then the line
        printed on the same row to its right that ``accept`` takes (if given), then the next line."""
        rest = self.p.lines[i][m.end() :]
        if re.search(r"[A-Za-zÀ-ÿ]{2,}", rest):
            return (i,)
        row = self._same_row(i, accept) if accept is not None and not rest.strip(" :.#°-") else None
        return (i, row, i + 1) if row is not None and row != i + 1 else (i, i + 1)

    def labelled_amount(
        self, name: str, patterns: list[str], prior: float = 0.9, skip: frozenset[int] = frozenset()
    ) -> Decimal | None:
        for i, m in self.p.find(patterns):
            if i in skip:
                continue
            rows = self._rows(i, m)
            for j in rows:
                if j != i:
                    # Before the next line: the amount printed on the same row of the page but
                    # read into another block (word boxes), then a column of labels facing a
                    # column of amounts (line order only, for text without boxes).
                    found = self._row_amount(i) or self._column_amount(i)
                    if found is not None:
                        v, line, a, b = found
                        self.put(name, parse.format_amount(v), Span(line, a, b), prior * 0.8)
                        return v
                if j >= len(self.p.lines):
                    break  # the label ends the text and no row or column holds its amount
                offset = m.end() if j == i else 0
                if j != i and MASKED.search(self.p.lines[j]):
                    continue  # "Paid by card **** 4167": card digits, not an amount
                if j != i and _opens_with_label(self.p.lines[j]):
                    continue  # "Net amount" with its value lost: "Tax 20% 271.11" below is the tax
                # A rate is not an amount ("TVA 5,5%"): blanked, keeping character offsets.
                amounts = parse.find_amounts(
                    RATE.sub(lambda r: " " * len(r.group(0)), self.p.lines[j][offset:])
                )
                if amounts:
                    v, a, b = _own_amount(self.p.lines[j][offset:], amounts)
                    self.put(
                        name,
                        parse.format_amount(v),
                        Span(j, offset + a, offset + b),
                        prior if j == i else prior * 0.8,
                    )
                    return v
        return None

    def _same_row(self, i: int, accept: Callable[[str], bool]) -> int | None:
        """The OCR line printed on the same row as line ``i``, right of it, nearest first, whose
        text ``accept`` takes (Tesseract often reads a column of labels and a column of values
        as separate blocks). Needs word boxes: text without them (zero-size boxes) never matches."""
        lab = self.p.ocr.lines[i].box
        height = lab[3] - lab[1]
        if height <= 0:
            return None
        best: tuple[float, int] | None = None
        for j, ln in enumerate(self.p.ocr.lines):
            b = ln.box
            if j == i or b[0] < lab[2] - 0.01 or b[3] <= b[1]:
                continue
            overlap = min(lab[3], b[3]) - max(lab[1], b[1])
            if overlap < 0.5 * min(height, b[3] - b[1]) or not accept(self.p.lines[j]):
                continue
            gap = b[0] - lab[2]
            if best is None or gap < best[0]:
                best = (gap, j)
        return best[1] if best else None

    def _row_amount(self, i: int) -> tuple[Decimal, int, int, int] | None:
        """The amount on the same printed row as label line ``i`` (see ``_same_row``)."""
        line = self._same_row(i, lambda t: not MASKED.search(t) and bool(parse.find_amounts(t)))
        if line is None:
            return None
        v, a, b = parse.find_amounts(self.p.lines[line])[0]
        return v, line, a, b

    def _column_amount(self, i: int) -> tuple[Decimal, int, int, int] | None:
        """Totals printed as a column of labels and a column of amounts that OCR reads as two
        blocks: the k-th label of the label run gets the k-th amount of the next amount run."""
        label_only = re.compile(r"^[^\d]*[A-Za-zÀ-ÿ]{2,}[^\d]*(?:\d{1,2}(?:[.,]\d+)?\s?%)?[^\d]*$")
        if not label_only.match(self.p.lines[i]):
            return None
        start = i
        while start > 0 and label_only.match(self.p.lines[start - 1]) and len(self.p.lines[start - 1]) < 30:
            start -= 1
        end = i
        while (
            end + 1 < len(self.p.lines)
            and label_only.match(self.p.lines[end + 1])
            and len(self.p.lines[end + 1]) < 30
        ):
            end += 1
        k, n = i - start, end - start + 1
        if n < 2:
            return None
        # the amount run read after the labels, else (amounts read first) the nearest one before
        runs = [r for r in self._amount_runs(end + 1, end + 13 + n) if r[0] <= end + 12]
        before = self._amount_runs(max(0, start - 12), start)
        for run in [r for r in runs if len(r) == n][:1] + [r for r in before if len(r) == n][-1:]:
            amounts = parse.find_amounts(self.p.lines[run[k]])
            if amounts:
                v, a, b = amounts[-1]
                return v, run[k], a, b
        return None

    def _amount_runs(self, lo: int, hi: int) -> list[list[int]]:
        """Runs of consecutive amount-only lines among lines ``lo`` .. ``hi - 1``."""
        amount_only = re.compile(r"[^A-Za-zÀ-ÿ]*\d[^A-Za-zÀ-ÿ]*|.{0,4}\d.*(?:EUR|USD|GBP|CHF)\s*")
        runs: list[list[int]] = []
        prev = -2
        for j in range(lo, min(hi, len(self.p.lines))):
            if not amount_only.fullmatch(self.p.lines[j]):
                continue
            if j == prev + 1:
                runs[-1].append(j)
            else:
                runs.append([j])
            prev = j
        return runs

    def labelled_date(self, name: str, patterns: list[str], prior: float = 0.9) -> str | None:
        def dated(t: str) -> bool:
            return bool(parse.find_dates(t, self.month_first))

        # A label whose value was not read must not take the due date printed below it.
        due = RE_DUE if patterns is not L_DUE else None
        for i, m in self.p.find(patterns):
            for j in self._rows(i, m, dated):
                if j >= len(self.p.lines):
                    break
                if j != i and due is not None and due.search(self.p.lines[j]):
                    continue
                offset = m.end() if j == i else 0
                dates = parse.find_dates(self.p.lines[j][offset:], self.month_first)
                if dates:
                    iso, a, b = dates[0]
                    self.put(name, iso, Span(j, offset + a, offset + b), prior if j == i else prior * 0.8)
                    return iso
        return None

    def labelled_id(self, name: str, patterns: list[str], prior: float = 0.9) -> str | None:
        def ident(t: str) -> bool:
            return bool(RE_ID.match(t.strip(" :.#°"))) and not parse.parse_date(t.strip(), self.month_first)

        for i, m in self.p.find(patterns):
            line = self.p.lines[i]
            if REGISTRATION.search(line[: m.start()]) or OTHER_NUMBER.match(line[m.end() :]):
                continue  # "VAT Reg No. 123", "Account number", "N° client": other ids on the page
            for j in self._rows(i, m, ident):
                if j >= len(self.p.lines):
                    break
                offset = m.end() if j == i else 0
                rest = self.p.lines[j][offset:]
                mm = RE_ID.search(rest.lstrip(" :.#°"))
                if mm:
                    stripped = rest.lstrip(" :.#°")
                    shift = offset + len(rest) - len(stripped)
                    end = mm.end()
                    # OCR sometimes splits a number at a space ("INV-202 1-26098", "0330-7
                    # 76237"): a lone digit-led piece ending the line belongs to a hyphenated one.
                    # Or the split is right after a hyphen ("5565- 387348 NN"): what follows
                    # belongs to it whatever comes after.
                    tail = re.fullmatch(r"\s(\d[\dA-Z\-/]*)\s*", stripped[end:])
                    # ... or right before one ("3165 -644892").
                    tail = tail or re.match(r"\s(-\d[\dA-Z\-/]*\d)(?![\w,.])", stripped[end:])
                    if mm.group(0).endswith("-"):
                        tail = re.match(r"\s(\d[\dA-Z\-/]*\d)", stripped[end:]) or tail
                    if tail and ("-" in tail.group(1) or "-" in mm.group(0)):
                        value = (mm.group(0) + tail.group(1)).strip("._/-")
                        end += 1 + len(tail.group(1))
                    else:
                        value = mm.group(0).strip("._/-")
                    if parse.parse_date(value, self.month_first):
                        continue
                    self.put(
                        name,
                        value,
                        Span(j, shift + mm.start(), shift + end),
                        prior if j == i else prior * 0.75,
                    )
                    return value
        return None

    def unlabelled_id(self, name: str) -> None:
        """A document number whose label was not read (a stamp over "N°:", a label printed in
        pale ink): a line near the top that is nothing but a code of a document number's shape,
        letters then digits ("BC-2019-38610", "PO459590"). Lone digits are left alone: a phone
        number or a postcode looks the same. Low confidence, so a person checks it."""
        top = max(UNLABELLED_ID_LINES, len(self.p.lines) // 3)
        for i, line in enumerate(self.p.lines[:top]):
            m = RE_DOC_NUMBER.fullmatch(line.strip(" .:#°"))
            if m and not parse.find_iban(line) and sum(c.isdigit() for c in m.group(0)) >= 5:
                start = line.index(m.group(0))
                self.put(name, m.group(0), Span(i, start, start + len(m.group(0))), UNLABELLED_ID_PRIOR)
                return

    def first_date(self, name: str, prior: float = 0.6, skip: frozenset[str] = frozenset()) -> None:
        """The page's first date when none is labelled, leaving out a due date ("Échéance: 7
        décembre 2020"): when the issue date's value was not read, the due date is not it.
        Any line may hold it: a till prints its date last, and a receipt read as an invoice
        (SROIE 204, 418) must keep it."""
        for i, line in enumerate(self.p.lines):
            if RE_DUE.search(line):
                continue
            if RE_BIRTH.search(line) or (
                i and RE_BIRTH.search(self.p.lines[i - 1]) and not re.search(r"\d", self.p.lines[i - 1])
            ):
                continue  # a birth date, on its label's line or under it, is not the page's date
            dates = [d for d in parse.find_dates(line, self.month_first) if d[0] not in skip]
            if dates:
                iso, a, b = dates[0]
                self.put(name, iso, Span(i, a, b), prior)
                return

    def issuer_line(self, name: str, prior: float) -> None:
        """Who issued the page: of its top lines that read as a name, not a number line
        ("21802057"), a document title ("TAX INVOICE") or a "Label: value" line ("Cashier:
        Jessica"), the first that ends in a legal form ("Coolblue B.V.", below a slogan), else
        the first that heads the page's title ("Amazon Web Services Invoice", below the logo
        read as "amazon"), else the first. A legal form printed on the line below ("SDN BHD",
        "Ltd") is part of it; a title after the name on its line ("OYO PAYMENT RECEIPT") is not."""
        found: list[tuple[int, str, int]] = []  # line, name, end of the name in the line
        headed: list[tuple[int, str, int]] = []  # of those, names a title follows on their line
        for i, line in enumerate(self.p.lines[:ISSUER_LINES]):
            text = line.strip(' :,|°*~`"')  # and the specks OCR leaves at its ends ("Nicolas °")
            if self._logo_letter(i) and len(text.split()) > 1:
                # a monogram beside the name: "A Jenkins and Sons", "4 Banks and Sons"
                text = text.split(maxsplit=1)[1]
            elif scrap := RE_LOGO_SCRAP.match(text):
                text = text[scrap.end() :]
            if RE_ADDRESS_LINE.search(text):
                continue
            letters = sum(ch.isalpha() for ch in text)
            if letters < 3 or letters < 0.5 * len(text.replace(" ", "")):
                continue
            if RE_TITLE.match(text) or RE_LABELLED.search(text) or len(text.split()) > ISSUER_MAX_WORDS:
                continue  # a title, a "Label: value" line, a sentence
            if RE_TITLE_COMPACT.fullmatch(re.sub(r"[\W_]", "", text)) or RE_DOC_TITLE.fullmatch(
                text.strip(" .")
            ):
                continue
            tail = RE_TITLE_TAIL.search(text)
            if tail and sum(ch.isalpha() for ch in text[: tail.start()]) >= 2:
                who = text[: tail.start()].strip(" :,|-")
                found.append((i, who, len(who)))
                if len(who.split()) >= 2:  # "Sales Invoice" is a kind of invoice, not its issuer
                    headed.append(found[-1])
                continue
            nxt = self.p.lines[i + 1].strip() if i + 1 < len(self.p.lines) else ""
            found.append((i, f"{text} {nxt}" if RE_LEGAL_FORM.match(nxt) else text, len(line)))
        if found:
            i, who, end = next((f for f in found if RE_ENDS_LEGAL_FORM.search(f[1])), (headed or found)[0])
            self.put(name, who, Span(i, 0, end), prior, raw=who)

    def _logo_letter(self, i: int) -> bool:
        """Whether line ``i`` opens with a letter or two that stand apart, a logo's width or more
        from the next word, or that stand far taller than it (a monogram or an initial in a badge
        beside the name, which OCR reads as "A" or "M"), or with a mark of up to three characters
        that sticks out left of the block the name and the address below it share (LOGO_ALIGN);
        by the word boxes, so "A Better Way Ltd" keeps its "A"."""
        row = [w for _a, _b, w in self.p.offsets[i]] if i < len(self.p.offsets) else []
        width, height = self.p.ocr.size
        if len(row) < 2 or not width:
            return False
        first, second = self.p.ocr.words[row[0]], self.p.ocr.words[row[1]]
        tall = (second.box[3] - second.box[1]) * height  # pixels
        gap = (second.box[0] - first.box[2]) * width
        badge = (first.box[3] - first.box[1]) * height > LOGO_TALL * tall  # the logo read whole as a letter
        mark = first.text.strip(".,")
        if not any(ch.isalnum() for ch in mark):
            return False  # a speck (":", "'"), which the name's line is stripped of anyway
        if len(mark) <= 2 and tall > 0 and (gap > LOGO_GAP * tall or badge):
            return True
        below = [
            self.p.ocr.words[self.p.offsets[j][0][2]]
            for j in (i + 1, i + 2)
            if j < len(self.p.offsets) and self.p.offsets[j]
        ]
        if len(mark) > 3 or len(below) != 2:
            return False
        # Judged at the address's own size: a centred letterhead's lines of different lengths
        # do not start together, a left-aligned block's do, to a fraction of their height.
        small = (below[0].box[3] - below[0].box[1]) * height
        edges = [w.box[0] * width for w in below]
        return (
            small > 0
            and abs(edges[0] - edges[1]) <= LOGO_ALIGN * small / 2
            and all(abs(e - second.box[0] * width) <= LOGO_ALIGN * small for e in edges)
            and (second.box[0] - first.box[0]) * width > small
        )

    def line_value(self, name: str, index: int, prior: float) -> None:
        if 0 <= index < len(self.p.lines):
            text = self.p.lines[index].strip(" :,")
            if text:
                self.put(name, text, Span(index, 0, len(self.p.lines[index])), prior)

    def after_label(self, name: str, patterns: list[str], prior: float = 0.75) -> None:
        """The value after a label on its line, else the next line. Another party's label beside
        it ("Vendor | Ship to" over two blocks) is no value: the next line is taken then."""
        for i, m in self.p.find(patterns):
            rest = self.p.lines[i][m.end() :].strip(" :")
            if RE_PARTY_LABEL.match(rest.lstrip(" |[].")):
                rest = ""
            if len(rest) >= 3:
                a = self.p.lines[i].index(rest, m.end())
                self.put(name, rest, Span(i, a, a + len(rest)), prior)
            else:
                self.line_value(name, i + 1, prior * 0.9)
            return

    # -- forms ---------------------------------------------------------------------------------

    def _label_row(self, i: int, m: re.Match[str]) -> LabelRow | None:
        """The label ``m`` on line ``i`` by its words' boxes: its own words, its line's words, the
        first and last of its phrase in that line (widened over the words set closer than a
        column's gap, COLUMN_GAP), its height and that gap (of the page's height and width);
        None where the words have no boxes."""
        words = self.p.ocr.words
        own = self.p.words(Span(i, m.start(), m.end()))
        width, height = self.p.ocr.size
        if not own or not width or all(words[w].box[2] <= words[w].box[0] for w in own):
            return None
        row = [w for _a, _b, w in self.p.offsets[i]]
        first, last = row.index(own[0]), row.index(own[-1])
        tall = max(words[w].box[3] - words[w].box[1] for w in own)  # of the page's height
        gap = COLUMN_GAP * tall * height / width  # of the page's width
        while first > 0 and words[row[first]].box[0] - words[row[first - 1]].box[2] < gap:
            first -= 1
        while last + 1 < len(row) and words[row[last + 1]].box[0] - words[row[last]].box[2] < gap:
            last += 1
        return own, row, first, last, tall, gap

    @staticmethod
    def _far_after(found: LabelRow | None) -> bool:
        """Whether the word after a label (``found`` by ``_label_row``) starts a column's gap
        away; False where the words have no boxes."""
        if found is None:
            return False
        own, row, _first, last, _tall, gap = found
        return gap > 0 and last == row.index(own[-1]) and last + 1 < len(row)

    def _below(self, i: int, found: LabelRow | None) -> Span | None:
        """What is filled in under a label: the words in the label's column on the nearest line
        below it, within BELOW_LINES of the label's height. The column runs from the label's
        phrase (the words set close before it: "Full name", "[x name") to the next word a
        column's gap away on its right (a form's row of labels over a row of boxes, "IBAN
        BIC" over "FR76 3000 ...  BNPAFRPP"). Found by the word boxes, not the reading order,
        which may put the two columns' values lines apart. ``found`` is the label's row
        (``_label_row``); text without boxes gives the next line."""
        if found is None:
            return Span(i + 1, 0, len(self.p.lines[i + 1])) if i + 1 < len(self.p.lines) else None
        own, row, first, last, tall, gap = found
        words = self.p.ocr.words
        left = words[row[first]].box[0] - COLUMN_SLACK
        right = words[row[last + 1]].box[0] - COLUMN_SLACK if last + 1 < len(row) else 2.0
        # The next label of the row may be a line of its own in Tesseract's reading ("Titulaire
        # du compte" and "Adresse" over two boxes), set a little lower on a skewed page: any
        # word beside the label (their heights overlap), a column's gap to its right, closes
        # the column too.
        y1, y2 = min(words[w].box[1] for w in own), max(words[w].box[3] for w in own)
        end = words[row[last]].box[2] + gap
        for w in words:
            if end < w.box[0] < right and w.box[1] < y2 and w.box[3] > y1:
                right = w.box[0] - COLUMN_SLACK
        top = max(words[w].box[3] for w in own) - 0.3 * tall
        best: tuple[float, Span] | None = None
        for j, spans in enumerate(self.p.offsets):
            inside = [
                (a, b, words[w].box[1])
                for a, b, w in spans
                if left <= words[w].box[0] < right and top < words[w].box[1] < top + BELOW_LINES * tall
            ]
            if j != i and inside:
                y = min(t for _a, _b, t in inside)
                if best is None or y < best[0]:
                    best = (y, Span(j, inside[0][0], inside[-1][1]))
        return best[1] if best else None

    def form_value(
        self, name: str, patterns: list[str], parse_value: Callable[[str], str | None], prior: float = 0.75
    ) -> str | None:
        """A form's value: after its label on the label's line, else under it (``_below``);
        ``parse_value`` normalises the text found (None: not such a value). Another label
        under it means the value was not read: nothing is taken."""
        for i, m in self.p.find(patterns):
            line = self.p.lines[i]
            rest = line[m.end() :]
            lead = len(rest) - len(rest.lstrip(" :.#°-|"))
            spans = [Span(i, m.end() + lead, len(line))] if re.search(r"\w{2,}", rest) else []
            found = self._label_row(i, m)
            below = self._below(i, found)
            if below is not None:
                # What follows the label a column's gap away may be the next box's label, as
                # OCR mangles it ("Titulaire du compte   resse" for "Adresse"): the value under
                # the label is tried first then.
                spans.insert(1 if spans and not self._far_after(found) else 0, below)
            for span in spans:
                text = self.p.lines[span.line][span.start : span.end].strip(" :|[]")
                if not text or RE_FORM_LABEL.search(text):
                    continue
                value = parse_value(text)
                if value is not None:
                    self.put(name, value, span, prior if span.line == i else prior * 0.9, raw=text)
                    return value
            return None  # the first label found is the form's: another is some other box's
        return None

    @staticmethod
    def _person(text: str) -> str | None:
        """A person's or a company's name as filled in: two words or more, letters only (box
        borders read as bars and brackets cut off); capitals kept as written."""
        text = re.split(r"\s[|\[\]{}]|[|\[\]{}]\s", text)[0].strip(" ,.;:")
        return text[:200] if RE_NAME.match(text) else None

    def _id_value(self, text: str) -> str | None:
        """An identity document's number as filled in; a lone letter OCR set apart from the
        digits after it is the number's own ("s 12414229" is S12414229)."""
        text = re.sub(r"^([A-Za-z])\s(?=\d{5,}\b)", lambda m: m.group(1).upper(), text.strip(" :.#°"))
        m = RE_ID.match(text)
        if not m or parse.parse_date(m.group(0), self.month_first):
            return None
        value = m.group(0).strip("._/-")
        return value if len(value) >= 4 and any(ch.isdigit() for ch in value) else None

    def kyc(self) -> None:
        """An identity form: the customer's name, birth date, nationality and identity document
        number, each from its box."""
        self.form_value("customer", L_FULL_NAME, self._person, prior=0.7)
        born = self.form_value(
            "birth_date", L_BIRTH, lambda t: parse.parse_date(t, self.month_first), prior=0.8
        )
        date = self.values.get("date")
        if born is not None and date is not None and date.value == born:
            del self.values["date"]  # the birth date read where the form's own date was looked for
        if born is None:
            # Its label not read ("Dte of bith" in small brown print): the first date written on
            # the form, which asks for its holder's birth date before the ID's dates.
            form_date = self.values.get("date")  # printed above the boxes, labelled: not the holder's
            skip = frozenset({str(form_date.value)}) if form_date is not None else frozenset()
            self.first_date("birth_date", prior=KYC_BIRTH_UNLABELLED, skip=skip)
        self.form_value(
            "nationality",
            L_NATIONALITY,
            lambda t: t[:60] if re.fullmatch(r"[^\W\d_][^\W\d_' -]{2,}", t) else None,
            prior=0.6,
        )
        if (
            not self.form_value("id_number", L_ID_NUMBER, self._id_value, prior=0.8)
            and "number" in self.values
            and self._id_value(str(self.values["number"].value))  # not "17" read from a smudge
        ):
            # "Numéro" alone under "Pièce d'identité": the page's one number is the document's.
            n = self.values["number"]
            self.values["id_number"] = n.model_copy(update={"confidence": round(n.confidence * 0.8, 3)})

    def mandate(self) -> None:
        """A SEPA direct debit mandate: the creditor identifier (its check digits checked), the
        debtor, and the debtor's BIC beside the IBAN."""
        ci = self.form_value("creditor_id", L_CREDITOR_ID, parse.creditor_id, prior=0.85)
        if ci is None:
            # Unlabelled (the label lost under a stamp): the default business code "ZZZ" makes
            # one unmistakable.
            m = re.search(r"\b[A-Z]{2}[0-9OISBZ]{2}ZZZ[A-Z0-9]{4,28}\b", self.p.text)
            ci = parse.creditor_id(m.group(0)) if m else None
            if m and ci:
                self.put("creditor_id", ci, None, 0.6, raw=m.group(0))
        if ci is not None:
            self.checks.append(
                Check(
                    name="creditor_id_checksum",
                    ok=parse.creditor_id_valid(ci),
                    detail=f"creditor identifier {ci}",
                )
            )
        self.form_value("debtor", L_DEBTOR, self._person, prior=0.7)
        bic = self.form_value("bic", L_BIC, lambda t: (b := parse.find_bic(t)) and b[0], prior=0.8)
        iban = self.values.get("iban")
        if bic is None and iban is not None:
            # The box labels unread (small print in a colour): a line that is nothing but a BIC
            # of the IBAN's country, or that and the IBAN (their boxes side by side), is the
            # debtor's.
            ibans = {re.sub(r"\s", "", str(v)).upper() for v in (iban.value, iban.raw) if v}
            for i, line in enumerate(self.p.lines):
                found = parse.find_bic(line)
                rest = re.sub(r"\s", "", line[: found[1]] + line[found[2] :]).upper() if found else ""
                for compact in ibans:
                    rest = rest.replace(compact, " ")
                if found and found[0][4:6] == str(iban.value)[:2] and not re.search(r"\w{2,}", rest):
                    bic = found[0]
                    self.put("bic", bic, Span(i, found[1], found[2]), 0.5)
                    break
        if bic is not None:
            detail = f"BIC {bic}" + ("" if parse.bic_valid(bic) else ": no such country in it")
            if iban is not None and str(iban.value)[:2] != bic[4:6]:
                detail += f"; the IBAN is of {str(iban.value)[:2]}"  # possible, rare: said, not failed
            self.checks.append(Check(name="bic_valid", ok=parse.bic_valid(bic), detail=detail))

    def currency(self) -> None:
        for key in ("total", "subtotal", "gross"):
            fv = self.values.get(key)
            if fv and fv.words:
                idx = self._line_of(key)
                text = self.p.lines[idx] if idx is not None else self.p.ocr.words[fv.words[0]].text
                cur = parse.find_currency(text)
                if cur and idx is not None:
                    self.put("currency", cur, Span(idx, 0, len(text)), 0.9, raw=text)
                    return
        cur = parse.find_currency(self.p.text)
        if cur:
            self.put("currency", cur, None, 0.7, raw=None)

    # -- per document type --------------------------------------------------------------------

    def document_number(self) -> None:
        """The page's number: labelled, else a lone code near the top (``unlabelled_id``)."""
        if not self.labelled_id("number", L_NUMBER):
            self.unlabelled_id("number")

    def money_document(self, doc_type: str) -> list[LineItem]:
        self.document_number()
        if not self.labelled_date("date", L_DATE):
            self.first_date("date")
        if doc_type == "invoice":
            self.labelled_date("due_date", L_DUE)
            self.due_after_issue()
        total = self.labelled_amount("total", L_TOTAL, skip=self.tax_summary())
        sub = self.labelled_amount("subtotal", L_SUBTOTAL)
        tax = self.labelled_amount("tax", L_TAX, prior=0.8)
        self.currency()
        iban = parse.find_iban(self.p.text.replace("\n", " \n "))
        if iban:
            self.put("iban", iban[0], None, 0.85, raw=iban[0])
            self.checks.append(
                Check(name="iban_checksum", ok=parse.iban_valid(iban[0]), detail=f"IBAN {iban[0]} mod-97")
            )
        if doc_type == "purchase_order":
            # The buyer issues a purchase order; it goes to the vendor, named under its label.
            self.issuer_line("buyer", 0.6)
            self.after_label("seller", L_VENDOR)
        else:
            self.issuer_line("seller", 0.6)
        if doc_type == "receipt":
            self.issuer_line("merchant", 0.7)
        elif doc_type == "invoice":
            self.after_label("buyer", L_BUYER)
        sub, tax, total = self.dash_not_minus(sub, tax, total)
        items = self.line_items(with_unit=doc_type != "receipt", target=sub if sub is not None else total)
        total, tax = self.mend_misread_sum(items, sub, tax, total)
        rounding = self._inline_amount(L_ROUNDING)  # read once: both steps below weigh it
        total = self.settle_with_cash(self.after_rounding(total, rounding), rounding)
        total = self.rounded_unread(total, rounding)
        tax = self.drop_tax_above(total if total is not None else sub, tax)
        self.tax_rate(sub, tax)
        self.total_checks(items, sub, tax, total)
        return items

    def tax_rate(self, sub: Decimal | None, tax: Decimal | None) -> None:
        """The rate printed on the page's tax lines ("TVA 20%", "Tax (8%)"), as a fraction
        ("0.2"); none where several rates are printed (a page taxed at 5.5% and 20% has no one
        rate). Surer where the net times the rate gives the tax read."""
        found: dict[str, Span] = {}
        for i, m in self.p.find(L_TAX):
            line = self.p.lines[i]
            for r in parse.RATE_RE.finditer(line, m.end()):
                rate = parse.parse_rate(r.group(0))
                if rate is not None:
                    found.setdefault(rate, Span(i, r.start(), r.end()))
                break  # the first rate after the label is its own
        if len(found) != 1:
            return
        ((rate, span),) = found.items()
        fits = sub is not None and tax is not None and abs(sub * Decimal(rate) - tax) <= CENT
        self.put("tax_rate", rate, span, 0.9 if fits else 0.7)

    def drop_tax_above(self, bound: Decimal | None, tax: Decimal | None) -> Decimal | None:
        """A tax above the total (or, with no total, the net) is a registration number or a
        line's amount read beside a tax label ("GST 10: 600381399040" for "GST ID:"), not the
        tax: it is dropped, and a failed ``tax_read`` check says what was read."""
        if tax is None or bound is None or abs(tax) <= abs(bound):  # a credit note's are negative
            return tax
        raw = self.values.pop("tax").raw
        self.checks.append(
            Check(name="tax_read", ok=False, detail=f"tax read as {raw!r} exceeds {bound:.2f}: dropped")
        )
        return None

    def type_fits_payment(self, doc_type: str) -> None:
        """An invoice or an order does not print the cash handed over and the change given back;
        a till receipt does. Such a page read as one of those fails ``type_fits_payment``, so a
        receipt titled "Tax invoice" that the classifier took for an invoice goes to review."""
        paid = next((c for c in self.checks if c.name in ("total_paid_in_cash", "total_from_cash")), None)
        if paid is not None and doc_type in ("invoice", "purchase_order"):
            self.checks.append(
                Check(
                    name="type_fits_payment",
                    ok=False,
                    detail=f"read as {doc_type}, but cash handed over and change given are printed, as on a "
                    f"till receipt ({paid.detail})",
                )
            )

    def tax_summary(self) -> frozenset[int]:
        """Lines of a tax summary table ("GST SUMMARY / Tax Code  Amt  Tax / SR 6 28.00 1.68 /
        Total : 28.00 1.68"): its "Total" row adds up the taxed amounts and the tax, and its last
        figure is the tax, not what the document comes to."""
        lines: set[int] = set()
        for i, _m in self.p.find([RE_TAX_SUMMARY]):
            lines.update(range(i, min(i + TAX_SUMMARY_ROWS, len(self.p.lines))))
        return frozenset(lines)

    def _inline_amount(self, patterns: list[str]) -> tuple[Decimal, int] | None:
        """The last amount printed after the first of these labels that has one on its line."""
        for i, m in self.p.find(patterns):
            amounts = parse.find_amounts(self.p.lines[i][m.end() :])
            if amounts:
                return amounts[-1][0], i
        return None

    def after_rounding(self, total: Decimal | None, rounding: tuple[Decimal, int] | None) -> Decimal | None:
        """A till that rounds to the smallest coin prints the total, the rounding and then what
        is paid ("Total 473.51 / Round off -0.01 / Net total 473.50"): the sum printed within a
        few lines below the rounding that equals total + rounding is the total."""
        if total is None or rounding is None or not 0 < abs(rounding[0]) < 1:
            return total
        paid, line = total + rounding[0], rounding[1]
        for j in range(line + 1, min(line + ROUNDED_ROWS + 1, len(self.p.lines))):
            for v, a, b in parse.find_amounts(self.p.lines[j]):
                if abs(v - paid) <= CENT:
                    self.rounding = rounding[0]
                    self.put("total", parse.format_amount(v), Span(j, a, b), 0.9)
                    self.checks.append(
                        Check(
                            name="total_rounded",
                            ok=True,
                            detail=f"total {total:.2f} rounded by {rounding[0]:.2f} to {v:.2f} (line {j + 1})",
                        )
                    )
                    return v
        return total

    def rounded_unread(self, total: Decimal | None, rounding: tuple[Decimal, int] | None) -> Decimal | None:
        """The rounded total's line was not read ("To arron") and no cash lines settle it: a
        till that prints its rounding is paid the rounded sum, so that is the total. Worked
        out, not read: a failed ``total_mended`` check sends the page to review. Only a coin's
        rounding, and only when the total read is printed above the rounding line (below it,
        it is the rounded total already)."""
        if total is None or rounding is None or self.rounding or not _coin_rounding(rounding):
            return total
        if any(c.name in ("total_rounded", "total_paid_in_cash", "total_from_cash") for c in self.checks):
            return total
        total_line = self._line_of("total")
        if total_line is None or total_line >= rounding[1]:
            return total
        paid, self.rounding = total + rounding[0], rounding[0]
        self._mend(
            "total",
            paid,
            f"total {total:.2f} rounded by {rounding[0]:.2f} (line {rounding[1] + 1}) gives {paid:.2f};"
            " the rounded total printed below it was not read",
        )
        return paid

    def _mend(self, key: str, value: Decimal, detail: str) -> None:
        """Replace a read amount (or give one not read) with one worked out from the page, its
        confidence capped at MENDED, and add the failed ``<key>_mended`` check, saying ``detail``,
        that sends the page to review."""
        old = self.values.get(key)
        amount = parse.format_amount(value)
        self.values[key] = (
            FieldValue(value=amount, confidence=MENDED, raw=None, words=[])
            if old is None
            else old.model_copy(update={"value": amount, "confidence": round(min(old.confidence, MENDED), 3)})
        )
        self.checks.append(Check(name=f"{key}_mended", ok=False, detail=detail))

    def _line_of(self, key: str) -> int | None:
        """The line a field was read from (its first word's), if it was read from words."""
        fv = self.values.get(key)
        if not fv or not fv.words:
            return None
        return next((k for k, ln in enumerate(self.p.ocr.lines) if fv.words[0] in ln.words), None)

    def settle_with_cash(self, total: Decimal | None, rounding: tuple[Decimal, int] | None) -> Decimal | None:
        """Check the total against what a cash payment says was paid: cash handed over minus
        the change given back. They agree: a passed ``total_paid_in_cash`` check. The total
        plus a printed rounding gives it (``31.47``, rounding ``-0.02``, paid ``31.45``): the
        customer paid the rounded total, so that is the total. They disagree and the paid sum is
        printed elsewhere on the page too (a line item, a garbled "Total incl. GST" line): the
        total read was the wrong line (a tax summary's "Total : 28.00 1.68"), so the paid sum
        is kept, with a lower confidence and a failed ``total_from_cash`` check for review.
        Anything else is left as read, with that check failed."""
        cash, change = self._inline_amount(L_CASH), self._inline_amount(L_CHANGE)
        if cash is None or change is None or not 0 <= change[0] < cash[0] or change[1] == cash[1]:
            return total
        paid = cash[0] - change[0]
        sums = f"cash {cash[0]:.2f} - change {change[0]:.2f} = {paid:.2f}"
        if total is not None and abs(total - paid) <= CENT:
            self.checks.append(Check(name="total_paid_in_cash", ok=True, detail=f"total {total:.2f}; {sums}"))
            return total
        if (
            total is not None
            and rounding is not None
            and _coin_rounding(rounding)
            and abs(total + rounding[0] - paid) <= CENT
        ):
            old, self.rounding = self.values["total"], rounding[0]
            self.values["total"] = old.model_copy(update={"value": parse.format_amount(paid)})
            self.checks.append(
                Check(
                    name="total_paid_in_cash",
                    ok=True,
                    detail=f"total {total:.2f} rounded by {rounding[0]:.2f} to {paid:.2f}; {sums}",
                )
            )
            return paid
        elsewhere = [
            i
            for i, line in enumerate(self.p.lines)
            if i not in (cash[1], change[1])
            and any(abs(v - paid) <= CENT for v, _a, _b in parse.find_amounts(line))
        ]
        read = "no total" if total is None else f"total {total:.2f}"
        if not elsewhere:
            self.checks.append(
                Check(
                    name="total_from_cash",
                    ok=False,
                    detail=f"{read} read; {sums}, printed nowhere else: left as read",
                )
            )
            return total
        line = self.p.lines[cash[1]]
        self.put("total", parse.format_amount(paid), Span(cash[1], 0, len(line)), MENDED)
        self.checks.append(
            Check(
                name="total_from_cash",
                ok=False,
                detail=f"{read} read; {sums}, also printed on line {elsewhere[0] + 1}: {paid:.2f} kept",
            )
        )
        return paid

    def dash_not_minus(
        self, sub: Decimal | None, tax: Decimal | None, total: Decimal | None
    ) -> tuple[Decimal | None, Decimal | None, Decimal | None]:
        """A net, tax or total read as negative whose figures add up once it is not: the dash
        before it was a leader or a rule OCR read ("Total HT - 5 789,60 €"), not a minus. Net
        plus tax is the total to the cent, so the value is given unsigned at the confidence read."""
        if sub is None or tax is None or total is None or min(sub, tax, total) >= 0:
            return sub, tax, total
        if abs(sub + tax - total) <= CENT or abs(abs(sub) + abs(tax) - abs(total)) > CENT:
            return sub, tax, total  # a credit note's figures add up as printed: left negative
        for key, v in (("subtotal", sub), ("tax", tax), ("total", total)):
            if v < 0 and key in self.values:
                self.values[key] = self.values[key].model_copy(update={"value": parse.format_amount(-v)})
        return abs(sub), abs(tax), abs(total)

    def mend_misread_sum(
        self, items: list[LineItem], sub: Decimal | None, tax: Decimal | None, total: Decimal | None
    ) -> tuple[Decimal | None, Decimal | None]:
        """Mend a total or a tax that OCR misread by one digit, when the page's own arithmetic
        says which it was: net + tax differs from the total, the line items add up to the net
        (so the net is read right), and exactly one of the two others is one digit away from
        what the other two make (``1157.53`` read as ``157.53``). The mended value is kept
        with a lower confidence and a failed ``*_mended`` check says what was read, so the page
        still goes to review; anything less clear-cut is left as read for the checks to report."""
        if sub is not None and total is not None and (tax is None or abs(sub + tax - total) > CENT):
            want_tax = total - sub
            if 0 < want_tax <= sub and self._printed_rate_fits(sub, want_tax):
                # The net times the printed rate is the total less the net: that is the tax,
                # whatever OCR made of its figures ("TVA 20% S77, 91e") or if it read none.
                seen = "not read" if tax is None else f"read as {tax:.2f}"
                self._mend(
                    "tax",
                    want_tax,
                    f"tax {seen}; total {total:.2f} - net {sub:.2f} = {want_tax:.2f}, which is the net "
                    "x the printed tax rate: kept",
                )
                return total, want_tax
        if sub is None or tax is None or total is None or abs(sub + tax - total) <= CENT:
            return total, tax
        amounts = [Decimal(str(it.amount)) for it in items if it.amount is not None]
        by_items = bool(amounts) and abs(sum(amounts, Decimal("0")) - sub) <= CENT
        by_rate = self._printed_rate_fits(sub, tax)
        if not (by_items or by_rate):
            return total, tax
        want_total, want_tax = sub + tax, total - sub
        # A tax above the net is itself a misread (a lost decimal comma: 756,81 read as 75681),
        # so it cannot vouch for a total.
        total_off = 0 <= tax <= sub and _one_digit_off(total, want_total)
        tax_off = 0 <= want_tax <= sub and _one_digit_off(tax, want_tax)
        if total_off == tax_off:
            return total, tax  # neither, or both could be: the page cannot tell
        if total_off:
            name, read, want, given = "total", total, want_total, f"+ tax {tax:.2f}"
        else:
            name, read, want, given = "tax", tax, want_tax, f"and total {total:.2f}"
        how = f"= the {len(amounts)} line items" if by_items else "x the printed tax rate = the tax"
        self._mend(
            name,
            want,
            f"{name} read as {read:.2f}; net {sub:.2f} ({how}) {given} give {want:.2f}, one digit away: {want:.2f} kept",
        )
        return (want, tax) if total_off else (total, want)

    def due_after_issue(self) -> None:
        """Read an issue date and a due date so the due date falls within the usual payment
        terms after the issue date, where one of them could be read day or month first.

        The page-wide order (``_month_first``) is a guess when every date is ambiguous, and one
        handwritten date beside a signature ("27.01.00") can tip it; an unambiguous due date
        (``2019-12-06``) settles its issue date (``11/06/2019`` is 6 November, not 11 June).
        A due date before the issue date that no reading mends is reported as a failed check.
        """
        issue, due = self.values.get("date"), self.values.get("due_date")
        if issue is None or due is None:
            return

        def gap(i: object, d: object) -> int:
            return (date.fromisoformat(str(d)) - date.fromisoformat(str(i))).days

        if 0 <= gap(issue.value, due.value) <= DUE_WITHIN_DAYS:
            return
        for name, fv in (("date", issue), ("due_date", due)):
            alt = next((d for d in parse.date_readings(fv.raw or "") if d != fv.value), None)
            if alt is None:
                continue
            i, d = (alt, due.value) if name == "date" else (issue.value, alt)
            if 0 <= gap(i, d) <= DUE_WITHIN_DAYS:
                self.values[name] = fv.model_copy(update={"value": alt})
                self.checks.append(
                    Check(
                        name="due_after_issue",
                        ok=True,
                        detail=f"{name} {fv.raw!r} read as {alt}, so the due date {d} falls {gap(i, d)} days after the issue date {i}",
                    )
                )
                return
        if gap(issue.value, due.value) < 0:
            self.checks.append(
                Check(
                    name="due_after_issue",
                    ok=False,
                    detail=f"due date {due.value} is before the issue date {issue.value}",
                )
            )

    def line_items(
        self, with_unit: bool, target: Decimal | None = None, quantities: bool = False
    ) -> list[LineItem]:
        items: list[LineItem] = []
        label = re.compile(
            "|".join(L_TOTAL + L_SUBTOTAL + L_TAX + L_DATE + L_DUE + [L_SIGN, L_SIGN_BLOCK]), re.I
        )
        header = re.compile(
            r"\b(?:qty|qt[ée]|quantity|quantit[ée]|description|d[ée]signation|item|article|ordered|command[ée])\b",
            re.I,
        )
        # Rows live between the table header and the first totals line when the page has them.
        # The header names two columns or more, on one line or on two that OCR split: a title
        # that holds one of its words ("Bon de commande") comes before the page's head fields.
        terms = [{m.lower() for m in header.findall(ln)} for ln in self.p.lines]
        start = next((i + 1 for i, t in enumerate(terms) if len(t) >= 2), None)
        split = (
            i + 2
            for i in range(len(terms) - 1)
            if terms[i] and terms[i + 1] and len(terms[i] | terms[i + 1]) >= 2
        )
        start = min(start or len(terms), next(split, len(terms)))
        if start == len(terms):
            start = next((i + 1 for i, t in enumerate(terms) if t), 0)
        stop = next(
            (i for i in range(start, len(self.p.lines)) if label.search(self.p.lines[i])), len(self.p.lines)
        )
        rows: list[tuple[Row, float]] = []
        for i in range(start, stop):
            line = self.p.lines[i]
            if parse.find_dates(line, self.month_first) or parse.find_iban(line):
                continue
            row = parse_row(line, with_unit=with_unit, quantities=quantities)
            if row is None and with_unit:
                continue
            if (
                row is None
                or (row.amount is None and row.quantity is None)
                or (with_unit and row.unit_price is None)
            ):
                continue
            rows.append((row, self.p.conf([wi for _, _, wi in self.p.offsets[i]])))
        for row, conf in self._mend_lost_commas(rows, target, with_unit):
            conf *= 1.0 if row.consistent else 0.5
            if row.inferred or row.mended:
                conf *= INFERRED_ROW
                how = (
                    f"{row.inferred} not read"
                    if row.inferred
                    else f"{row.mended} read without its decimal comma"
                )
                self.checks.append(
                    Check(
                        name="line_item_inferred" if row.inferred else "line_item_mended",
                        ok=False,
                        detail=f"{row.description[:60]}: {how}; {row.quantity} × {row.unit_price} = {row.amount}",
                    )
                )
            items.append(
                LineItem(
                    description=row.description[:2000],
                    quantity=float(row.quantity) if row.quantity is not None else None,
                    unit_price=float(row.unit_price) if row.unit_price is not None else None,
                    amount=float(row.amount) if row.amount is not None else None,
                    confidence=round(max(0.0, min(1.0, conf)), 3),
                )
            )
            if with_unit and not row.consistent:
                self.checks.append(
                    Check(
                        name="line_item_arithmetic",
                        ok=False,
                        detail=f"{row.description[:60]}: {row.quantity} × {row.unit_price} ≠ {row.amount}",
                    )
                )
        return items

    def _mend_lost_commas(
        self, rows: list[tuple[Row, float]], target: Decimal | None, with_unit: bool
    ) -> list[tuple[Row, float]]:
        """Rows whose amount lost its decimal comma to OCR ("19656" for 196,56). Where the rows
        do not add up to ``target`` (the net, else the total) and reading one to MAX_LOST_COMMAS
        of the amounts printed without cents as cents makes them add up to the cent, and only
        one such choice does, those amounts are mended, at INFERRED_ROW of their confidence,
        each with a failed ``line_item_mended`` check (not a review reason) that names it."""
        amounts = [r.amount for r, _ in rows if r.amount is not None]
        if target is None or not amounts or abs(sum(amounts, Decimal(0)) - target) <= CENT:
            return rows
        bare = [
            k for k, (r, _) in enumerate(rows) if r.amount is not None and r.amount.as_tuple().exponent == 0
        ]
        fits = [
            pick
            for n in range(1, MAX_LOST_COMMAS + 1)
            for pick in itertools.combinations(bare, n)
            if abs(
                sum(amounts, Decimal(0))
                - sum(rows[k][0].amount or 0 for k in pick) * Decimal("0.99")
                - target
            )
            <= CENT
        ]
        if len(fits) != 1:
            return rows
        out = list(rows)
        for k in fits[0]:
            row, conf = rows[k]
            assert row.amount is not None
            amount = row.amount / 100
            consistent = not with_unit or (
                row.quantity is not None
                and row.unit_price is not None
                and abs(row.quantity * row.unit_price - amount) <= CENT
            )
            out[k] = (replace(row, amount=amount, consistent=consistent), conf * INFERRED_ROW)
            self.checks.append(
                Check(
                    name="line_item_mended",
                    ok=False,
                    detail=f"{row.description[:60]}: amount read as {row.amount}; the rows add up to "
                    f"{target:.2f} with {amount:.2f}",
                )
            )
        return out

    def delivered_items(self) -> list[LineItem]:
        """A delivery note's rows: what was ordered and, in a second column, what was delivered.
        Neither is an amount: each row's quantity is the one ordered, and a row delivered short
        (or over) fails a ``delivered_as_ordered`` check that names it, for the person receiving
        the goods; it is not a misreading, so the page is not sent to review for it. A row with
        one quantity read (a note that prints one column, or OCR lost the other) gives it."""
        items = []
        for it in self.line_items(with_unit=False, quantities=True):
            ordered, delivered = it.quantity, it.amount
            if ordered is None:
                ordered, delivered = delivered, None
            items.append(it.model_copy(update={"quantity": ordered, "unit_price": None, "amount": None}))
            if ordered is not None and delivered is not None and delivered != ordered:
                self.checks.append(
                    Check(
                        name="delivered_as_ordered",
                        ok=False,
                        detail=f"{it.description[:60]}: {delivered:g} delivered of {ordered:g} ordered",
                    )
                )
        return items

    def _printed_rate_fits(self, sub: Decimal, tax: Decimal) -> bool:
        """Whether a rate printed on a tax line ("TVA 20%") times the net gives the tax, to the
        cent: the net and the tax then confirm each other."""
        for i, _label in self.p.find(L_TAX):
            for m in RATE.finditer(self.p.lines[i]):
                rate = Decimal(m.group(0).rstrip("% ").replace(",", "."))
                if rate > 0 and abs(sub * rate / 100 - tax) <= CENT:
                    return True
        return False

    def total_checks(
        self, items: list[LineItem], sub: Decimal | None, tax: Decimal | None, total: Decimal | None
    ) -> None:
        if sub is not None and tax is not None and total is not None:
            ok = abs(sub + tax + self.rounding - total) <= CENT
            rounded = f" {self.rounding:+.2f} rounding" if self.rounding else ""
            self.checks.append(
                Check(name="net_plus_tax_equals_total", ok=ok, detail=f"{sub} + {tax}{rounded} vs {total}")
            )
        target = sub if sub is not None else total
        if items and target is not None:
            s = sum((Decimal(str(it.amount)) for it in items if it.amount is not None), Decimal("0"))
            ok = abs(s - target) <= CENT
            which = "subtotal" if sub is not None else "total"
            self.checks.append(
                Check(
                    name="line_items_sum",
                    ok=ok,
                    detail=f"sum of {len(items)} lines {s:.2f} vs {which} {target:.2f}",
                )
            )

    def payslip(self) -> None:
        self.labelled_amount("gross", L_GROSS)
        # "Net à payer" also as OCR runs it together ("Netàpayer")
        self.labelled_amount("total", [r"net pay|net\s*[àa]\s*payer|net salary|salaire net"])
        if not self.labelled_date("date", L_DATE):
            self.first_date("date")
        self.currency()
        self.issuer_line("employer", 0.6)
        self.after_label("employee", [r"employee|salari[ée]"])
        self.form_value("period", L_PERIOD, lambda t: parse.parse_period(t, self.month_first), prior=0.8)

    def agreement(self, doc_type: str, signatures_found: int) -> None:
        m = RE_BETWEEN_ROLES.search(self.p.text) or RE_BETWEEN.search(self.p.text)
        if m:
            self.put("party_a", m.group("a").strip()[:200], None, 0.7, raw=m.group(0)[:300])
            self.put("party_b", m.group("b").strip()[:200], None, 0.7, raw=m.group(0)[:300])
        pm = RE_PLACE.search(self.p.text)
        if pm:
            self.put("place", pm.group("place").strip(), None, 0.7, raw=pm.group(0))
            tail = self.p.text[pm.end() : pm.end() + 60]
            iso = parse.parse_date(tail, self.month_first)
            if iso:
                self.put("date", iso, None, 0.8, raw=tail.split("\n")[0])
        # An identity form's own date is labelled: the dates written in its boxes are its
        # holder's (birth, the ID's issue and expiry), so none is taken for it unlabelled.
        if "date" not in self.values and not self.labelled_date("date", L_DATE) and doc_type != "kyc_form":
            self.first_date("date")
        if doc_type != "contract":
            self.labelled_id("number", L_NUMBER, prior=0.7)
        elif self.labelled_amount("total", L_CONTRACT_AMOUNT, prior=0.7) is not None:
            self.currency()
        iban = parse.find_iban(self.p.text.replace("\n", " \n "))  # not across lines
        if iban:
            self.put("iban", iban[0], None, 0.8, raw=iban[0])
            self.checks.append(
                Check(name="iban_checksum", ok=parse.iban_valid(iban[0]), detail=f"IBAN {iban[0]}")
            )
        if doc_type == "kyc_form":
            self.kyc()
        elif doc_type == "mandate":
            self.mandate()
        if "party_a" in self.values:
            # An agreement is issued by its first party (the supplier, employer, landlord);
            # its page opens with the title and the "Between ... and ..." sentence.
            first = self.values["party_a"]
            self.values["issuer"] = first.model_copy(update={"confidence": min(first.confidence, 0.6)})
        else:
            self.issuer_line("issuer", 0.5)

    def letter(self) -> None:
        self.issuer_line("sender", 0.6)
        dm = re.search(r"^(?:dear|cher|ch[èe]re)\s+([^,\n]+)", self.p.text, re.I | re.M)
        if dm and not RE_NO_ONE.match(dm.group(1).strip(" ,.")):
            self.put("recipient", dm.group(1).strip(" ,."), None, 0.6, raw=dm.group(0))
        else:
            self.addressee()
        self.signer()
        if not self.labelled_date("date", L_DATE) and not self.place_date("date"):
            self.first_date("date")
        sm = re.search(r"^(?:subject|objet|re)\s*:\s*(.+)$", self.p.text, re.I | re.M)
        if sm:
            self.put("subject", sm.group(1).strip(), None, 0.7, raw=sm.group(0))

    @classmethod
    def _signed_name(cls, text: str) -> str | None:
        """A person's or a company's name as a letter prints it: ``_person``, of at most
        NAME_WORDS words, each capitalised but for a particle ("Tristan Lévy du Humbert"), so
        neither a sentence of the body nor "See attached" is one; a lone letter OCR left after
        it (a signature's scrap, "Alice Boulanger x") is dropped."""
        text = re.sub(r"(?:\s+[^\W\d_])+$", "", text.strip(" ,"))
        who = cls._person(text)
        if who is None or len(who.split()) > NAME_WORDS:
            return None
        words = re.split(r"[\s-]+", who)
        ok = all(w[:1].isupper() or w.lower() in NAME_PARTICLES for w in words if w[:1].isalpha())
        return who if ok else None

    def place_date(self, name: str) -> bool:
        """A letter's date as its heading prints it, after the place: a line that is nothing but
        "East Edwinberg, 04/29/2020" or "Paris, le 12 mars 2024". Before any other date: an
        address line may hold a figure that reads as one."""
        for i, line in enumerate(self.p.lines):
            m = RE_PLACE_DATE.match(line)
            if not m:
                continue
            dates = parse.find_dates(m.group("d"), self.month_first)
            if len(dates) == 1 and dates[0][2] - dates[0][1] >= len(m.group("d").strip(" .")) - 1:
                iso, a, b = dates[0]
                self.put(name, iso, Span(i, m.start("d") + a, m.start("d") + b), 0.8)
                return True
        return False

    def addressee(self) -> None:
        """Whom a letter that greets no one by name ("Madame, Monsieur,") is addressed to: the
        first block after the sender's that opens with a name over at least one more line (its
        address). The sender's own address and phone lines open with digits; a greeting or a
        subject is one line. Where Tesseract gave the whole heading as one block, the first name
        after the sender's lines over an address line, above the greeting."""
        sender = self.values.get("sender")
        not_sender = parse.name_key(str(sender.value)) if sender is not None else None
        head = next(
            (j for j, ln in enumerate(self.p.lines) if RE_GREETING.match(ln) or RE_SUBJECT.match(ln)),
            len(self.p.lines),
        )  # the addressee is above the subject and the greeting, the signer below them

        def other_name(line: str) -> str | None:  # a name, not a label, a title or the sender
            if RE_LABELLED.search(line) or RE_TITLE.match(line):
                return None
            who = self._signed_name(line)
            return who if who and parse.name_key(who) != not_sender else None

        for block in self.p.ocr.blocks[1:]:
            if block[0] >= head:
                break
            who = other_name(self.p.lines[block[0]].strip(" ,")) if len(block) >= 2 else None
            if who:
                self.put("recipient", who, Span(block[0], 0, len(self.p.lines[block[0]])), 0.5)
                return
        for j in range(1, min(head, len(self.p.lines) - 1)):
            who = other_name(self.p.lines[j])
            if who and RE_ADDRESS_LINE.search(self.p.lines[j + 1]):
                self.put("recipient", who, Span(j, 0, len(self.p.lines[j])), 0.45)
                return

    def signer(self) -> None:
        """Who signed a letter: the first name within SIGNER_LINES lines under its closing
        ("Kind regards,", "Cordialement,"), the signature's scribble and a blank between."""
        for i, _m in self.p.find([RE_CLOSING.pattern]):
            for j in range(i + 1, min(len(self.p.lines), i + 1 + SIGNER_LINES)):
                who = self._signed_name(self.p.lines[j])
                if who:
                    self.put("signer", who, Span(j, 0, len(self.p.lines[j])), 0.6)
                    return
            return

    def signatures(self, doc_type: str, found: int) -> None:
        rx = re.compile(L_SIGN, re.I)
        labelled = sum(1 for ln in self.p.lines if rx.search(ln))
        rules = sum(1 for ln in self.p.lines if re.search(r"_{6,}|\.{10,}", ln))
        places = max(labelled, rules)
        self.values["signature_places"] = FieldValue(value=places, confidence=0.6 if places else 0.5)
        self.values["signatures_found"] = FieldValue(value=found, confidence=1.0)
        if doc_type in SIGNED_TYPES or places:
            expected = max(places, 1 if doc_type in SIGNED_TYPES else 0)
            ok = found >= expected
            detail = f"{found} signature(s) found for {expected} expected place(s)"
            if found == 0 and doc_type in SIGNED_TYPES:
                detail = f"unsigned {doc_type.replace('_', ' ')}: " + detail
            self.checks.append(Check(name="signed", ok=ok, detail=detail))

    def cross_check_codes(self, codes: list[Code]) -> None:
        for code in codes:
            expected = _code_claims(code.payload)
            if not expected:
                continue
            diffs, filled = [], []
            compared = [k for k in expected if k in self.values and self.values[k].value not in (None, "")]
            for key, val in expected.items():
                fv = self.values.get(key)
                if fv is None or fv.value in (None, ""):
                    # The text gave nothing (faint print, a smudge): the code is the issuer's
                    # own machine-readable copy, checksummed, so it stands in for the text.
                    self.values[key] = FieldValue(value=val, confidence=CODE_CONFIDENCE, raw=val, words=[])
                    filled.append(key)
                elif str(fv.value).replace(" ", "").upper() != val.replace(" ", "").upper():
                    # OCR misreads digits far more often than a decoded code is wrong: the
                    # code's value is kept, the disagreement reported for review.
                    diffs.append(f"{key}: text {fv.value} vs code {val}")
                    self.values[key] = FieldValue(
                        value=val, confidence=CODE_DISAGREES_CONFIDENCE, raw=fv.raw, words=fv.words
                    )
            if filled:
                self.checks.append(
                    Check(name="code_fills_text", ok=True, detail=f"{code.kind} gave {', '.join(filled)}")
                )
            if compared:
                self.checks.append(
                    Check(
                        name="code_matches_text",
                        ok=not diffs,
                        detail="; ".join(diffs) or f"{code.kind} agrees on {', '.join(compared)}",
                    )
                )


# A KYC form's birth date taken as its first date, its label not read: a person confirms it.
KYC_BIRTH_UNLABELLED = 0.4


# A total or tax mended from the page's arithmetic (``mend_misread_sum``): never above this.
MENDED = 0.6

# A line item one of whose three figures was not read but worked out from the other two: its
# confidence is scaled by this (see ``edge.read.tables``).
INFERRED_ROW = 0.7

# At most this many line amounts are read as having lost their decimal comma on one page.
MAX_LOST_COMMAS = 3


def _one_digit_off(read: Decimal, want: Decimal) -> bool:
    """Whether two amounts differ by one digit dropped, added or changed (an OCR misread). The
    decimal point is compared too: 8324.91 and 83249.10 are a shifted point, not one digit."""
    a, b = f"{abs(read):.2f}", f"{abs(want):.2f}"
    if a == b:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    short, long_ = sorted((a, b), key=len)
    return len(long_) - len(short) == 1 and any(
        long_[:i] + long_[i + 1 :] == short for i in range(len(long_))
    )


# A field taken from a decoded QR code where the text had none, and one where text and code
# disagree (the code's value is kept; the failed check sends the page for review).
CODE_CONFIDENCE = 0.9
CODE_DISAGREES_CONFIDENCE = 0.6


def _code_claims(payload: str) -> dict[str, str]:
    """What a payment QR code says: EPC069-12 credit transfer or a link with amount/currency."""
    out: dict[str, str] = {}
    lines = payload.split("\n")
    if len(lines) >= 8 and lines[0] == "BCD":
        iban = lines[6].strip()
        if iban:
            out["iban"] = iban
        m = re.match(r"([A-Z]{3})(\d+(?:\.\d{1,2})?)", lines[7].strip())
        if m:
            out["currency"], out["total"] = m.group(1), parse.format_amount(m.group(2))
        if len(lines) > 10 and lines[10].strip():
            out["number"] = lines[10].strip()
        return out
    if payload.startswith(("http://", "https://")):
        u = urlparse(payload)
        q = parse_qs(u.query)
        if "amount" in q:
            with contextlib.suppress(Exception):
                out["total"] = parse.format_amount(q["amount"][0])
        if "currency" in q:
            out["currency"] = q["currency"][0].upper()
        if u.path.startswith("/d/"):
            out["number"] = u.path[3:]
    return out


# Failed checks that mean the extractor chose a value the page did not plainly print (a misread
# digit mended, the total taken from the cash lines) or that the type contradicts the page: the
# page goes to review so a person confirms it. Other failed checks are reported with the page.
REVIEW_CHECKS = frozenset(
    {"total_mended", "tax_mended", "total_from_cash", "type_fits_payment", "year_misread"}
)


# A direct debit is set up from a mandate's account and creditor: a mandate whose IBAN or creditor
# identifier fails its check digits cannot be acted on until a person has read it. (On an
# invoice an IBAN in small print is often misread, and the page is still paid from its total.)
TYPE_REVIEW_CHECKS = {"mandate": frozenset({"iban_checksum", "creditor_id_checksum"})}


def asks_review(fields: Fields, doc_type: str | None = None) -> bool:
    """Whether a failed check in ``fields`` is one a person must confirm (REVIEW_CHECKS, and
    TYPE_REVIEW_CHECKS for a page of ``doc_type``)."""
    names = REVIEW_CHECKS | TYPE_REVIEW_CHECKS.get(doc_type or "", frozenset())
    return any(c.name in names and not c.ok for c in fields.checks)


def extract(
    ocr: OcrPage, doc_type: str, signatures_found: int = 0, codes: list[Code] | None = None
) -> Fields:
    """Fields, line items and checks for one page read as ``doc_type``."""
    ex = Extractor(ocr)
    items: list[LineItem] = []
    try:
        if doc_type in ("invoice", "receipt", "purchase_order"):
            items = ex.money_document(doc_type)
        elif doc_type == "delivery_note":
            ex.document_number()
            if not ex.labelled_date("date", L_DATE):
                ex.first_date("date")
            ex.issuer_line("seller", 0.6)
            ex.after_label("buyer", L_BUYER)
            items = ex.delivered_items()
        elif doc_type == "payslip":
            ex.payslip()
        elif doc_type in ("contract", "mandate", "kyc_form"):
            ex.agreement(doc_type, signatures_found)
        elif doc_type == "letter":
            ex.letter()
        else:
            if not ex.labelled_date("date", L_DATE):
                ex.first_date("date")
            ex.issuer_line("issuer", 0.5)
        # A misread type must not hide a printed total: read it wherever it is labelled.
        other_type = doc_type not in ("invoice", "receipt", "purchase_order", "payslip")
        if other_type and "total" not in ex.values and ex.labelled_amount("total", L_TOTAL, prior=0.6):
            ex.currency()
        ex.signatures(doc_type, signatures_found)
        ex.cross_check_codes(codes or [])
        ex.type_fits_payment(doc_type)
    except Exception as exc:  # a parser bug must cost a field, not the page
        log.exception("field extraction failed")
        ex.checks.append(Check(name="extraction", ok=False, detail=f"field extraction failed: {exc}"[:2000]))
    return Fields(values=ex.values, line_items=items, checks=ex.checks, codes=list(codes or []))
