"""Fonts the corpus draws with, all from Debian packages (see scripts/setup).

Three families of roles: printed body text (sans, serif, mono), handwriting used for signatures,
initials and annotations, and formal script typefaces used as *printed* script (a hard negative:
it looks cursive but is typeset). Paths are resolved lazily so importing this module touches no
files; a missing font is skipped, and a role with no font at all is a clear error.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

from PIL import ImageFont

log = logging.getLogger(__name__)

_ROOT = Path("/usr/share/fonts")

BODY: dict[str, list[str]] = {
    "sans": [
        "truetype/dejavu/DejaVuSans.ttf",
        "truetype/liberation/LiberationSans-Regular.ttf",
        "opentype/urw-base35/NimbusSans-Regular.otf",
        "truetype/liberation/LiberationSansNarrow-Regular.ttf",
        "opentype/urw-base35/URWGothic-Book.otf",
    ],
    "serif": [
        "truetype/dejavu/DejaVuSerif.ttf",
        "truetype/liberation/LiberationSerif-Regular.ttf",
        "opentype/urw-base35/NimbusRoman-Regular.otf",
        "opentype/urw-base35/P052-Roman.otf",
        "opentype/urw-base35/C059-Roman.otf",
        "opentype/urw-base35/URWBookman-Light.otf",
    ],
    "mono": [
        "truetype/dejavu/DejaVuSansMono.ttf",
        "truetype/liberation/LiberationMono-Regular.ttf",
        "opentype/urw-base35/NimbusMonoPS-Regular.otf",
    ],
}

# bold counterpart by regular path (falls back to the regular face)
_BOLD = {
    "truetype/dejavu/DejaVuSans.ttf": "truetype/dejavu/DejaVuSans-Bold.ttf",
    "truetype/liberation/LiberationSans-Regular.ttf": "truetype/liberation/LiberationSans-Bold.ttf",
    "opentype/urw-base35/NimbusSans-Regular.otf": "opentype/urw-base35/NimbusSans-Bold.otf",
    "truetype/liberation/LiberationSansNarrow-Regular.ttf": "truetype/liberation/LiberationSansNarrow-Bold.ttf",
    "opentype/urw-base35/URWGothic-Book.otf": "opentype/urw-base35/URWGothic-Demi.otf",
    "truetype/dejavu/DejaVuSerif.ttf": "truetype/dejavu/DejaVuSerif-Bold.ttf",
    "truetype/liberation/LiberationSerif-Regular.ttf": "truetype/liberation/LiberationSerif-Bold.ttf",
    "opentype/urw-base35/NimbusRoman-Regular.otf": "opentype/urw-base35/NimbusRoman-Bold.otf",
    "opentype/urw-base35/P052-Roman.otf": "opentype/urw-base35/P052-Bold.otf",
    "opentype/urw-base35/C059-Roman.otf": "opentype/urw-base35/C059-Bold.otf",
    "opentype/urw-base35/URWBookman-Light.otf": "opentype/urw-base35/URWBookman-Demi.otf",
    "truetype/dejavu/DejaVuSansMono.ttf": "truetype/dejavu/DejaVuSansMono-Bold.ttf",
    "truetype/liberation/LiberationMono-Regular.ttf": "truetype/liberation/LiberationMono-Bold.ttf",
    "opentype/urw-base35/NimbusMonoPS-Regular.otf": "opentype/urw-base35/NimbusMonoPS-Bold.otf",
}

# Handwriting faces: signatures, initials, handwritten annotations.
HANDWRITING = [
    "truetype/kristi/Kristi.ttf",
    "opentype/kaushanscript/KaushanScript-Regular.otf",
    "opentype/dancingscript/DancingScript-Regular.otf",
    "truetype/fifthhorseman/dkg.ttf",
    "truetype/fifthhorseman/dkgIt.ttf",
    "truetype/breip/Breip.ttf",
    "truetype/femkeklaver/femkeklaver.ttf",
    "opentype/bwht/BecauseWeCreate-Regular.otf",
    "opentype/bwht/BecauseWeLearn-Regular.otf",
    "opentype/bwht/BecauseWeConnect-Regular.otf",
    "opentype/joscelyn/Joscelyn-Regular.otf",
]

# Cursive handwriting faces that make believable signatures (the rest look hand-printed).
SIGNATURE = [
    "truetype/kristi/Kristi.ttf",
    "opentype/kaushanscript/KaushanScript-Regular.otf",
    "opentype/dancingscript/DancingScript-Regular.otf",
    "truetype/fifthhorseman/dkg.ttf",
    "truetype/fifthhorseman/dkgIt.ttf",
    "truetype/breip/Breip.ttf",
    "truetype/femkeklaver/femkeklaver.ttf",
]

# faces without accented letters: text drawn with them is stripped of accents first
NO_ACCENTS = ("BecauseWe",)

# Typeset script faces: letterheads, "Thank you", certificates (printed_script negatives).
PRINTED_SCRIPT = [
    "opentype/lobster/lobster.otf",
    "opentype/urw-base35/Z003-MediumItalic.otf",
    "opentype/dancingscript/DancingScript-Bold.otf",
    "/usr/share/texmf/fonts/opentype/public/tex-gyre/texgyrechorus-mediumitalic.otf",
]


class FontsMissing(RuntimeError):
    """No usable font for a role: install the packages scripts/setup lists."""


def _resolve(rel: str) -> Path:
    p = Path(rel)
    return p if p.is_absolute() else _ROOT / p


@functools.cache
def available(role: str) -> tuple[str, ...]:
    """Font files present for a role: 'sans', 'serif', 'mono', 'handwriting', 'signature' or
    'printed_script'."""
    names = {"handwriting": HANDWRITING, "signature": SIGNATURE, "printed_script": PRINTED_SCRIPT}.get(
        role
    ) or BODY.get(role)
    if names is None:
        raise KeyError(role)
    found = tuple(str(_resolve(n)) for n in names if _resolve(n).exists())
    if not found:
        raise FontsMissing(f"no {role} font found under {_ROOT}; run scripts/setup (fonts-* packages)")
    if len(found) < len(names):
        log.debug("%d of %d %s fonts present", len(found), len(names), role)
    return found


def bold_of(path: str) -> str:
    """The bold face of a body font path, or the path itself when there is none."""
    for rel, bold in _BOLD.items():
        if path.endswith(rel):
            b = _resolve(bold)
            return str(b) if b.exists() else path
    return path


@functools.lru_cache(maxsize=512)
def font(path: str, size_px: int) -> ImageFont.FreeTypeFont:
    """A cached FreeType font at a pixel size (loading fonts dominates small renders otherwise)."""
    return ImageFont.truetype(path, max(6, int(size_px)))


def fit_text(path: str, text: str) -> str:
    """Text as the face can draw it (accents dropped for faces that have none)."""
    if any(k in path for k in NO_ACCENTS):
        import unicodedata

        return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return text
