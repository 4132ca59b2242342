"""Reading pages: preprocessing, Tesseract OCR, codes, fields and document-type classification.

``PageReader(cfg).read(image, signatures, profile) -> Reading`` is the interface the pipeline uses.
"""

from __future__ import annotations

from edge.read.reader import PageReader, Reading

__all__ = ["PageReader", "Reading"]
