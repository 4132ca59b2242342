"""The edge pipeline: sources -> gate -> detect -> read -> Result -> store.

``Pipeline`` is the long-running form (threads, worker processes, watchdog); ``process_file``
is the one-shot form used by ``signet edge process`` and the cloud's upload page.
"""

from __future__ import annotations

from edge.pipeline.oneshot import process_file
from edge.pipeline.results import build_result, page_result_id
from edge.pipeline.runtime import Pipeline

__all__ = ["Pipeline", "build_result", "page_result_id", "process_file"]
