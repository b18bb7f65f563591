"""The course's CNN operations one at a time, for the Convolution basics page.

Split by topic: :mod:`.sizes` (output-size arithmetic and setting checks), :mod:`.kernels`
(filters and the images they run on), :mod:`.operations` (convolution, pooling, dense, heads)
and :mod:`.first_layer` (one unit of a real network's first convolution). Everything a caller
uses is importable from ``explorer.basics``.
"""

from explorer.basics.first_layer import UnitSum, first_conv, first_layer_unit, is_first_layer_field
from explorer.basics.kernels import (
    COLOUR_FILTERS,
    KERNELS,
    Kernel,
    colour_filters,
    parse_grid,
    resize_kernel,
    to_grey,
    to_rgb,
)
from explorer.basics.operations import (
    ChannelBreakdown,
    SlidingSteps,
    channel_breakdown,
    conv_as_dense,
    convolve,
    dense_forward,
    global_average_pool,
    pool,
    sigmoid_binary_cross_entropy,
    sliding_steps,
    softmax_cross_entropy,
)
from explorer.basics.sizes import (
    PRESETS,
    ConvPreset,
    LayerSettingsError,
    conv_params,
    conv_problem,
    dense_params,
    effective_kernel,
    formula,
    output_size,
    pool_formula,
    pool_output_size,
    pool_problem,
    resolve_padding,
    same_padding,
    torch_conv_check,
)

__all__ = [
    "COLOUR_FILTERS",
    "KERNELS",
    "PRESETS",
    "ChannelBreakdown",
    "ConvPreset",
    "Kernel",
    "LayerSettingsError",
    "SlidingSteps",
    "UnitSum",
    "channel_breakdown",
    "colour_filters",
    "conv_as_dense",
    "conv_params",
    "conv_problem",
    "convolve",
    "dense_forward",
    "dense_params",
    "effective_kernel",
    "first_conv",
    "first_layer_unit",
    "formula",
    "global_average_pool",
    "is_first_layer_field",
    "output_size",
    "parse_grid",
    "pool",
    "pool_formula",
    "pool_output_size",
    "pool_problem",
    "resize_kernel",
    "resolve_padding",
    "same_padding",
    "sigmoid_binary_cross_entropy",
    "sliding_steps",
    "softmax_cross_entropy",
    "to_grey",
    "to_rgb",
    "torch_conv_check",
]
