"""Signet: edge document AI with a cloud fleet service.

The importable parts live beside this package: ``edge`` (the device process), ``cloud`` (the
fleet service), ``models`` (corpus and training) and ``export`` (ONNX / TensorRT). This package
holds what they share at the top: the command line, settings loading and logging setup.
"""

__version__ = "0.1.0"
