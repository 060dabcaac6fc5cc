"""The primitives. Each is one class with forward, vjp and jvp side by side; see ``base``."""

from .base import OPS, Op, add_tangents, common_dtype, promote, result_dtype
from .elementwise import (
    ACTIVATIONS, Abs, Add, Cast, Clip, Div, Elu, Exp, Gelu, LeakyRelu, Log, Maximum, Minimum, Mul, Neg, Pow,
    Relu, Sigmoid, Softplus, Sqrt, Sub, Tanh, Where, stable_sigmoid,
)
from .conv import Conv, ConvTranspose, MaxPool
from .linalg import Linear, MatMul
from .norm import Normalize
from .recurrent import Gru, Lstm
from .reduce import LogSumExp, Max, SoftmaxCrossEntropy, Sum, logsumexp_and_softmax
from .shape import BroadcastTo, Concatenate, GetItem, Pad, Reshape, Transpose
from .math import (
    Acos, Acosh, Asin, Asinh, Atan, Atan2, Atanh, Ceil, Cos, Cosh, Erf, Erfc, Exp2, Expm1, Floor,
    Fmod, GeluExact, LogAddExp, Log10, Log1p, Log2, Remainder, Round, Sign, Sin, Sinh, Tan, Trunc,
    erf_and_erfc,
)
from .scan import Cummax, Cumprod, Cumsum, LogCumSumExp, Prod, along, cummax_indices
from .index import Einsum, IndexAdd, IndexPut, IndexReduce

__all__ = [
    "ACTIVATIONS", "OPS", "Op", "add_tangents", "common_dtype", "promote", "result_dtype", "stable_sigmoid",
    "Abs", "Add", "Cast", "Clip", "Div", "Elu", "Exp", "Gelu", "LeakyRelu", "Log", "Maximum",
    "Minimum", "Mul", "Neg", "Pow", "Relu", "Sigmoid", "Softplus", "Sqrt", "Sub", "Tanh",
    "Where", "Linear", "MatMul", "LogSumExp", "Max", "SoftmaxCrossEntropy", "Sum",
    "logsumexp_and_softmax", "Conv", "ConvTranspose", "MaxPool", "Normalize", "Gru", "Lstm", "BroadcastTo",
    "Concatenate", "GetItem", "Pad", "Reshape", "Transpose",
    "Acos", "Acosh", "Asin", "Asinh", "Atan", "Atan2", "Atanh", "Ceil", "Cos", "Cosh", "Erf", "Erfc",
    "Exp2", "Expm1", "Floor", "Fmod", "GeluExact", "LogAddExp", "Log10", "Log1p", "Log2", "Remainder",
    "Round",
    "Sign", "Sin", "Sinh", "Tan", "Trunc", "erf_and_erfc",
    "Cummax", "Cumprod", "Cumsum", "LogCumSumExp", "Prod", "along", "cummax_indices",
    "Einsum", "IndexAdd", "IndexPut", "IndexReduce",
]
