"""Neural-network building blocks: modules, layers, activations, objectives, initialization.

>>> from chainrule import nn, Tensor
>>> net = nn.Sequential(nn.Linear(2, 4, rng=0), nn.Sigmoid(), nn.Linear(4, 1, rng=0))
>>> loss = nn.BCEWithLogitsLoss()(net(Tensor([[1.0, 2.0]])), [[1.0]])
>>> loss.backward()
>>> [p.grad.shape for p in net.parameters()]
[(4, 2), (4,), (1, 4), (1,)]
"""

from . import functional, init
from .activation import (
    ACTIVATIONS, ELU, GELU, HIDDEN_ACTIVATIONS, LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax,
    Softplus, Tanh, get_activation,
)
from .init import SymmetryWarning
from .conv import Conv1d, Conv2d
from .embedding import Embedding
from .layers import Dropout, Flatten, Identity, Linear
from .loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, MSELoss, NLLLoss, get_loss
from .module import Buffer, LoadResult, Module, ModuleList, Parameter, Sequential
from .normalization import BatchNorm1d, BatchNorm2d, LayerNorm, SyncBatchNorm
from .pooling import (
    AdaptiveAvgPool1d, AdaptiveAvgPool2d, AvgPool1d, AvgPool2d, MaxPool1d, MaxPool2d,
)
from .recurrent import GRU, LSTM, RNN

__all__ = [
    "functional", "init",
    "Module", "Parameter", "Buffer", "Sequential", "ModuleList", "LoadResult",
    "Linear", "Flatten", "Dropout", "Identity",
    "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "Softplus", "ELU", "GELU", "Softmax", "LogSoftmax",
    "get_activation", "ACTIVATIONS", "HIDDEN_ACTIVATIONS",
    "BCELoss", "BCEWithLogitsLoss", "MSELoss", "CrossEntropyLoss", "NLLLoss", "get_loss",
    "SymmetryWarning",
    "Conv1d", "Conv2d", "MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d",
    "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "BatchNorm1d", "BatchNorm2d", "LayerNorm", "SyncBatchNorm",
    "Embedding", "RNN", "LSTM", "GRU",
]
