"""The handwriting word model: data from the corpus, training and export (see edge/read/hand.py)."""
