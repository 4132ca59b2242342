"""``signet data ...`` (corpus) and ``signet models ...`` (training, evaluation); subcommands load
from the module that owns them, so torch is imported only by the commands that train."""

from __future__ import annotations

from signet.cli import lazy_group

data = lazy_group(
    "data",
    "The synthetic document corpus.",
    {
        "generate": "models.corpus.cli:generate",
        "preview": "models.corpus.cli:preview",
        "samples": "models.corpus.cli:samples",
    },
)

models = lazy_group(
    "models",
    "Train and evaluate models.",
    {
        "train-detector": "models.detector.cli:train_detector",
        "eval-detector": "models.detector.cli:eval_detector",
        "train-classifier": "models.classifier.cli:train_classifier",
        "eval-classifier": "models.classifier.cli:eval_classifier",
        "train-handwriting": "models.hand.cli:train_handwriting",
        "report-reading": "models.reading_report:report_reading",
        "eval-page-finding": "models.page_finding:eval_page_finding",
        "dataset": "models.lifecycle:dataset",
        "compare": "models.lifecycle:compare",
        "probe-reading": "models.reading_probe:probe_reading",
        "probe-diff": "models.reading_probe:probe_diff",
    },
)
