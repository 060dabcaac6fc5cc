"""What a playground page may choose, checked by the one validator (:mod:`chainrule.validate`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from .. import optim
from ..data import BUNDLED_DATASETS
from ..errors import ConfigError
from ..nn import HIDDEN_ACTIVATIONS
from ..validate import check_choice, check_number

#: The bundled sets with two features (the notes' red and blue points on a plane).
DATASETS = tuple(n for n in ("moons", "circles", "xor", "spirals", "blobs", "admissions")
                 if n in BUNDLED_DATASETS)
#: The name of the data a session uploaded.
UPLOAD = "upload"
#: optimizer name -> (class, extra keyword arguments); L-BFGS is left out: it takes whole
#: batches and a line search, so "one batch" would not mean one step.
OPTIMIZERS: dict[str, tuple[type, dict[str, Any]]] = {
    "sgd": (optim.SGD, {}), "momentum": (optim.SGD, {"momentum": 0.9}),
    "adam": (optim.Adam, {}), "rmsprop": (optim.RMSprop, {}), "adagrad": (optim.Adagrad, {}),
}
#: "cross_entropy": the head's own objective (log-loss); "quadratic": the notes' squared error
#: on the output probabilities (notes §3, objectives).
OBJECTIVES = ("cross_entropy", "quadratic")
#: Limits that keep one page's pictures readable and its training light.
MAX_HIDDEN_LAYERS = 6
MAX_UNITS = 16
MAX_BATCH = 1024


@dataclass
class Config:
    """One page's choices: data, network, objective, optimizer and regularization.

    >>> Config.from_json({"hidden": [3], "activation": "sigmoid"}).sizes(2, 1)
    [2, 3, 1]
    """

    dataset: str = "moons"
    test_fraction: float = 0.3
    hidden: list[int] = field(default_factory=lambda: [4, 4])
    activation: str = "tanh"
    objective: str = "cross_entropy"
    optimizer: str = "adam"
    lr: float = 0.03
    weight_decay: float = 0.0
    dropout: float = 0.0
    batch_size: int = 10
    seed: int = 0

    @classmethod
    def from_json(cls, raw: Any, base: Config | None = None) -> Config:
        """``base`` (default: the defaults) with the entries of the dict ``raw`` checked.

        Raises:
            ConfigError: an unknown key, or a value out of range, naming it.
        """
        where = "the playground's settings"
        if not isinstance(raw, dict):
            raise ConfigError(f"{where}: expected a JSON object; got {type(raw).__name__}")
        values = asdict(base or cls())
        unknown = sorted(set(raw) - set(values))
        if unknown:
            raise ConfigError(f"{where}: unknown setting(s) {', '.join(unknown)} (expected "
                              f"{', '.join(values)})")
        values.update(raw)
        hidden = values["hidden"]
        if not isinstance(hidden, list) or len(hidden) > MAX_HIDDEN_LAYERS:
            raise ConfigError(f"Invalid hidden layers: {hidden!r} (expected a list of at most "
                              f"{MAX_HIDDEN_LAYERS} layer sizes) in {where}")
        return cls(
            dataset=check_choice(values["dataset"], "dataset", where, (*DATASETS, UPLOAD)),
            test_fraction=float(check_number(values["test_fraction"], "test_fraction", where,
                                             low=0.1, high=0.9, label="test fraction")),
            hidden=[int(check_number(h, "hidden", where, low=1, high=MAX_UNITS, integer=True,
                                     label="units in a hidden layer")) for h in hidden],
            activation=check_choice(values["activation"], "activation", where,
                                    HIDDEN_ACTIVATIONS),
            objective=check_choice(values["objective"], "objective", where, OBJECTIVES),
            optimizer=check_choice(values["optimizer"], "optimizer", where, tuple(OPTIMIZERS)),
            lr=float(check_number(values["lr"], "lr", where, low=0, low_open=True, high=10,
                                  label="learning rate")),
            weight_decay=float(check_number(values["weight_decay"], "weight_decay", where, low=0,
                                            high=1, label="L2 regularization rate")),
            dropout=float(check_number(values["dropout"], "dropout", where, low=0, high=0.9,
                                       label="dropout")),
            batch_size=int(check_number(values["batch_size"], "batch_size", where, low=1,
                                        high=MAX_BATCH, integer=True, label="batch size")),
            seed=int(check_number(values["seed"], "seed", where, low=0, high=2**32 - 1,
                                  integer=True)),
        )

    def sizes(self, n_inputs: int, n_outputs: int) -> list[int]:
        """The MLP's layer sizes."""
        return [n_inputs, *self.hidden, n_outputs]

    def to_json(self) -> dict[str, Any]:
        """The settings as a JSON-able dict."""
        return asdict(self)


def options() -> dict[str, Any]:
    """What the page offers in its menus."""
    return {"datasets": [{"name": n, "about": BUNDLED_DATASETS[n][1]} for n in DATASETS],
            "activations": list(HIDDEN_ACTIVATIONS), "objectives": list(OBJECTIVES),
            "optimizers": list(OPTIMIZERS), "defaults": Config().to_json(),
            "limits": {"hidden_layers": MAX_HIDDEN_LAYERS, "units": MAX_UNITS,
                       "batch_size": MAX_BATCH}}
