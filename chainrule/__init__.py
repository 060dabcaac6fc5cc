"""chainrule: neural networks from the lecture notes, on NumPy.

Backpropagation is reverse-mode automatic differentiation over a computation graph,
checked against forward mode (dual numbers) and finite differences.
"""

from . import data, functional, io, metrics, models, nn, onnx, ops, optim, random, train, viz
from .autograd import (
    backward, detect_anomaly, enable_grad, grad, inference_mode, is_grad_enabled, no_grad,
    value_and_grad, vjp,
)
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
    "jacobian", "hessian", "hvp", "cat",
    "zeros", "ones", "full", "arange", "linspace", "eye", "rand", "randn", "randint",
    "zeros_like", "ones_like", "full_like", "rand_like", "randn_like", "randint_like",
    "from_numpy",
    "check_grad", "numerical_grad", "GradcheckError",
    "softmax", "log_softmax", "logsumexp", "one_hot", "concatenate", "stack", "where",
    "maximum", "minimum",
    "ChainruleError", "ShapeError", "DTypeError", "AxisError", "GraphError", "AnomalyError",
    "DataError", "ConfigError", "StateError", "FileFormatError", "FileAccessError", "BackendMismatch",
    "BackendUnavailable",
    "MissingDependency", "DatasetNotFound", "data", "nn", "optim",
    "io", "metrics", "models", "onnx", "train", "viz", "save", "load",
]
