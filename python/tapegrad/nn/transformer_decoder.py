"""The transformer decoder and the full encoder-decoder ``Transformer``.

Submodule and parameter names are PyTorch's (``self_attn``, ``multihead_attn``,
``linear1``, ``linear2``, ``norm1``..``norm3``; ``encoder.layers.0...``,
``decoder.norm``), so a PyTorch ``state_dict`` loads and gives the same outputs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

import tapegrad as tg
from tapegrad._errors import ArgumentError, ShapeError

from . import init
from .containers import ModuleList
from .layers import Dropout, LayerNorm, Linear
from .module import Module
from .transformer import (
    _ACTIVATIONS,
    MultiheadAttention,
    TransformerEncoder,
    TransformerEncoderLayer,
)

__all__ = ["Transformer", "TransformerDecoder", "TransformerDecoderLayer"]


class TransformerDecoderLayer(Module):
    """Self-attention, attention to the encoder's output (``memory``) and a
    feed-forward block, as ``torch.nn.TransformerDecoderLayer``.

    Arguments as :class:`TransformerEncoderLayer`.
    """

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: str | Callable[[tg.Tensor], tg.Tensor] = "relu",
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self._args = (
            d_model,
            nhead,
            dim_feedforward,
            dropout,
            activation,
            layer_norm_eps,
            batch_first,
            norm_first,
            bias,
            dtype,
        )
        if isinstance(activation, str):
            if activation not in _ACTIVATIONS:
                raise ArgumentError(
                    f"TransformerDecoderLayer: activation should be relu/gelu, not "
                    f"{activation!r}"
                )
            activation = _ACTIVATIONS[activation]
        self.activation = activation

        def attention() -> MultiheadAttention:
            return MultiheadAttention(
                d_model, nhead, dropout, bias=bias, batch_first=batch_first, dtype=dtype
            )

        self.self_attn = attention()
        self.multihead_attn = attention()
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm3 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.dropout3 = Dropout(dropout)

    def _sa_block(
        self, x: tg.Tensor, mask: Any, padding: Any, causal: bool
    ) -> tg.Tensor:
        out = self.self_attn(
            x,
            x,
            x,
            attn_mask=mask,
            key_padding_mask=padding,
            need_weights=False,
            is_causal=causal,
        )[0]
        return self.dropout1(out)

    def _mha_block(
        self, x: tg.Tensor, memory: tg.Tensor, mask: Any, padding: Any, causal: bool
    ) -> tg.Tensor:
        out = self.multihead_attn(
            x,
            memory,
            memory,
            attn_mask=mask,
            key_padding_mask=padding,
            need_weights=False,
            is_causal=causal,
        )[0]
        return self.dropout2(out)

    def _ff_block(self, x: tg.Tensor) -> tg.Tensor:
        return self.dropout3(
            self.linear2(self.dropout(self.activation(self.linear1(x))))
        )

    def forward(
        self,
        tgt: tg.Tensor,
        memory: tg.Tensor,
        tgt_mask: Any = None,
        memory_mask: Any = None,
        tgt_key_padding_mask: Any = None,
        memory_key_padding_mask: Any = None,
        tgt_is_causal: bool = False,
        memory_is_causal: bool = False,
    ) -> tg.Tensor:
        """One decoder layer (post-norm, or pre-norm with ``norm_first``).

        Masks as :class:`MultiheadAttention`'s: boolean True (or float ``-inf``)
        marks what may not be attended.
        """
        x = tgt
        if self.norm_first:
            x = x + self._sa_block(
                self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal
            )
            x = x + self._mha_block(
                self.norm2(x),
                memory,
                memory_mask,
                memory_key_padding_mask,
                memory_is_causal,
            )
            return x + self._ff_block(self.norm3(x))
        x = self.norm1(
            x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal)
        )
        x = self.norm2(
            x
            + self._mha_block(
                x, memory, memory_mask, memory_key_padding_mask, memory_is_causal
            )
        )
        return self.norm3(x + self._ff_block(x))


class TransformerDecoder(Module):
    """A stack of ``num_layers`` copies of ``decoder_layer`` (and an optional norm).

    The copies start with the same weights as ``decoder_layer``, as PyTorch's deep copy.
    """

    def __init__(
        self,
        decoder_layer: TransformerDecoderLayer,
        num_layers: int,
        norm: Module | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(decoder_layer, TransformerDecoderLayer):
            raise ArgumentError(
                "TransformerDecoder: decoder_layer must be a TransformerDecoderLayer"
            )
        state = decoder_layer.state_dict()
        layers = []
        for _ in range(num_layers):
            layer = TransformerDecoderLayer(*decoder_layer._args)
            layer.load_state_dict(state)
            layers.append(layer)
        self.layers = ModuleList(layers)
        self.num_layers = num_layers
        self.norm = norm

    def forward(
        self,
        tgt: tg.Tensor,
        memory: tg.Tensor,
        tgt_mask: Any = None,
        memory_mask: Any = None,
        tgt_key_padding_mask: Any = None,
        memory_key_padding_mask: Any = None,
        tgt_is_causal: bool | None = None,
        memory_is_causal: bool = False,
    ) -> tg.Tensor:
        """Runs the layers in turn on ``tgt`` (each attending to ``memory``), then
        ``norm``."""
        out = tgt
        for layer in self.layers:
            out = layer(
                out,
                memory,
                tgt_mask,
                memory_mask,
                tgt_key_padding_mask,
                memory_key_padding_mask,
                bool(tgt_is_causal),
                memory_is_causal,
            )
        return self.norm(out) if self.norm is not None else out


class Transformer(Module):
    """The encoder-decoder transformer of "Attention Is All You Need", as
    ``torch.nn.Transformer``: ``encoder`` (a :class:`TransformerEncoder` with a final
    ``LayerNorm``) and ``decoder`` (a :class:`TransformerDecoder`, likewise).

    Every parameter with more than one dimension is initialised Xavier-uniform, as
    PyTorch's. ``custom_encoder``/``custom_decoder`` replace the stacks.
    """

    def __init__(
        self,
        d_model: int = 512,
        nhead: int = 8,
        num_encoder_layers: int = 6,
        num_decoder_layers: int = 6,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: str | Callable[[tg.Tensor], tg.Tensor] = "relu",
        custom_encoder: Module | None = None,
        custom_decoder: Module | None = None,
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        layer_args = (
            d_model,
            nhead,
            dim_feedforward,
            dropout,
            activation,
            layer_norm_eps,
            batch_first,
            norm_first,
            bias,
            dtype,
        )

        def norm() -> LayerNorm:
            return LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)

        self.encoder = custom_encoder or TransformerEncoder(
            TransformerEncoderLayer(*layer_args), num_encoder_layers, norm()
        )
        self.decoder = custom_decoder or TransformerDecoder(
            TransformerDecoderLayer(*layer_args), num_decoder_layers, norm()
        )
        self.d_model, self.nhead, self.batch_first = d_model, nhead, batch_first
        for parameter in self.parameters():
            if parameter.ndim > 1:
                init.xavier_uniform_(parameter)

    def forward(
        self,
        src: tg.Tensor,
        tgt: tg.Tensor,
        src_mask: Any = None,
        tgt_mask: Any = None,
        memory_mask: Any = None,
        src_key_padding_mask: Any = None,
        tgt_key_padding_mask: Any = None,
        memory_key_padding_mask: Any = None,
        src_is_causal: bool | None = None,
        tgt_is_causal: bool | None = None,
        memory_is_causal: bool = False,
    ) -> tg.Tensor:
        """Encodes ``src`` into memory, then decodes ``tgt`` attending to it.

        Shapes (S, N, E) and (T, N, E), or (N, S, E)/(N, T, E) with
        ``batch_first``, or unbatched (S, E)/(T, E); the output has ``tgt``'s shape.
        """
        batch_axis = 0 if self.batch_first else 1
        batched = src.ndim == 3
        if src.ndim != tgt.ndim or (
            batched and src.shape[batch_axis] != tgt.shape[batch_axis]
        ):
            raise ShapeError(
                f"Transformer: src {tuple(src.shape)} and tgt {tuple(tgt.shape)} must "
                f"have the same batch size (axis {batch_axis})"
            )
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise ShapeError(
                f"Transformer: the feature size of src {tuple(src.shape)} and tgt "
                f"{tuple(tgt.shape)} must equal d_model ({self.d_model})"
            )
        memory = self.encoder(
            src,
            mask=src_mask,
            src_key_padding_mask=src_key_padding_mask,
            is_causal=src_is_causal,
        )
        return self.decoder(
            tgt,
            memory,
            tgt_mask=tgt_mask,
            memory_mask=memory_mask,
            tgt_key_padding_mask=tgt_key_padding_mask,
            memory_key_padding_mask=memory_key_padding_mask,
            tgt_is_causal=tgt_is_causal,
            memory_is_causal=memory_is_causal,
        )

    @staticmethod
    def generate_square_subsequent_mask(sz: int, dtype: Any = None) -> tg.Tensor:
        """(sz, sz) float mask: 0 on and below the diagonal, ``-inf`` above it."""
        if not isinstance(sz, int) or sz < 0:
            raise ArgumentError(
                f"generate_square_subsequent_mask: sz must be an int >= 0, got {sz!r}"
            )
        mask = np.triu(np.full((sz, sz), -math.inf), k=1)
        return tg.tensor(mask, dtype=dtype)
