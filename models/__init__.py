"""Synthetic corpus, detector and classifier training and evaluation."""
