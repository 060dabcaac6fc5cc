"""scikit-learn estimators over chainrule: :class:`MLPClassifier` and :class:`MLPRegressor`.

They take scikit-learn's ``MLPClassifier`` / ``MLPRegressor`` hyperparameters under the same
names and defaults, and follow its training semantics, so code written for one runs on the
other; underneath, the network is a :class:`chainrule.models.MLP` (``model_``), differentiated
by chainrule's engine and trained by :mod:`chainrule.optim` (Adam, SGD with momentum, L-BFGS).

What matches scikit-learn, and how:

- Outputs and objectives (notes §1 and 3), from the task heads of
  :mod:`chainrule.models.heads`: one logistic unit and binary cross-entropy for two classes
  (and one per label for multilabel indicator targets), softmax and cross-entropy for more
  classes, identity outputs and half the squared error for regression (``loss="poisson"``: exp
  outputs and half the Poisson deviance).
- ``alpha`` is an L2 penalty added to the loss as scikit-learn does, ``alpha / (2 n) · Σ‖W‖²``
  over the weight matrices only (not the biases), with ``n`` the number of samples in the
  mini-batch (the sum of their weights with ``sample_weight``); ``loss_`` includes it.
- Initialization is scikit-learn's (Glorot uniform, U(−b, b) with b = √(6 / (fan_in + fan_out)),
  √(2 / ...) for logistic units, biases from the same interval), so learning rates transfer.
- ``sgd`` and ``adam`` run epochs of mini-batches on :func:`chainrule.train.fit`
  (``batch_size="auto"`` is min(200, n));
  ``tol`` / ``n_iter_no_change`` stop on the training loss, or on the validation score with
  ``early_stopping`` (whose best weights are restored); ``learning_rate`` "invscaling" and
  "adaptive" schedule SGD's step. ``lbfgs`` is :class:`chainrule.optim.LBFGS` over the whole
  set with a strong-Wolfe line search (history 10 as in SciPy's L-BFGS-B, ``max_fun`` loss
  evaluations at most, ``tol`` on the largest gradient entry).
- A :class:`~sklearn.exceptions.ConvergenceWarning` when ``max_iter`` ends training before it
  converged.

With the same ``random_state`` the initial weights, shuffles, mini-batches and early-stopping
split are scikit-learn's, and SGD follows scikit-learn's MLP step for step (to rounding). Two
differences come from chainrule's optimizers, which use PyTorch's formulas: Adam adds ``epsilon``
to √v̂ rather than to √v (only matters when gradients are near ``epsilon``), and SGD momentum
with a changing step ("invscaling", "adaptive") scales the whole velocity by the current step,
where scikit-learn scales only the newest gradient. L-BFGS is chainrule's own, so its iterates
differ from SciPy's while stopping on the same ``tol`` and ftol.

Computation runs in the input's precision (float64, or float32 for float32 input). Sparse
input is accepted and densified. Validation and misuse errors come from scikit-learn's own
utilities, re-raised as :class:`chainrule.errors.DataError` (a ``ValueError``) with the same
message; invalid hyperparameters raise :class:`chainrule.errors.ConfigError` in ``fit``.

This package is the optional scikit-learn extra (``pip install 'chainrule[sklearn]'``);
``import chainrule`` does not import it, and importing it without scikit-learn raises
:class:`~chainrule.errors.MissingDependency` naming that command.

>>> from sklearn.datasets import load_iris
>>> X, y = load_iris(return_X_y=True)
>>> clf = MLPClassifier(hidden_layer_sizes=(16,), learning_rate_init=0.01, max_iter=1000,
...                     random_state=0).fit(X, y)
>>> clf.score(X, y) > 0.95
True
"""

from ..optional import require

require("sklearn", "sklearn", "chainrule.sklearn")

from ._estimators import MLPClassifier, MLPRegressor  # noqa: E402

__all__ = ["MLPClassifier", "MLPRegressor"]
