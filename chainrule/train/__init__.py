"""The training loop: mini-batch gradient descent over a model, an objective and an optimizer
(notes §4 and 6), with validation, metrics, callbacks, a progress report and the
learning-rate range test.

:func:`fit` is the one loop: the command line, the models' own ``fit`` methods and the
scikit-learn estimators' stochastic solvers all run on it, configured through its arguments
(a sampler for the batch order, sample weights, callbacks) rather than loops of their own.
Optimizers and schedulers are asked what they need by protocol: ``optimizer.needs_closure``
(L-BFGS re-evaluates the loss), ``scheduler.needs_metric`` (ReduceLROnPlateau), and a loss's
``decision_threshold`` for accuracy.
"""

from ._callbacks import CSVLogger, Callback, EarlyStopping, History, LRSchedule, TrainState, mode_for
from ._loop import BUILTIN_METRICS, check_metrics, evaluate, fit, predict
from ._lr_find import LRFinderResult, lr_find

__all__ = ["History", "TrainState", "Callback", "EarlyStopping", "LRSchedule", "CSVLogger",
           "fit", "evaluate", "predict", "lr_find", "LRFinderResult", "BUILTIN_METRICS",
           "check_metrics", "mode_for"]
