"""Signature detector: model, data, losses, training and evaluation (PyTorch, CPU or CUDA)."""
