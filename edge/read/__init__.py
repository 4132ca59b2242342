"""Reading pages: preprocessing, Tesseract OCR, codes, fields and document-type classification.

``PageReader(cfg).read(image, signatures, profile) -> Reading`` is the interface the pipeline uses.
The names load on first use, so the Tesseract helper process (``python -m edge.read.tessd``)
starts without OpenCV and the reader's other dependencies.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from edge.read.reader import PageReader, Reading

__all__ = ["PageReader", "Reading"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from edge.read import reader

        return getattr(reader, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
