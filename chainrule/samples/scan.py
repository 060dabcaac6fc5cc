"""Samples for products, scans, scatters and einsum (chainrule.ops.scan, chainrule.ops.index):
every axis, zeros in products, no ties in running maxima (their gradient jumps there)."""

from __future__ import annotations

import numpy as np

from chainrule import ops as P

from . import Case, apply
from .core import AXES

rng = np.random.default_rng(12)


def r(*shape: int) -> np.ndarray:
    return rng.standard_normal(shape)


def with_zeros(*shape: int, zeros: int = 1) -> np.ndarray:
    x = r(*shape)
    x.reshape(-1)[rng.choice(x.size, zeros, replace=False)] = 0.0
    return x


def scan(op, x=None):
    x = r(3, 4) if x is None else x
    return [Case(apply(op, axis=a), [x], id=f"axis={a}") for a in (0, 1, -1)]


IDX = (np.array([[0, 2, 2], [1, 0, 3]]), np.array([[0, 1, 1], [2, 2, 0]]))  # a repeat at (2, 1)

SAMPLES = {
    "Prod": [Case(apply(P.Prod, axis=ax, keepdims=kd), [r(2, 3, 4)], id=f"axis={ax},keepdims={kd}")
             for ax, kd in AXES]
    + [Case(apply(P.Prod, axis=1), [with_zeros(3, 4, zeros=z)], id=f"{z}-zeros") for z in (1, 2)]
    + [Case(apply(P.Prod, axis=None), [with_zeros(5)], id="flat-zero"),
       Case(apply(P.Prod, axis=0), [np.zeros((0, 3))], id="empty")],
    "Cumsum": scan(P.Cumsum),
    "Cumprod": scan(P.Cumprod) + scan(P.Cumprod, with_zeros(4, 5, zeros=3))[:2],
    "Cummax": scan(P.Cummax),
    "LogCumSumExp": scan(P.LogCumSumExp) + [
        Case(apply(P.LogCumSumExp, axis=0), [np.array([-50.0, 0.3, 40.0, -2.0])], id="spread")],
    "IndexAdd": [Case(apply(P.IndexAdd, index=IDX), [r(4, 3), r(2, 3)], id="repeats"),
                 Case(apply(P.IndexAdd, index=(np.array([2, 0]),)), [r(3, 2), r(2)], id="rows")],
    "IndexPut": [Case(apply(P.IndexPut, index=(np.array([[0, 2], [1, 0]]), np.array([[0, 1], [2, 3]]))),
                      [r(3, 4), r(2, 2)], id="distinct"),
                 Case(apply(P.IndexPut, index=(np.array([2, 0]),)), [r(3, 2), r(2)], id="rows")],
    "IndexReduce": [Case(apply(P.IndexReduce, index=IDX, reduce=red, include_self=inc),
                         [r(4, 3), r(2, 3) if red != "prod" else with_zeros(2, 3)],
                         id=f"{red},include_self={inc}")
                    for red in ("amax", "amin", "prod") for inc in (True, False)]
    + [Case(apply(P.IndexReduce, index=IDX, reduce="prod"), [with_zeros(4, 3, zeros=4), r(2, 3)],
            id="prod-zeros-in-x")],
    "Einsum": [Case(apply(P.Einsum, spec=s), [r(*a) for a in shapes], id=s)
               for s, shapes in [("ij,jk->ik", [(2, 3), (3, 4)]), ("ij->", [(2, 3)]),
                                 ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]), ("i,i", [(4,), (4,)]),
                                 ("i,j->ij", [(2,), (3,)]), ("ijk->ki", [(2, 3, 4)]),
                                 ("ij,k->i", [(2, 3), (4,)]), ("ij,jk,kl->il", [(2, 3), (3, 2), (2, 2)]),
                                 ("ii->i", [(3, 3)]), ("bii", [(2, 3, 3)]), ("ij,jj->i", [(2, 3), (3, 3)]),
                                 ("...ij,...jk", [(2, 2, 3), (1, 3, 2)]), ("ij...->ij", [(2, 3, 2)])]],
}
