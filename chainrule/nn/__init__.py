"""Neural-network building blocks: modules, layers, activations, objectives, initialization.

>>> from chainrule import nn, Tensor
>>> net = nn.Sequential(nn.Linear(2, 4, rng=0), nn.Sigmoid(), nn.Linear(4, 1, rng=0))
>>> loss = nn.BCEWithLogitsLoss()(net(Tensor([[1.0, 2.0]])), [[1.0]])
>>> loss.backward()
>>> [p.grad.shape for p in net.parameters()]
[(4, 2), (4,), (1, 4), (1,)]
"""

from . import functional, init, utils
from .activation import (
    ACTIVATIONS, CELU, ELU, GELU, HIDDEN_ACTIVATIONS, SELU, Hardsigmoid, Hardswish, Identity,
    LeakyReLU, LogSigmoid, LogSoftmax, Mish, PReLU, ReLU, Sigmoid, SiLU, Softmax, Softmin,
    Softplus, Softsign, Tanh, get_activation,
)
from .init import SymmetryWarning
from .conv import Conv1d, Conv2d
from .embedding import Embedding
from .layers import Dropout, Dropout1d, Dropout2d, Flatten, Linear, Unflatten
from .loss import (
    BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, KLDivLoss, L1Loss, MSELoss, NLLLoss,
    SmoothL1Loss, get_loss,
)
from .container import ModuleDict, ModuleList, Sequential
from .module import Buffer, LoadResult, Module, Parameter
from .normalization import (
    BatchNorm1d, BatchNorm2d, GroupNorm, InstanceNorm1d, InstanceNorm2d, LayerNorm, SyncBatchNorm,
)
from .pooling import (
    AdaptiveAvgPool1d, AdaptiveAvgPool2d, AvgPool1d, AvgPool2d, MaxPool1d, MaxPool2d,
)
from .recurrent import GRU, LSTM, RNN
# issue 12 (layers, part B): transposed and 3-D convolutions, pooling, resizing, attention
from .attention import MultiheadAttention, TransformerEncoderLayer
from .conv import Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from .pooling import AvgPool3d, MaxPool3d, MaxUnpool1d, MaxUnpool2d, MaxUnpool3d
from .upsample import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d

from .hooks import RemovableHandle
from .summary import SummaryRow, summary

__all__ = [
    "functional", "init", "utils",
    "Module", "Parameter", "Buffer", "Sequential", "ModuleList", "ModuleDict", "LoadResult",
    "Linear", "Flatten", "Unflatten", "Dropout", "Dropout1d", "Dropout2d", "Identity",
    "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "Softplus", "ELU", "GELU", "Softmax", "LogSoftmax",
    "SiLU", "Mish", "Hardswish", "Hardsigmoid", "SELU", "CELU", "PReLU", "LogSigmoid",
    "Softsign", "Softmin",
    "get_activation", "ACTIVATIONS", "HIDDEN_ACTIVATIONS",
    "BCELoss", "BCEWithLogitsLoss", "MSELoss", "CrossEntropyLoss", "NLLLoss", "L1Loss",
    "HuberLoss", "SmoothL1Loss", "KLDivLoss", "get_loss",
    "SymmetryWarning",
    "Conv1d", "Conv2d", "MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d",
    "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "BatchNorm1d", "BatchNorm2d", "LayerNorm",
    "GroupNorm", "InstanceNorm1d", "InstanceNorm2d", "SyncBatchNorm",
    "Embedding", "RNN", "LSTM", "GRU", "summary", "SummaryRow", "RemovableHandle",
    # issue 12 (layers, part B)
    "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d", "MaxPool3d", "AvgPool3d",
    "MaxUnpool1d", "MaxUnpool2d", "MaxUnpool3d", "Upsample", "UpsamplingNearest2d",
    "UpsamplingBilinear2d", "MultiheadAttention", "TransformerEncoderLayer",
]
