"""Recurrent layers (``RNN``, ``LSTM``, ``GRU``) and their cells, as PyTorch's.

Parameter names, shapes, gate order and initialisation follow PyTorch
(``weight_ih_l{k}[_reverse]`` (G·H, in), ``weight_hh_l{k}`` (G·H, H), ``bias_ih_l{k}``,
``bias_hh_l{k}``; gates i, f, g, o for the LSTM and r, z, n for the GRU; every tensor
U(-1/√H, 1/√H)), so a PyTorch ``state_dict`` loads. Each step is composed from
``linear``, ``sigmoid`` and ``tanh``; the input projections of a whole sequence are one
product before the loop.

One time loop serves padded and packed input (``nn.utils.rnn.PackedSequence``): the
sequence is run as packed steps, step t holding the ``batch_sizes[t]`` sequences still
going (a padded batch is the case where every step holds them all). The layers and
their cells share ``_step``, which is why they stay in one file of about 500 lines.
"""

from __future__ import annotations

import math
from typing import Any

import tapegrad as tg
from tapegrad._errors import ArgumentError, ShapeError

from . import functional as F
from . import init
from .module import Module, Parameter
from .utils.rnn import PackedSequence

__all__ = ["GRU", "LSTM", "RNN", "GRUCell", "LSTMCell", "RNNCell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _step(
    mode: str,
    gi: tg.Tensor,
    h: tg.Tensor,
    c: tg.Tensor | None,
    w_hh: tg.Tensor,
    b_hh: tg.Tensor | None,
    w_hr: tg.Tensor | None = None,
) -> tuple[tg.Tensor, tg.Tensor | None]:
    """One time step given the input projection ``gi`` = W_ih x + b_ih (and, for an
    LSTM with projections, ``h = W_hr (o ∘ tanh c)``)."""
    gh = F.linear(h, w_hh, b_hh)
    if mode == "RNN_TANH":
        return (gi + gh).tanh(), None
    if mode == "RNN_RELU":
        return (gi + gh).relu(), None
    size = w_hh.shape[0] // _GATES[mode]  # the hidden size (h may be projected)
    if mode == "LSTM":
        assert c is not None, "an LSTM step carries its cell state"
        gates = gi + gh
        i, f, g, o = (gates[..., k * size : (k + 1) * size] for k in range(4))
        c = f.sigmoid() * c + i.sigmoid() * g.tanh()
        h = o.sigmoid() * c.tanh()
        return (h if w_hr is None else F.linear(h, w_hr)), c
    # GRU: n = tanh(W_in x + b_in + r ∘ (W_hn h + b_hn))
    r = (gi[..., :size] + gh[..., :size]).sigmoid()
    z = (gi[..., size : 2 * size] + gh[..., size : 2 * size]).sigmoid()
    n = (gi[..., 2 * size :] + r * gh[..., 2 * size :]).tanh()
    return n + z * (h - n), None


class _RNNBase(Module):
    """Shared state and the time loop of ``RNN``, ``LSTM`` and ``GRU``."""

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        dtype: Any = None,
        proj_size: int = 0,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        for arg, value in (
            ("input_size", input_size),
            ("hidden_size", hidden_size),
            ("num_layers", num_layers),
        ):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ArgumentError(
                    f"{name}: {arg} must be a positive int, got {value!r}"
                )
        if not 0.0 <= dropout <= 1.0:
            raise ArgumentError(f"{name}: dropout must be in [0, 1], got {dropout}")
        if (
            not isinstance(proj_size, int)
            or isinstance(proj_size, bool)
            or proj_size < 0
        ):
            raise ArgumentError(
                f"{name}: proj_size should be a positive integer or zero to disable "
                f"projections, got {proj_size!r}"
            )
        if proj_size and mode != "LSTM":
            raise ArgumentError(
                "proj_size argument is only supported for LSTM, not RNN or GRU"
            )
        if proj_size >= hidden_size:
            raise ArgumentError(
                f"{name}: proj_size has to be smaller than hidden_size, got proj_size="
                f"{proj_size} and hidden_size={hidden_size}"
            )
        self.mode = mode
        self.input_size, self.hidden_size = input_size, hidden_size
        self.num_layers, self.bias = num_layers, bias
        self.batch_first, self.dropout = batch_first, float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        # With projections, h (the output and the recurrent input) has proj_size
        # features and the cell state c hidden_size.
        out_size = proj_size or hidden_size
        gates = _GATES[mode] * hidden_size
        directions = 2 if bidirectional else 1
        for layer in range(num_layers):
            width = input_size if layer == 0 else out_size * directions
            for suffix in ("", "_reverse")[:directions]:
                tag = f"l{layer}{suffix}"
                setattr(
                    self,
                    f"weight_ih_{tag}",
                    Parameter(tg.zeros(gates, width, dtype=dtype)),
                )
                setattr(
                    self,
                    f"weight_hh_{tag}",
                    Parameter(tg.zeros(gates, out_size, dtype=dtype)),
                )
                if bias:
                    setattr(
                        self, f"bias_ih_{tag}", Parameter(tg.zeros(gates, dtype=dtype))
                    )
                    setattr(
                        self, f"bias_hh_{tag}", Parameter(tg.zeros(gates, dtype=dtype))
                    )
                if proj_size:
                    setattr(
                        self,
                        f"weight_hr_{tag}",
                        Parameter(tg.zeros(proj_size, hidden_size, dtype=dtype)),
                    )
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every weight and bias from U(-1/√hidden_size, 1/√hidden_size)."""
        # PyTorch's init; a layer of hidden size 0 has no weights to draw.
        bound = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0.0
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def _weights(self, layer: int, reverse: bool) -> tuple[Any, ...]:
        tag = f"l{layer}{'_reverse' if reverse else ''}"
        get = lambda kind: getattr(self, f"{kind}_{tag}", None)
        return (
            get("weight_ih"),
            get("weight_hh"),
            get("bias_ih"),
            get("bias_hh"),
            get("weight_hr"),
        )

    def forward(self, input: Any, hx: Any = None) -> tuple[Any, Any]:
        """Runs the sequence; returns ``(output, h_n)`` (``(output, (h_n, c_n))``).

        ``input`` may be a :class:`~tapegrad.nn.utils.rnn.PackedSequence`: each step
        then runs only the sequences still going, ``output`` is packed the same way
        and ``h_n`` holds each sequence's state after its own last step.
        """
        name = type(self).__name__
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, hx)
        if input.ndim not in (2, 3) or input.shape[-1] != self.input_size:
            raise ShapeError(
                f"{name}: expected input of shape (L, N, {self.input_size}) (or "
                f"(N, L, ...) with batch_first, or unbatched (L, ...)), got "
                f"{tuple(input.shape)}"
            )
        unbatched = input.ndim == 2
        x = (
            input.unsqueeze(1)
            if unbatched
            else (input.transpose(0, 1) if self.batch_first else input)
        )
        steps, batch = x.shape[0], x.shape[1]
        h0, c0 = self._initial_states(hx, unbatched, batch, x.dtype)
        data = x.reshape(steps * batch, self.input_size)
        out, hidden, cell = self._run(data, [batch] * steps, h0, c0)
        x = out.reshape(steps, batch, out.shape[-1])
        output = (
            x.squeeze(1)
            if unbatched
            else (x.transpose(0, 1) if self.batch_first else x)
        )
        if unbatched:
            hidden = hidden.squeeze(1)
            cell = cell.squeeze(1) if cell is not None else None
        return output, ((hidden, cell) if self.mode == "LSTM" else hidden)

    def _state_shapes(self, batch: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """The shapes of h_0 and c_0 (h has proj_size features when projecting)."""
        layers = self.num_layers * (2 if self.bidirectional else 1)
        out_size = self.proj_size or self.hidden_size
        return (layers, batch, out_size), (layers, batch, self.hidden_size)

    def _forward_packed(self, packed: PackedSequence, hx: Any) -> tuple[Any, Any]:
        name = type(self).__name__
        data = packed.data
        if data.ndim != 2 or data.shape[-1] != self.input_size:
            raise ShapeError(
                f"{name}: expected packed data of shape (total, {self.input_size}), "
                f"got {tuple(data.shape)}"
            )
        sizes = [int(b) for b in packed.batch_sizes.__array__(copy=True)]
        batch = sizes[0] if sizes else 0
        h0, c0 = self._initial_states(hx, False, batch, data.dtype)
        if packed.sorted_indices is not None:  # hx is in the caller's batch order
            order = packed.sorted_indices.__array__(copy=True)
            h0 = h0[:, order]
            c0 = c0[:, order] if c0 is not None else None
        out, hidden, cell = self._run(data, sizes, h0, c0)
        if packed.unsorted_indices is not None:
            order = packed.unsorted_indices.__array__(copy=True)
            hidden = hidden[:, order]
            cell = cell[:, order] if cell is not None else None
        output = PackedSequence(
            out, packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices
        )
        return output, ((hidden, cell) if self.mode == "LSTM" else hidden)

    def _run(
        self,
        data: tg.Tensor,
        sizes: list[int],
        h0: tg.Tensor,
        c0: tg.Tensor | None,
    ) -> tuple[tg.Tensor, tg.Tensor, tg.Tensor | None]:
        """The layers over packed ``data`` (step t: ``sizes[t]`` rows, the sequences
        sorted longest first); returns packed outputs, h_n and c_n."""
        directions = 2 if self.bidirectional else 1
        offsets = [sum(sizes[:t]) for t in range(len(sizes))]
        x = data
        h_n, c_n = [], []
        for layer in range(self.num_layers):
            outputs = []
            for d in range(directions):
                k = layer * directions + d
                w_ih, w_hh, b_ih, b_hh, w_hr = self._weights(layer, d == 1)
                projected = F.linear(x, w_ih, b_ih)  # all time steps at once
                h, c = h0[k], (c0[k] if c0 is not None else None)
                steps = range(len(sizes) - 1, -1, -1) if d == 1 else range(len(sizes))
                seq: list[tg.Tensor] = []
                for t in steps:
                    rows, start = sizes[t], offsets[t]
                    gi = projected[start : start + rows]
                    if rows == h.shape[0]:
                        h, c = _step(self.mode, gi, h, c, w_hh, b_hh, w_hr)
                        seq.append(h)
                        continue
                    # Only the first `rows` sequences run; the others keep their state.
                    c_rows = c[:rows] if c is not None else None
                    h_rows, c_rows = _step(
                        self.mode, gi, h[:rows], c_rows, w_hh, b_hh, w_hr
                    )
                    seq.append(h_rows)
                    h = tg.cat([h_rows, h[rows:]], dim=0)
                    if c is not None and c_rows is not None:
                        c = tg.cat([c_rows, c[rows:]], dim=0)
                if d == 1:
                    seq.reverse()
                outputs.append(
                    tg.cat(seq, dim=0)
                    if seq
                    else tg.zeros(0, h.shape[-1], dtype=data.dtype)
                )
                h_n.append(h)
                if c is not None:
                    c_n.append(c)
            x = outputs[0] if directions == 1 else tg.cat(outputs, dim=-1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, True)
        return x, tg.stack(h_n), (tg.stack(c_n) if c_n else None)

    def _initial_states(
        self, hx: Any, unbatched: bool, batch: int, dtype: Any
    ) -> tuple[tg.Tensor, tg.Tensor | None]:
        name = type(self).__name__
        lstm = self.mode == "LSTM"
        shapes = self._state_shapes(batch)
        if hx is None:
            h0 = tg.zeros(*shapes[0], dtype=dtype)
            c0 = tg.zeros(*shapes[1], dtype=dtype) if self.proj_size else h0
            return h0, (c0 if lstm else None)
        states = list(hx) if lstm else [hx]
        if lstm and len(states) != 2:
            raise ArgumentError(f"{name}: hx must be a tuple (h_0, c_0)")
        for state, shape in zip(states, shapes):
            expected = (shape[0], shape[2]) if unbatched else shape
            if tuple(state.shape) != expected:
                raise ShapeError(
                    f"{name}: expected hidden state of shape {expected}, got "
                    f"{tuple(state.shape)}"
                )
        if unbatched:
            states = [s.unsqueeze(1) for s in states]
        return states[0], (states[1] if lstm else None)

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if self.batch_first:
            text += ", batch_first=True"
        if self.bidirectional:
            text += ", bidirectional=True"
        if self.proj_size:
            text += f", proj_size={self.proj_size}"
        return text


class RNN(_RNNBase):
    """Elman RNN, ``h' = tanh(W_ih x + b_ih + W_hh h + b_hh)`` (or ``relu``)."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        dtype: Any = None,
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ArgumentError(f"RNN: unknown nonlinearity {nonlinearity!r}")
        super().__init__(
            f"RNN_{nonlinearity.upper()}",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            dtype,
        )
        self.nonlinearity = nonlinearity


class LSTM(_RNNBase):
    """Long short-term memory, PyTorch's gates (i, f, g, o); returns ``(out, (h, c))``.

    With ``proj_size > 0`` (PyTorch's LSTM with projections) each step's hidden state is
    projected, ``h = W_hr (o ∘ tanh c)`` with ``weight_hr_l{k}`` (proj_size,
    hidden_size): ``output`` and ``h_n`` have proj_size features, ``c_n`` hidden_size.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        dtype: Any = None,
    ) -> None:
        super().__init__(
            "LSTM",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            dtype,
            proj_size,
        )


class GRU(_RNNBase):
    """Gated recurrent unit, PyTorch's gates (r, z, n)."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        dtype: Any = None,
    ) -> None:
        super().__init__(
            "GRU",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            dtype,
        )


class _CellBase(Module):
    def __init__(
        self, mode: str, input_size: int, hidden_size: int, bias: bool, dtype: Any
    ) -> None:
        super().__init__()
        gates = _GATES[mode] * hidden_size
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.bias = bias
        self.weight_ih = Parameter(tg.zeros(gates, input_size, dtype=dtype))
        self.weight_hh = Parameter(tg.zeros(gates, hidden_size, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(tg.zeros(gates, dtype=dtype))
            self.bias_hh = Parameter(tg.zeros(gates, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        bound = 1.0 / math.sqrt(hidden_size) if hidden_size > 0 else 0.0
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def _run(self, input: tg.Tensor, h: Any, c: Any) -> tuple[tg.Tensor, Any]:
        name = type(self).__name__
        if input.ndim not in (1, 2) or input.shape[-1] != self.input_size:
            raise ShapeError(
                f"{name}: expected input of shape (N, {self.input_size}) or "
                f"({self.input_size},), got {tuple(input.shape)}"
            )
        shape = (*input.shape[:-1], self.hidden_size)
        h = tg.zeros(*shape, dtype=input.dtype) if h is None else h
        if self.mode == "LSTM" and c is None:
            c = tg.zeros(*shape, dtype=input.dtype)
        gi = F.linear(input, self.weight_ih, self.bias_ih)
        return _step(self.mode, gi, h, c, self.weight_hh, self.bias_hh)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}"


class RNNCell(_CellBase):
    """One step of :class:`RNN`: ``forward(input, hx=None) -> h'``."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        dtype: Any = None,
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ArgumentError(f"RNNCell: unknown nonlinearity {nonlinearity!r}")
        super().__init__(
            f"RNN_{nonlinearity.upper()}", input_size, hidden_size, bias, dtype
        )
        self.nonlinearity = nonlinearity

    def forward(self, input: tg.Tensor, hx: tg.Tensor | None = None) -> tg.Tensor:
        """The next hidden state."""
        return self._run(input, hx, None)[0]


class LSTMCell(_CellBase):
    """One step of :class:`LSTM`: ``forward(input, (h, c)=None) -> (h', c')``."""

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, dtype: Any = None
    ) -> None:
        super().__init__("LSTM", input_size, hidden_size, bias, dtype)

    def forward(self, input: tg.Tensor, hx: Any = None) -> tuple[tg.Tensor, tg.Tensor]:
        """The next hidden and cell states."""
        h, c = (None, None) if hx is None else hx
        out, cell = self._run(input, h, c)
        return out, cell


class GRUCell(_CellBase):
    """One step of :class:`GRU`: ``forward(input, hx=None) -> h'``."""

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, dtype: Any = None
    ) -> None:
        super().__init__("GRU", input_size, hidden_size, bias, dtype)

    def forward(self, input: tg.Tensor, hx: tg.Tensor | None = None) -> tg.Tensor:
        """The next hidden state."""
        return self._run(input, hx, None)[0]
