"""The errors chainrule raises on bad input.

Every user-facing error is a :class:`ChainruleError`; its message names what was given,
what was expected, and where (the op, the layer, the argument). The subclasses also derive
from the matching built-in exception, so ``except ValueError`` keeps working for code that
expects NumPy-like behaviour.
"""

from __future__ import annotations


class ChainruleError(Exception):
    """Base class of every error chainrule raises on purpose."""


class ShapeError(ChainruleError, ValueError):
    """Array shapes that do not fit together (binary ops, matmul, layers, losses)."""


class DTypeError(ChainruleError, TypeError):
    """An unsupported dtype, or a gradient asked of an integer tensor."""


class AxisError(ChainruleError, IndexError):
    """An axis outside ``[-ndim, ndim)``."""


class GraphError(ChainruleError, RuntimeError):
    """Misuse of the computation graph: freed graphs, non-scalar backward without a gradient."""


class AnomalyError(ChainruleError, FloatingPointError):
    """A NaN or Inf produced inside :func:`chainrule.detect_anomaly`."""


class DataError(ChainruleError, ValueError):
    """Bad data: wrong lengths, NaN/Inf, labels out of range, empty data sets."""


class ConfigError(ChainruleError, ValueError):
    """An invalid hyperparameter or an unknown name (activation, loss, optimizer)."""


class StateError(ChainruleError, KeyError):
    """A state dict with missing, unexpected or mis-shaped entries."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it plain
        return str(self.args[0]) if self.args else ""


class FileFormatError(ChainruleError, ValueError):
    """A model or checkpoint file that is corrupt, truncated, tampered or of another format."""


class FileAccessError(ChainruleError, OSError):
    """A file or folder the operating system refused (permission, a file where a folder
    should be, a name too long, a full disk). It names the user's path, never a temporary
    file, and keeps ``errno``, ``strerror`` and ``filename`` so ``except OSError`` code works.

    >>> str(FileAccessError(13, "cannot write it (permission denied)", "/m.safetensors"))
    '/m.safetensors: cannot write it (permission denied)'
    """

    def __init__(self, errno: int | None, reason: str, path: str) -> None:
        super().__init__(errno, reason, path)

    def __str__(self) -> str:
        return f"{self.filename}: {self.strerror}"


class BackendUnavailable(ChainruleError, ImportError):
    """An array backend (CuPy) that is not installed, or a device array given to a part of
    chainrule that runs on NumPy only (data sets, gradient checks)."""


class BackendMismatch(ChainruleError, TypeError):
    """NumPy and CuPy arrays given to one op (move them to one backend with ``.to()``)."""


class UnsupportedLayerError(ChainruleError, TypeError):
    """A layer (or layer setting) that has no ONNX converter; the message names the layer."""


class MissingDependency(ChainruleError, ImportError):
    """An optional package (scikit-learn, safetensors, matplotlib, zarr, ...) is not installed."""


class DatasetNotFound(ChainruleError, FileNotFoundError):
    """The files of a data set are not where chainrule looked for them."""
