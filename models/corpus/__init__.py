"""The synthetic document corpus: realistic branch paperwork with exact signature labels.

``generate_page`` makes one page (image + ground truth) from a seed; ``generate`` writes a
whole set (images, YOLO labels, per-page meta, COCO json, manifest) using all cores.
"""

from models.corpus.page import DOC_TYPES, Page, generate_page, page_seed
from models.corpus.writer import generate

__all__ = ["DOC_TYPES", "Page", "generate", "generate_page", "page_seed"]
