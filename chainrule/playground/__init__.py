"""The playground: a local web page that trains a chainrule network live (``chainrule
playground``).

Choose the data (the bundled 2-D sets, the admissions data, or an uploaded CSV of two
features and a label), the network, objective, optimizer, learning rate, regularization and
batch size; play, pause, step one batch, reset. The page shows, at most ten times a second,
the decision boundary with the points (class 0 red, class 1 blue, as the notes draw them),
the training and test loss curves, each hidden unit's picture, the weights as line thickness,
one backpropagation step's formulas with the numbers (:func:`chainrule.explain.backprop_trace`),
and exports the model file and a script that rebuilds and trains the same network.

The server (Starlette and uvicorn, the ``playground`` extra) trains in its own process with
:func:`chainrule.train.fit`, one session per browser tab, and streams frames as server-sent
events; closing a tab pauses its training.
"""

from ._app import Sessions, create_app
from ._config import DATASETS, Config, options
from ._data import MAX_CLASSES, MAX_ROWS, MAX_UPLOAD_BYTES, Points
from ._export import formulas, model_file, script
from ._server import running, serve
from ._session import Session

__all__ = ["serve", "running", "create_app", "Sessions", "Session", "Config", "Points",
           "DATASETS", "options", "formulas", "model_file", "script", "MAX_UPLOAD_BYTES",
           "MAX_ROWS", "MAX_CLASSES"]
