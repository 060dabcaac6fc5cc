"""chainrule: neural networks from the lecture notes, on NumPy.

Backpropagation is reverse-mode automatic differentiation over a computation graph,
checked against forward mode (dual numbers) and finite differences.
"""

from . import data, functional, io, metrics, models, nn, onnx, ops, optim, random, train, viz
from .autograd import (
    backward, detect_anomaly, enable_grad, grad, inference_mode, is_grad_enabled, no_grad,
    value_and_grad, vjp,
)
from .coach import StabilityWarning, stability_coach
from .creation import (
    arange, eye, from_numpy, full, full_like, linspace, ones, ones_like, rand, rand_like, randint,
    randint_like, randn, randn_like, zeros, zeros_like,
)
from .derivatives import hessian, hvp, jacobian
from .errors import (
    AnomalyError, AxisError, BackendMismatch, BackendUnavailable, ChainruleError, ConfigError,
    DataError, DatasetNotFound, DTypeError, FileAccessError, FileFormatError, GraphError,
    MissingDependency, ShapeError, StateError,
)
from .forward import Dual, jvp
from .functional import (
    cat, concatenate, log_softmax, logsumexp, maximum, minimum, one_hot, softmax, stack, where,
)
from .functional import (  # the op families of issue 11, under PyTorch's torch.<name>
    acos, acosh, argsort, asin, asinh, atan, atan2, atanh, bitwise_and, bitwise_not,
    bitwise_or, bitwise_xor, ceil, chunk, copysign, cos, cosh, cummax, cummin, cumprod, cumsum, diag,
    diagonal, einsum, erf, erfc, exp2, expm1, flip, floor, fmod, gather, index_select, isclose,
    isfinite, isinf, isnan, lerp, log1p, log2, log10, logaddexp, logcumsumexp, logical_and,
    logical_not, logical_or, logical_xor, masked_fill, masked_select, meshgrid, nonzero, prod,
    reciprocal, remainder, repeat_interleave, roll, rsqrt, scatter, scatter_add,
    scatter_reduce, sign, sin, sinh, sort, split, square, take_along_dim, tan, tile, topk, tril, triu,
    trunc,
)
from .functional import all as all, any as any, round as round  # (not in __all__, see there)
from .gradcheck import GradcheckError, check_grad, numerical_grad
from .io import load, save
from .ops import OPS
from .random import manual_seed
from .tensor import Tensor, apply, as_tensor, tensor
from .version import __version__  # noqa: F401 - chainrule.__version__


__all__ = [
    "functional", "ops", "random", "OPS", "manual_seed",
    "Tensor", "tensor", "as_tensor", "apply", "Dual",
    "backward", "grad", "value_and_grad", "vjp", "jvp",
    "no_grad", "enable_grad", "is_grad_enabled", "detect_anomaly", "inference_mode",
    "stability_coach", "StabilityWarning",
    "jacobian", "hessian", "hvp", "cat",
    "zeros", "ones", "full", "arange", "linspace", "eye", "rand", "randn", "randint",
    "zeros_like", "ones_like", "full_like", "rand_like", "randn_like", "randint_like",
    "from_numpy",
    "check_grad", "numerical_grad", "GradcheckError",
    "softmax", "log_softmax", "logsumexp", "one_hot", "concatenate", "stack", "where",
    "maximum", "minimum",
    # (all, any and round are importable, but not by `import *`: they would hide the builtins)
    "acos", "acosh", "argsort", "asin", "asinh", "atan", "atan2", "atanh", "bitwise_and",
    "bitwise_not", "bitwise_or", "bitwise_xor", "ceil", "chunk", "copysign", "cos", "cosh", "cummax",
    "cummin", "cumprod", "cumsum", "diag", "diagonal", "einsum", "erf", "erfc", "exp2", "expm1",
    "flip", "floor", "fmod", "gather", "index_select", "isclose", "isfinite", "isinf", "isnan", "lerp",
    "log1p", "log2", "log10", "logaddexp", "logcumsumexp", "logical_and", "logical_not", "logical_or",
    "logical_xor", "masked_fill", "masked_select", "meshgrid", "nonzero", "prod", "reciprocal",
    "remainder", "repeat_interleave", "roll", "rsqrt", "scatter", "scatter_add",
    "scatter_reduce", "sign", "sin", "sinh", "sort", "split", "square", "take_along_dim", "tan", "tile",
    "topk", "tril", "triu", "trunc",
    "ChainruleError", "ShapeError", "DTypeError", "AxisError", "GraphError", "AnomalyError",
    "DataError", "ConfigError", "StateError", "FileFormatError", "FileAccessError", "BackendMismatch",
    "BackendUnavailable",
    "MissingDependency", "DatasetNotFound", "data", "nn", "optim",
    "io", "metrics", "models", "onnx", "train", "viz", "save", "load",
]
