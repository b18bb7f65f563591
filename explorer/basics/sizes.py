"""The output-size arithmetic of convolution and pooling, checked before anything runs.

(N - F + 2P)/S + 1 with its own numbers, "same" padding, the course's and the papers' layers as
presets, parameter counts, and torch's own ``nn.Conv2d`` as a witness. The checks refuse exactly
what torch refuses or what gives an output side <= 0 (tested against torch on a grid), so an
impossible combination gets one sentence naming the rule, not a stack trace.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


class LayerSettingsError(ValueError):
    """A convolution or pooling setting that cannot work on this input."""


@dataclass(frozen=True)
class ConvPreset:
    """A layer of the course or of a paper, as (N, F, P, S) of the output-size formula."""

    name: str
    n: int
    f: int
    p: int
    s: int
    note: str


PRESETS: dict[str, ConvPreset] = {
    p.name: p
    for p in [
        ConvPreset(
            "LeNet-5 C1",
            32,
            5,
            0,
            1,
            "LeCun et al. 1998: 32x32 digit, six 5x5 filters, no padding -> 28x28.",
        ),
        ConvPreset(
            "AlexNet conv1",
            227,
            11,
            0,
            4,
            "Krizhevsky et al. 2012: 96 filters of 11x11, stride 4 (227 makes the formula exact; "
            "the paper's text says 224).",
        ),
        ConvPreset(
            "VGG 3x3 'same'",
            224,
            3,
            1,
            1,
            "Simonyan & Zisserman 2014: every convolution 3x3, padding 1 keeps 224x224.",
        ),
        ConvPreset(
            "Keras Conv2D(32, (3,3)) on 64x64",
            64,
            3,
            0,
            1,
            "The course's first layer: Keras's default padding is 'valid' (P = 0): 64 -> 62.",
        ),
    ]
}


def effective_kernel(f: int, d: int = 1) -> int:
    """The span a dilated kernel covers: d(F - 1) + 1 (dilation 1: F itself)."""
    return d * (f - 1) + 1


def conv_problem(n: int, f: int, p: int = 0, s: int = 1, d: int = 1) -> str | None:
    """The rule an (N, F, P, S, dilation) convolution breaks, or None when torch accepts it."""
    if s < 1:
        return f"The stride must be at least 1 (got S = {s})."
    if p < 0:
        return f"The padding cannot be negative (got P = {p})."
    if f < 1 or d < 1:
        return (
            f"The filter needs at least one pixel and dilation at least 1 (got F = {f}, d = {d})."
        )
    span = effective_kernel(f, d)
    if n + 2 * p < span:
        return (
            f"The filter must fit inside the padded input: N + 2P = {n} + {2 * p} = {n + 2 * p} "
            f"is smaller than the filter's span {span}, so the output side "
            f"floor((N + 2P - F) / S) + 1 would be <= 0. Use a smaller filter or more padding."
        )
    return None


def pool_problem(n: int, k: int, s: int, p: int = 0) -> str | None:
    """The rule a pooling window breaks (torch's own two), or None when torch accepts it."""
    if s < 1 or k < 1:
        return f"Window and stride must be at least 1 (got {k} and {s})."
    if p < 0:
        return f"The padding cannot be negative (got P = {p})."
    if p > k // 2:
        return (
            f"Pooling padding can be at most half the window: P = {p} > {k} / 2. "
            "A window made mostly of padding would pool nothing."
        )
    if n + 2 * p < k:
        return (
            f"The {k}x{k} window does not fit the {n}x{n} map (with padding {p}): the output side "
            "floor((N + 2P - K) / S) + 1 would be <= 0."
        )
    return None


def output_size(n: int, f: int, p: int = 0, s: int = 1, d: int = 1) -> int:
    """Output side length ``floor((N - F + 2P) / S) + 1`` (with dilation: F -> d(F - 1) + 1)."""
    problem = conv_problem(n, f, p, s, d)
    if problem:
        raise LayerSettingsError(problem)
    return (n - effective_kernel(f, d) + 2 * p) // s + 1


def pool_output_size(
    n: int, k: int, s: int, p: int = 0, ceil_mode: bool = False, d: int = 1
) -> int:
    """Pooling output side ``floor((N + 2P - K) / S) + 1`` (torch's default floor mode), or with
    ``ceil_mode`` the ceiling, less one when the last window would start beyond the input and its
    left padding (PyTorch's rule: every window starts inside the input or the left padding)."""
    problem = pool_problem(n, effective_kernel(k, d), s, p)
    if problem:
        raise LayerSettingsError(problem)
    return window_output_size(n, k, p, s, d, ceil_mode)


def window_output_size(n: int, f: int, p: int, s: int, d: int = 1, ceil_mode: bool = False) -> int:
    """Output side of any sliding window (convolution or pooling), without the checks: floor or,
    for a ``ceil_mode`` pooling, ceil of (N + 2P - F_eff) / S, plus one, with PyTorch's rule that
    the last window must start inside the input or the left padding."""
    span = n + 2 * p - effective_kernel(f, d)
    if not ceil_mode:
        return span // s + 1
    out = -(-span // s) + 1  # ceil
    if (out - 1) * s >= n + p:  # the last window would start in the right padding: dropped
        out -= 1
    return out


def window_formula_text(n: int, f: int, p: int, s: int, d: int = 1, ceil_mode: bool = False) -> str:
    """The output-size formula as plain text with this layer's numbers, floor or ceil as the
    layer computes it: ``(112 - 3 + 2 x 0) / 2 + 1 = 55`` (floor: the fraction's integer part)
    or ``ceil((112 - 3 + 2 x 0) / 2) + 1 = 56 (ceil_mode)``."""
    f_eff = effective_kernel(f, d)
    out = window_output_size(n, f, p, s, d, ceil_mode)
    dil = "" if d == 1 else f" (dilation {d}: F = {f_eff})"
    if not ceil_mode:
        return f"({n} - {f_eff} + 2 x {p}) / {s} + 1 = {out}{dil}"
    text = f"ceil(({n} - {f_eff} + 2 x {p}) / {s}) + 1 = {out}"
    if out != -(-(n + 2 * p - f_eff) // s) + 1:
        text += " (ceil_mode; one less: the last window would start in the right padding)"
    else:
        text += " (ceil_mode: a last, partial window counts)"
    return text + dil


def _num(x: float) -> str:
    return f"{x:g}" if abs(x - round(x)) > 1e-9 else str(round(x))


def formula(n: int, f: int, p: int, s: int, d: int = 1) -> str:
    """The formula with the numbers filled in, as LaTeX; the floor is always written and the
    fraction's exact value shown, so 21.5 -> 21 is visible when the stride does not divide."""
    out = output_size(n, f, p, s, d)
    span = effective_kernel(f, d)
    f_sym = "F" if d == 1 else r"F_{\text{eff}}"
    f_txt = str(f) if d == 1 else str(span)
    exact = (n - span + 2 * p) / s
    return (
        rf"\text{{output}} = \left\lfloor \frac{{N - {f_sym} + 2P}}{{S}} \right\rfloor + 1"
        rf" = \left\lfloor \frac{{{n} - {f_txt} + 2 \cdot {p}}}{{{s}}} \right\rfloor + 1"
        rf" = \lfloor {_num(exact)} \rfloor + 1 = {out}"
    )


def pool_formula(n: int, k: int, s: int, p: int = 0, ceil_mode: bool = False) -> str:
    """The pooling formula with the floor (or, in ``ceil_mode``, the ceiling) and the exact
    fraction, as LaTeX."""
    out = pool_output_size(n, k, s, p, ceil_mode)
    exact = (n + 2 * p - k) / s
    pad = "" if p == 0 else f" + 2 \\cdot {p}"
    pad_sym = "" if p == 0 else " + 2P"
    lo, ro, lc, rc = (
        (r"\left\lceil", r"\right\rceil", r"\lceil", r"\rceil")
        if ceil_mode
        else (r"\left\lfloor", r"\right\rfloor", r"\lfloor", r"\rfloor")
    )
    return (
        rf"\text{{output}} = {lo} \frac{{N - K{pad_sym}}}{{S}} {ro} + 1"
        rf" = {lo} \frac{{{n} - {k}{pad}}}{{{s}}} {ro} + 1"
        rf" = {lc} {_num(exact)} {rc} + 1 = {out}"
    )


def same_padding(f: int, d: int = 1) -> tuple[int, int]:
    """Keras/torch "same" padding for stride 1: total d(F - 1), split (before, after); the
    extra pixel of an even kernel goes after, as both frameworks do."""
    total = d * (f - 1)
    return total // 2, total - total // 2


def resolve_padding(mode: str, f: int, p: int, s: int, d: int = 1) -> int:
    """Padding P for the formula from a mode: 'valid' (0, Keras's default), 'same', or 'custom'."""
    if mode == "valid":
        return 0
    if mode == "same":
        if s != 1:
            raise LayerSettingsError(
                "'same' padding keeps the output size only with stride 1; torch refuses it for strided "
                "convolutions (Keras pads so that output = ceil(N / S)). Use a custom P instead."
            )
        before, after = same_padding(f, d)
        if before != after:
            raise LayerSettingsError(
                f"'same' with an even filter needs {before} zero(s) before and {after} after: uneven padding "
                "is not one symmetric P. Use an odd filter size or a custom P."
            )
        return before
    if mode == "custom":
        return p
    raise LayerSettingsError(f"Unknown padding mode {mode!r}: use 'valid', 'same' or 'custom'.")


def conv_params(f: int, c_in: int, c_out: int) -> int:
    """F x F x C_in x C_out weights + C_out biases."""
    return f * f * c_in * c_out + c_out


def dense_params(n_in: int, n_out: int) -> int:
    """A dense layer from n_in to n_out numbers: n_in x n_out weights + n_out biases."""
    return n_in * n_out + n_out


def torch_conv_check(
    n: int, f: int, p: int, s: int, d: int = 1, c_in: int = 1, c_out: int = 1
) -> str:
    """A sentence with the shape torch's own ``nn.Conv2d`` produces for these settings (run on the
    meta device: no memory, no arithmetic) and its parameter count."""
    layer = torch.nn.Conv2d(c_in, c_out, f, stride=s, padding=p, dilation=d, device="meta")
    out = layer(
        torch.empty(1, c_in, n, n, device="meta")
    )  # 1 x C_in x N x N -> 1 x C_out x N' x N'
    params = sum(t.numel() for t in layer.parameters())
    extra = f", dilation={d}" if d != 1 else ""
    return (
        f"torch agrees: nn.Conv2d({c_in}, {c_out}, {f}, stride={s}, padding={p}{extra}) turns "
        f"1 x {c_in} x {n} x {n} into {' x '.join(map(str, out.shape))} and has {params:,} parameters."
    )
