"""Normalisers for values read off a page: dates to ISO 8601, amounts to decimal strings,
currencies to ISO 4217 codes, IBANs checked with their mod-97 checksum.

They accept the spellings found on English and French paperwork (``15 mars 2024``, ``1er avril``,
``March 5, 2024``, ``05/03/24``; ``1.234,56``, ``1,234.56``, ``1 234,56 €``, ``(12.50)``) and return
None for text that is not a value, never a guess dressed up as one.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from decimal import Decimal, InvalidOperation

MONTHS: dict[str, int] = {}
for _n, _names in enumerate(
    [
        ("january", "jan", "janvier", "janv"),
        ("february", "feb", "février", "fevrier", "févr", "fevr", "fév", "fev"),
        ("march", "mar", "mars"),
        ("april", "apr", "avril", "avr"),
        ("may", "mai"),
        ("june", "jun", "juin"),
        ("july", "jul", "juillet", "juil"),
        ("august", "aug", "août", "aout", "aoû"),
        ("september", "sep", "sept", "septembre"),
        ("october", "oct", "octobre"),
        ("november", "nov", "novembre"),
        ("december", "dec", "décembre", "decembre", "déc"),
    ],
    start=1,
):
    for _name in _names:
        MONTHS[_name] = _n

_MONTH_ALT = "|".join(sorted((re.escape(m) for m in MONTHS), key=len, reverse=True))

# Numeric dates: 2024-03-15, 15/03/2024, 15.03.24, 15-03-2024
_ISO_RE = re.compile(r"(?<!\d)(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)")
_DMY_RE = re.compile(r"(?<!\d)(\d{1,2})\s?[-/.]\s?(\d{1,2})\s?[-/.]\s?(\d{4}|\d{2})(?!\d)")
# ... and with both dots misread as colons or commas ("19:11:2020"); only with a four-digit year,
# which no time of day has.
_DMY_MISREAD_RE = re.compile(r"(?<![\d:,])(\d{1,2})([:,])(\d{1,2})\2(\d{4})(?!\d)")
# Written dates: 15 March 2024, 1er mars 2024, March 15, 2024, Mar. 5 2024
_DAY_MONTH_RE = re.compile(
    rf"(?<!\d)(\d{{1,2}})(?:er|st|nd|rd|th)?\.?\s+({_MONTH_ALT})\.?,?\s+(\d{{4}})(?!\d)", re.I
)
_MONTH_DAY_RE = re.compile(rf"\b({_MONTH_ALT})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})(?!\d)", re.I)

# The same shapes with any word where the month goes: OCR misreads a letter of a month's name
# ("Augusl 11, 2022", "Augus! 11, 2022", "12 janvler 2021"); the word is taken when it is one
# edit from one month.
# Thermal receipts also come back with dots or commas for the spaces ("20 janvier.2020").
_SEP = r"[\s.,;:'_-]"
_DAY_WORD_RE = re.compile(
    rf"(?<!\d)(\d{{1,2}})(?:er|st|nd|rd|th)?{_SEP}*?\s*([^\W\d_]{{3,10}}[!|]?){_SEP}*(\d{{4}})(?!\d)"
)
_WORD_DAY_RE = re.compile(
    rf"(?<![^\W\d_])([^\W\d_]{{3,10}}[!|]?){_SEP}+(\d{{1,2}})(?:st|nd|rd|th)?{_SEP}+(\d{{4}})(?!\d)"
)
_FULL_MONTHS = {m: n for m, n in MONTHS.items() if len(m) >= 5}

DATE_PATTERNS = (_ISO_RE, _DAY_MONTH_RE, _MONTH_DAY_RE, _DMY_RE, _DMY_MISREAD_RE, _DAY_WORD_RE, _WORD_DAY_RE)


YEARS = (1900, 2099)  # the years a date on a document can hold: births to long leases


def fuzzy_month(word: str) -> int | None:
    """The month a name stands for, or a misread one that is one edit from one month only. A
    final "!" or "|" is a misread "t" or "l" ("Augus!")."""
    w = word.lower().replace("!", "l").replace("|", "l")
    if w in MONTHS:
        return MONTHS[w]
    # A short word is held against every name and abbreviation ("mei": mai and may, both 5);
    # a long one against the full names only, so "Marche" is not taken for "march".
    names = MONTHS if len(w) <= 4 else _FULL_MONTHS
    hits = {n for m, n in names.items() if len(m) >= 3 and _edits(w, m) == 1}
    if not hits and len(w) >= 7:
        # A long name survives two misread letters ("Julliet"): still one month only.
        hits = {n for m, n in _FULL_MONTHS.items() if len(m) >= 7 and _edits(w, m) <= 2}
    return hits.pop() if len(hits) == 1 else None


def _edits(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions)."""
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, start=1):
        cur = [i]
        for j, y in enumerate(b, start=1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


# A year's hundreds digit misread: a 0 read as the 6, 8 or 9 it looks like ("8 mars 2623",
# "8 juillet 2922"). No document is dated in the 27th century: the year is 20xx. Fields sends
# the page to review when it reads a date so mended (see ``misread_year``).
MISREAD_CENTURY = frozenset({6, 8, 9})


def _mk(y: int, m: int, d: int) -> str | None:
    if y < 100:
        y += 2000 if y < 70 else 1900
    if 2100 <= y <= 2999 and (y // 100) % 10 in MISREAD_CENTURY:
        y = 2000 + y % 100
    if not YEARS[0] <= y <= YEARS[1]:
        return None  # "2522": a misread year, not a date to act on
    try:
        return date(y, m, d).isoformat()
    except ValueError:
        return None


def find_dates(text: str, month_first: bool = False) -> list[tuple[str, int, int]]:
    """All dates in ``text`` as (ISO date, start, end), in order of appearance, without overlaps.

    Numeric day/month order is day-first (European) unless ``month_first`` is set or only the
    month-first reading is a valid date (``03/25/2024``).
    """
    found: list[tuple[str, int, int]] = []
    taken: list[tuple[int, int]] = []

    def free(a: int, b: int) -> bool:
        return all(b <= s or a >= e for s, e in taken)

    for pat in DATE_PATTERNS:
        for m in pat.finditer(text):
            if not free(m.start(), m.end()):
                continue
            iso: str | None
            if pat is _ISO_RE:
                iso = _mk(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            elif pat is _DAY_MONTH_RE:
                iso = _mk(int(m.group(3)), MONTHS[m.group(2).lower()], int(m.group(1)))
            elif pat is _MONTH_DAY_RE:
                iso = _mk(int(m.group(3)), MONTHS[m.group(1).lower()], int(m.group(2)))
            elif pat is _DAY_WORD_RE:
                month = fuzzy_month(m.group(2))
                iso = _mk(int(m.group(3)), month, int(m.group(1))) if month else None
            elif pat is _WORD_DAY_RE:
                month = fuzzy_month(m.group(1))
                iso = _mk(int(m.group(3)), month, int(m.group(2))) if month else None
            else:
                a, b, y = (int(m.group(i)) for i in ((1, 3, 4) if pat is _DMY_MISREAD_RE else (1, 2, 3)))
                first = _mk(y, a, b) if month_first else _mk(y, b, a)
                iso = first or (_mk(y, b, a) if month_first else _mk(y, a, b))
            if iso:
                found.append((iso, m.start(), m.end()))
                taken.append((m.start(), m.end()))
    found.sort(key=lambda t: t[1])
    return found


def misread_year(raw: str, iso: str) -> str | None:
    """The four-digit year printed in ``raw`` when the date ``iso`` read from it has another
    (a misread century mended by ``_mk``), else None."""
    years = re.findall(r"(?<!\d)\d{4}(?!\d)", raw)
    if iso[:4] in years:
        return None
    # Only the misreadings _mk mends: "2623" for 2023, never some other number on the line.
    return next(
        (y for y in years if y[0] == "2" and int(y[1]) in MISREAD_CENTURY and y[2:] == iso[2:4]), None
    )


def date_readings(raw: str) -> tuple[str, ...]:
    """Both readings of a numeric date whose day and month could be either way round
    (``11/06/2019``: 11 June or 6 November), month first then day first; one reading when
    ``raw`` has only one (a day over 12, ``2019-12-06``, ``5 March``); none when it holds no date."""
    m = _DMY_RE.search(raw)
    if m and _ISO_RE.search(raw) is None:
        a, b, y = int(m.group(1)), int(m.group(2)), int(m.group(3))
        both = tuple(dict.fromkeys(iso for iso in (_mk(y, a, b), _mk(y, b, a)) if iso))
        if both:
            return both
    iso = parse_date(raw)
    return (iso,) if iso else ()


def parse_date(text: str, month_first: bool = False) -> str | None:
    """The first date in ``text`` as ``YYYY-MM-DD``, or None."""
    dates = find_dates(text, month_first=month_first)
    return dates[0][0] if dates else None


CURRENCY_SYMBOLS = {
    "€": "EUR",
    "$": "USD",
    "US$": "USD",
    "£": "GBP",
    "¥": "JPY",
    "₹": "INR",
    "Rs": "INR",
    "Rs.": "INR",
    "RM": "MYR",
    "CHF": "CHF",
    "Fr.": "CHF",
    "CA$": "CAD",
    "C$": "CAD",
}
ISO_CURRENCIES = frozenset(
    [
        "EUR",
        "USD",
        "GBP",
        "CHF",
        "JPY",
        "CAD",
        "AUD",
        "INR",
        "MYR",
        "SGD",
        "CNY",
        "SEK",
        "NOK",
        "DKK",
        "PLN",
        "CZK",
        "HUF",
        "RON",
        "MAD",
        "XOF",
        "TND",
    ]
)
_CODE_RE = re.compile(r"\b(" + "|".join(sorted(ISO_CURRENCIES)) + r")\b")
_SYM_RE = re.compile(r"(US\$|CA\$|C\$|€|\$|£|¥|₹|\bRs\.?(?=\s?\d)|\bRM(?=\s?\d)|\bFr\.(?=\s?\d))")


def find_currency(text: str) -> str | None:
    """ISO 4217 code named or symbolised in ``text`` (a code written out wins over a symbol)."""
    m = _CODE_RE.search(text.upper())
    if m:
        return m.group(1)
    s = _SYM_RE.search(text)
    if s:
        return CURRENCY_SYMBOLS.get(s.group(1).rstrip("."), CURRENCY_SYMBOLS.get(s.group(1)))
    if re.search(r"\beuros?\b", text, re.I):
        return "EUR"
    if re.search(r"\bdollars?\b", text, re.I):
        return "USD"
    return None


# A number with optional thousands groups (space, narrow space, dot, comma, apostrophe) and
# an optional 1-2 digit decimal part; minus sign or accounting parentheses for negatives. A
# lone dot before it is a speck OCR read (".355,06 CHF"), not part of it; one after a digit is.
_AMOUNT_RE = re.compile(
    r"(?<![\d,])(?<!\d\.)(\(?-?\s?)(\d{1,3}(?:[ \u00a0\u202f.,'’]\d{3})+|\d+)(?:([.,])(\d{1,2}))?(\)?)(?![\d])(?!\s?%)"
)


def _clean(text: str) -> str:
    return unicodedata.normalize("NFKC", text).replace("\u2212", "-")


def find_amounts(text: str) -> list[tuple[Decimal, int, int]]:
    """All amounts in ``text`` as (Decimal, start, end), in order."""
    out: list[tuple[Decimal, int, int]] = []
    for m in _AMOUNT_RE.finditer(text):
        sign, whole, sep, frac, close = m.groups()
        if not frac and m.start(2) and text[m.start(2) - 1] == ".":
            continue  # ".50": a number after a speck is taken only with its cents
        digits = re.sub(r"[ \u00a0\u202f.,'’]", "", whole)
        groups = re.findall(r"[ \u00a0\u202f.,'’]", whole)
        if sep and groups and groups[-1] == sep:
            # "1,234,56" or "1.234.56": the last separator repeats the grouping; not an amount.
            continue
        value_text = digits + ("." + frac.ljust(2, "0") if frac else "")
        try:
            value = Decimal(value_text)
        except InvalidOperation:
            continue
        negative = "-" in (sign or "") or ("(" in (sign or "") and close == ")")
        out.append((-value if negative else value, m.start(2), m.end()))
    return out


def parse_amount(text: str) -> str | None:
    """The last amount in ``text`` (totals sit at the end of their line) as ``"1234.50"``."""
    amounts = find_amounts(_clean(text))
    if not amounts:
        return None
    return format_amount(amounts[-1][0])


def format_amount(value: Decimal | float | str) -> str:
    """Two-decimal string, the normalised form of every amount in the fields."""
    return str(Decimal(str(value)).quantize(Decimal("0.01")))


# Check digits may come back as the letters OCR takes digits for ("GBO6 CPCB ..."): such a
# reading is an IBAN only once read back by its country's format and its check passes.
_IBAN_RE = re.compile(r"\b([A-Z]{2}[0-9OISBZ]{2}(?:\s?[A-Z0-9]{4}){2,7}(?:\s?[A-Z0-9]{1,4})?)\b")


def name_key(name: str | None) -> str:
    """A name as compared: without case, spaces or punctuation ("MR. D.I.Y. (M) SDN BHD")."""
    return re.sub(r"[\W_]", "", (name or "").casefold())


def _mod97(s: str) -> int:
    """ISO 7064 MOD 97-10 remainder of letters and digits, letters as 10 (A) to 35 (Z)."""
    return int("".join(str(int(ch, 36)) for ch in s)) % 97


def iban_valid(iban: str) -> bool:
    """ISO 13616 mod-97 check."""
    s = re.sub(r"\s", "", iban).upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}", s):
        return False
    return _mod97(s[4:] + s[:4]) == 1


# ISO 13616 IBAN lengths of the countries whose IBANs our users meet most (SEPA, the UK,
# Switzerland and neighbours). An IBAN-shaped string shorter than its country's length is
# something else: a VAT number ("NL810433941B01"), a company or order reference.
IBAN_LENGTHS = {
    "AD": 24, "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24, "DE": 22, "DK": 18,
    "EE": 20, "ES": 24, "FI": 18, "FR": 27, "GB": 22, "GI": 23, "GR": 27, "HR": 21, "HU": 28,
    "IE": 22, "IS": 26, "IT": 27, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MA": 28, "MC": 27,
    "MT": 31, "NL": 18, "NO": 15, "PL": 28, "PT": 25, "RO": 24, "SE": 24, "SI": 19, "SK": 24,
    "SM": 27, "TN": 24, "TR": 26,
}  # fmt: skip


def _cut(raw: str, length: int) -> int:
    """How many characters of ``raw`` (spaces included) hold its first ``length`` non-spaces."""
    seen = 0
    for i, ch in enumerate(raw):
        seen += not ch.isspace()
        if seen == length:
            return i + 1
    return len(raw)


# What each country's account part (BBAN) holds, character by character, from the ISO 13616
# registry: n a digit, a a capital letter, c either. Where OCR puts a letter for a digit or the
# other way round ("GB52 0UJN ..." for the bank code OUJN), the format says which was printed.
BBAN_FORMATS = {
    "AT": "16n", "BE": "12n", "CH": "5n12c", "DE": "18n", "DK": "14n", "ES": "20n", "FI": "14n",
    "FR": "10n11c2n", "GB": "4a14n", "IE": "4a14n", "IT": "1a10n12c", "LU": "3n13c", "MC": "10n11c2n",
    "NL": "4a10n", "NO": "11n", "PL": "24n", "PT": "21n", "SE": "20n",
}  # fmt: skip
# Letters OCR puts for digits where only digits can stand, and the other way round.
_AS_DIGIT = str.maketrans("OISBZ", "01582")
_AS_LETTER = str.maketrans("01582", "OISBZ")


def _by_format(iban: str) -> str | None:
    """``iban`` with the letters and digits OCR confuses read back where its country's format
    (BBAN_FORMATS) allows only one kind, and its check digits as digits; None for a country
    whose format is not known or a reading of another length."""
    spec = BBAN_FORMATS.get(iban[:2])
    if spec is None:
        return None
    kinds = "".join(k * int(n) for n, k in re.findall(r"(\d+)([nac])", spec))
    if len(iban) != 4 + len(kinds):
        return None
    out = [iban[:2], iban[2:4].translate(_AS_DIGIT)]
    for ch, kind in zip(iban[4:], kinds, strict=True):
        out.append(
            ch.translate(_AS_DIGIT) if kind == "n" else ch.translate(_AS_LETTER) if kind == "a" else ch
        )
    return "".join(out)


def find_iban(text: str) -> tuple[str, int, int] | None:
    """The page's IBAN (spaces removed), with its span: the first IBAN-shaped string that
    passes the mod-97 check as read or once read back by its country's format (``_by_format``),
    else the first one of its country's length with digits for check digits (its failed check is
    reported by the caller). Shorter ones of a known country are not IBANs (see IBAN_LENGTHS);
    a longer one is cut to the length (the next word run into it). Of a country not in the
    table, only a valid one is taken."""
    first = None
    for m in _IBAN_RE.finditer(text.upper()):
        raw, start = m.group(1), m.start(1)
        compact = re.sub(r"\s", "", raw)
        length = IBAN_LENGTHS.get(compact[:2])
        if length is None and not iban_valid(compact):
            continue  # a reference from a country we do not know: only a valid one is an IBAN
        if length is not None and len(compact) < length:
            continue
        end = start + (_cut(raw, length) if length is not None else len(raw))
        found = (compact[:length] if length is not None else compact, start, end)
        if iban_valid(found[0]):
            return found
        mended = _by_format(found[0])
        if mended is not None and iban_valid(mended):
            return mended, start, end
        if found[0][2:4].isdigit():
            first = first or found
    return first


# SEPA creditor identifier (EPC262-08): the country, two check digits, a three-character
# creditor business code that the check leaves out (most often "ZZZ"), then the national
# identifier ("FR72ZZZ123456", "DE98ZZZ09999999999").
# Its check digits may come back as the letters OCR takes them for (read back below).
_CREDITOR_ID_RE = re.compile(r"\b([A-Z]{2}[0-9OISBZ]{2}[A-Z0-9]{3}[A-Z0-9]{4,28})\b")


def creditor_id(text: str) -> str | None:
    """The first creditor identifier in ``text``, written as one word. Its check digits are digits:
    letters OCR puts for them are read back ("FRO5" is "FR05"). A business code of Z, 7 and 2
    only is read as "ZZZ", which nearly every identifier carries and OCR reads as "777" or
    "Z27" (``creditor_id_valid`` then tells whether the whole reading holds)."""
    m = _CREDITOR_ID_RE.search(text.upper())
    if not m:
        return None
    ci = m.group(1)
    ci = ci[:2] + ci[2:4].translate(_AS_DIGIT) + ci[4:]
    if ci[4:7] != "ZZZ" and set(ci[4:7]) <= set("Z72"):
        ci = ci[:4] + "ZZZ" + ci[7:]
    return ci


def creditor_id_valid(ci: str) -> bool:
    """The creditor identifier's check digits: MOD 97-10 over the national identifier, then the
    country and the check digits (the business code is skipped), gives 1."""
    s = re.sub(r"\s", "", ci).upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{3}[A-Z0-9]{1,28}", s):
        return False
    return _mod97(s[7:] + s[:4]) == 1


# ISO 3166-1 alpha-2 country codes, with XK (Kosovo), which banks use in BICs.
COUNTRIES = frozenset(
    """AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR
    BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC
    EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK
    HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB
    LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ
    NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU
    RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN
    TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW XK""".split()  # noqa: SIM905
)

# ISO 9362 BIC: four characters for the bank, the country, two for the location, and an
# optional three for the branch.
_BIC_RE = re.compile(r"(?<![A-Z0-9])([A-Z0-9]{4}[A-Z]{2}[A-Z0-9]{2}(?:[A-Z0-9]{3})?)(?![A-Z0-9])")
# Digits OCR puts for letters where a BIC can hold only letters (its bank and country parts).
_AS_LETTER = str.maketrans("015827", "OISBZZ")


def find_bic(text: str) -> tuple[str, int, int] | None:
    """The first BIC-shaped word of ``text`` (8 or 11 characters, upper case), with its span.
    Digits in its first six places, which banks fill with letters, are read as the letters OCR
    takes them for ("B0USFRPP" is "BOUSFRPP"); a word with more than two digits there is not
    a BIC."""
    for m in _BIC_RE.finditer(text.upper()):
        raw = m.group(1)
        if sum(ch.isdigit() for ch in raw[:6]) > 2:
            continue
        bic = raw[:6].translate(_AS_LETTER) + raw[6:]
        if bic[:6].isalpha():
            return bic, m.start(1), m.end(1)
    return None


def bic_valid(bic: str) -> bool:
    """A BIC's shape, and a country that exists in its fifth and sixth places."""
    return bool(re.fullmatch(r"[A-Z]{6}[A-Z0-9]{2}(?:[A-Z0-9]{3})?", bic)) and bic[4:6] in COUNTRIES


_PERIOD_NUMERIC = re.compile(r"(?<![\d/.-])(?:(\d{4})[-/.](\d{1,2})|(\d{1,2})[-/.](\d{4}))(?![\d/.-])")
_PERIOD_WORD = re.compile(rf"\b({_MONTH_ALT})\.?\s+(\d{{4}})(?!\d)", re.I)


def parse_period(text: str, month_first: bool = False) -> str | None:
    """The month a pay or billing period names, as ``YYYY-MM``: "September 2020", "sept. 2020",
    "09/2020", "2020-09", or a date range, whose first date's month it takes ("01/09/2020 -
    30/09/2020"). None when the text names no month."""
    dates = find_dates(text, month_first)
    if dates:
        return dates[0][0][:7]
    m = _PERIOD_WORD.search(text)
    if m:
        month, year = MONTHS[m.group(1).lower()], int(m.group(2))
    else:
        n = _PERIOD_NUMERIC.search(text)
        if not n:
            return None
        year, month = (int(n.group(1)), int(n.group(2))) if n.group(1) else (int(n.group(4)), int(n.group(3)))
    if not (1 <= month <= 12 and YEARS[0] <= year <= YEARS[1]):
        return None
    return f"{year:04d}-{month:02d}"


RATE_RE = re.compile(r"(?<![\d.,])(\d{1,2}(?:[.,]\d{1,3})?)\s?%")


def parse_rate(text: str) -> str | None:
    """A percentage as a fraction's decimal string ("TVA 5,5%" -> "0.055", "20%" -> "0.2"), or
    None; only rates a tax can have (0, as on an exempt or export invoice, to under 100)."""
    m = RATE_RE.search(text)
    if not m:
        return None
    pct = Decimal(m.group(1).replace(",", "."))
    if not 0 <= pct < 100:
        return None
    return format(pct.normalize() / 100, "f")
