"""Writing at integer-array indices, and einsum (issue 11). Reading at indices (gather,
index_select, take_along_dim, sort, topk, diagonal) is :class:`~chainrule.ops.shape.GetItem`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import get_backend, scatter_reduce
from ..errors import ShapeError
from .base import Op, add_tangents


class IndexAdd(Op):
    """x with ``src`` added at ``index`` (repeats add up): PyTorch's scatter_add and index_add;
    ∂/∂x = 1,  ∂/∂src = g[index].

    Rules:
        forward: out = x with src added at index
        vjp: x̄ = g;  s̄rc = g[index]
        jvp: t_x + t_src added at index
    """

    def forward(self, x, src, *, index):
        self.index, self.shape = index, x.shape
        out = x.astype(self.xp.result_type(x, src))  # a copy
        get_backend(out).scatter_add(out, index, src)
        return out

    def vjp(self, g):
        return g, (g[self.index] if self.needs_grad[1] else None)

    def jvp(self, tx, tsrc):
        if tsrc is None:
            return tx
        out = self.xp.zeros(self.shape, tsrc.dtype) if tx is None else tx.astype(tsrc.dtype)
        get_backend(out).scatter_add(out, self.index, tsrc)
        return out


class IndexPut(Op):
    """x with ``src`` written at ``index``: PyTorch's scatter (at repeated indices one write
    wins);  ∂/∂x = 1 outside the written places, 0 at them;  ∂/∂src = g[index] (as PyTorch).

    Rules:
        forward: out = x with src written at index
        vjp: x̄ = g with 0 at index;  s̄rc = g[index]
        jvp: t_x with t_src written at index
    """

    def forward(self, x, src, *, index):
        self.index, self.shape = index, x.shape
        out = x.astype(self.xp.result_type(x, src))  # a copy
        out[index] = src
        return out

    def vjp(self, g):
        nx, ns = self.needs_grad
        gx = None
        if nx:
            gx = g.copy()
            gx[self.index] = 0
        return gx, (g[self.index] if ns else None)

    def jvp(self, tx, tsrc):
        dtype = (tx if tx is not None else tsrc).dtype
        out = self.xp.zeros(self.shape, dtype) if tx is None else tx.copy()
        out[self.index] = 0 if tsrc is None else tsrc
        return out


_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


# NOTE: the spec's grammar in one place (ellipsis, broadcasting, implicit output): one pass
def _parse(spec: str, shapes: list) -> tuple[list[str], str, list]:
    """``"ij,jk->ik"`` as (["ij", "jk"], "ik", squeezed shapes). ``...`` becomes letters unused
    in ``spec``, right-aligned across operands; an ellipsis dim of length 1 against a longer one
    is squeezed out (NumPy broadcasts it). Without ``->`` the output is the ellipsis dims, then
    every letter that appears once, sorted (NumPy's and PyTorch's implicit mode)."""
    spec = spec.replace(" ", "")
    ins, arrow, out = spec.partition("->")
    subs = ins.split(",")
    if len(subs) != len(shapes):
        raise ShapeError(f"einsum: {spec!r} names {len(subs)} operands but {len(shapes)} were given")
    ranks = []
    for k, (sub, shape) in enumerate(zip(subs, shapes)):
        named = len(sub.replace("...", ""))
        if ("..." in sub and named > len(shape)) or ("..." not in sub and named != len(shape)):
            raise ShapeError(f"einsum: operand {k} has shape {tuple(shape)} but {sub!r} names "
                             f"{named} dims" + ("" if "..." in sub else " (use '...' for the rest)"))
        ranks.append(len(shape) - named if "..." in sub else 0)
    e = max(ranks, default=0)
    ell = "".join([c for c in _LETTERS if c not in spec][:e])
    dims = [tuple(shape[sub.find("..."):][:r]) for sub, shape, r in zip(subs, shapes, ranks)]
    try:
        full = np.broadcast_shapes(*dims)
    except ValueError:
        raise ShapeError(f"einsum: the '...' dims {dims} do not broadcast together") from None
    squeezed = [tuple(shape) for shape in shapes]
    for k, (sub, shape, r, d) in enumerate(zip(subs, shapes, ranks, dims)):
        if "..." in sub:
            i, keep = sub.index("..."), [j for j in range(r) if d[j] != 1 or full[e - r + j] == 1]
            subs[k] = sub[:i] + "".join(ell[e - r + j] for j in keep) + sub[i + 3:]
            squeezed[k] = tuple(shape[:i]) + tuple(d[j] for j in keep) + tuple(shape[i + r:])
    if arrow:
        out = out.replace("...", ell)
    else:
        letters = "".join(subs)
        out = ell + "".join(sorted(c for c in set(letters) - set(ell) if letters.count(c) == 1))
    return subs, out, squeezed


def _diagonal_embed(xp: Any, g: Any, sub: str, shape: tuple) -> Any:
    """The array of ``shape`` whose diagonal ``sub`` (a letter repeated, as in "bii") is ``g``
    (indexed by ``sub``'s distinct letters) and zero elsewhere: g times identity matrices."""
    uniq, full, eyes = "".join(dict.fromkeys(sub)), "", []
    fresh = iter(c for c in _LETTERS if c not in sub)
    for c in sub:
        if c in full:
            n = next(fresh)
            eyes.append((c + n, xp.eye(shape[sub.index(c)], dtype=g.dtype)))
            c = n
        full += c
    return xp.einsum(f"{','.join([uniq] + [e for e, _ in eyes])}->{full}", g, *[m for _, m in eyes])


class Einsum(Op):
    """``numpy.einsum(spec, *xs)`` with ``...`` and repeated letters (diagonals);  each operand's
    reverse rule is an einsum of the output cotangent with the other operands (broadcast over
    the axes only that operand sums, and put back on the diagonal where a letter repeats).

    Rules:
        forward: out = einsum(spec, x₁, x₂, …)
        vjp: x̄ᵢ = einsum of g with the other operands onto xᵢ's axes (diagonals put back)
        jvp: Σᵢ einsum(spec, …, tᵢ, …)
    """

    def forward(self, *xs, spec):
        self.subs, self.out, self.shapes = _parse(spec, [x.shape for x in xs])
        self.orig = [x.shape for x in xs]
        xs = [x.reshape(s) if x.shape != s else x for x, s in zip(xs, self.shapes)]
        self.save(*xs)
        return self.xp.einsum(f"{','.join(self.subs)}->{self.out}", *xs)

    def _grad(self, k, g):
        sub, xp = self.subs[k], self.xp
        uniq = "".join(dict.fromkeys(sub))
        others = [s for i, s in enumerate(self.subs) if i != k]
        seen = set(self.out).union(*others)
        kept = "".join(c for c in uniq if c in seen)
        ops = [g] + [x for i, x in enumerate(self.saved) if i != k]
        gk = xp.einsum(f"{','.join([self.out] + others)}->{kept}", *ops)
        size = dict(zip(sub, self.shapes[k]))
        if kept != uniq:  # letters summed only in this operand: broadcast back
            gk = xp.broadcast_to(gk.reshape([size[c] if c in seen else 1 for c in uniq]),
                                 [size[c] for c in uniq])
        if uniq != sub:  # a diagonal: its cotangent sits on the diagonal, zero elsewhere
            gk = _diagonal_embed(xp, gk, sub, self.shapes[k])
        return gk.reshape(self.orig[k])

    def vjp(self, g):
        return tuple(self._grad(k, g) if need else None for k, need in enumerate(self.needs_grad))

    def jvp(self, *ts):
        xp, out = self.xp, None
        for k, t in enumerate(ts):
            if t is not None:
                xs = [t.reshape(self.shapes[k]) if i == k else x for i, x in enumerate(self.saved)]
                out = add_tangents(out, xp.einsum(f"{','.join(self.subs)}->{self.out}", *xs))
        return out


_IDENTITY = {"amax": -np.inf, "amin": np.inf, "prod": 1}
_UFUNC = {"amax": "maximum", "amin": "minimum", "prod": "multiply"}


class IndexReduce(Op):
    """x with ``src`` reduced into it at ``index`` by "amax", "amin" or "prod" (PyTorch's
    scatter_reduce; without ``include_self`` the written places start from the identity).

    amax/amin: the tied extremes share the gradient equally (as PyTorch). prod: ∂/∂v is the
    product of the other factors of v's place, exact where some are 0. Both rules are saved
    as one derivative per input element, dx and dsrc: vjp (g·dx, g[index]·dsrc) and jvp
    t_x·dx + scatter-add of t_src·dsrc are then the same numbers.

    Rules:
        forward: out = x with src reduced in at index (amax, amin or prod)
        vjp: x̄ = g·dx;  s̄rc = g[index]·dsrc  (dx, dsrc the saved per-element derivatives)
        jvp: t_x·dx + t_src·dsrc added at index
    """

    def forward(self, x, src, *, index, reduce, include_self=True):
        xp = self.xp
        src = xp.broadcast_to(src, np.broadcast_shapes(*(i.shape for i in index))).astype(x.dtype)
        hit = xp.zeros(x.shape, bool)
        hit[index] = True
        own = ~hit | include_self  # where x is one of the reduced values
        out = xp.where(own, x, _IDENTITY[reduce]).astype(x.dtype)
        scatter_reduce(_UFUNC[reduce], out, index, src)
        if reduce == "prod":
            self.save(*self._prod_rules(x, src, own, index))
        else:
            mine, theirs = own & (x == out), src == out[index]
            n = mine.astype(x.dtype)
            get_backend(n).scatter_add(n, index, theirs.astype(x.dtype))
            self.save(mine / xp.maximum(n, 1), theirs / xp.maximum(n, 1)[index])
        self.index, self.shape = index, x.shape
        return out

    def _prod_rules(self, x, src, own, index):
        xp, add = self.xp, get_backend(x).scatter_add
        vx = xp.where(own, x, 1)
        zx, zs = vx == 0, src == 0
        zeros = zx.astype(np.int64)  # zero factors per place
        add(zeros, index, zs.astype(np.int64))
        nonzero = xp.where(zx, 1, vx)  # product of the non-zero factors per place
        scatter_reduce("multiply", nonzero, index, xp.where(zs, 1, src))

        def others(v, z, n0, p):
            with np.errstate(divide="ignore", invalid="ignore"):
                return xp.where(n0 == 0, p / xp.where(z, 1, v), xp.where(z & (n0 == 1), p, 0))

        return (xp.where(own, others(vx, zx, zeros, nonzero), 0),
                others(src, zs, zeros[index], nonzero[index]))

    def vjp(self, g):
        dx, dsrc = self.saved
        nx, ns = self.needs_grad
        return (g * dx if nx else None), (g[self.index] * dsrc if ns else None)

    def jvp(self, tx, tsrc):
        dx, dsrc = self.saved
        out = self.xp.zeros(self.shape, dx.dtype) if tx is None else tx * dx
        if tsrc is not None:
            get_backend(out).scatter_add(out, self.index, tsrc * dsrc)
        return out
