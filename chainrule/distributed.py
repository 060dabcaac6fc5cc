"""Data-parallel training over MPI (mpi4py): every rank holds the whole model and a shard of
every batch; gradients are averaged by one allreduce per step, so every rank takes the same
optimizer step (notes §6: the gradient of a mean loss is the mean of the per-sample ones).

Launch with ``mpiexec -n 4 python train.py`` (or ``chainrule train ... --distributed``) and
pass ``distributed=init()`` to :func:`chainrule.train.fit`. What fit then does:

- rank 0's initial parameters, buffers and random-generator states are broadcast;
- global batch ``b`` of the order a single process would use (same ``rng``, ``shuffle`` or
  ``sampler``) is cut into ``size`` contiguous shards, rank r taking the r-th;
- after ``backward`` the gradients are packed into one contiguous buffer per dtype and summed by
  allreduce in buckets, each rank's weighted by its share of the batch (a mean loss), so N ranks
  on a global batch B compute the gradient one process computes on B;
- an ``nn.Dropout`` layer draws, for each sample, the mask a single process draws for that
  sample's position in the global batch (the generator is advanced past the other ranks' rows),
  so dropout runs equal single-process runs too; ``nn.SyncBatchNorm`` synchronizes the batch
  statistics (other BatchNorm layers use their rank's shard);
- the logs (loss, accuracy, val_*) are reduced over ranks; only rank 0 prints, shows progress
  and runs callbacks that write files (those with ``root_only = True``, e.g.
  :class:`chainrule.io.Checkpoint`);
- a rank that leaves fit by an error makes every rank exit (MPI_Abort) instead of hanging.

Without MPI (no launcher, or mpi4py absent and not launched) :func:`init` returns a world of
size 1, and the same script runs unchanged.
"""

from __future__ import annotations

import atexit
import math
import os
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

import numpy as np

from . import random as crandom
from .backend import array_module, is_device, to_host
from .data import Dataset, Subset, TensorDataset, check_Xy
from .errors import ConfigError, DataError
from .nn import Dropout, SyncBatchNorm
from .optional import require
from .tensor import Tensor, to_array
from .validate import check_number

__all__ = ["Distributed", "init", "Shard", "ShardSampler"]

#: Environment variables a launcher sets (MPICH/hydra, Open MPI, PMIx, Slurm's srun).
LAUNCHER_VARS = ("PMI_SIZE", "PMI_RANK", "OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS")
_WORLD: dict[int, Distributed] = {}


def init(comm: Any = None, bucket_bytes: int = 16 * 2**20) -> Distributed:
    """The MPI world this process belongs to (a size-1 world when not launched by MPI).

    Args:
        comm: an mpi4py communicator (default: ``MPI.COMM_WORLD`` when a launcher started this
            process, else none: a world of one rank without importing mpi4py).
        bucket_bytes: the largest single allreduce of gradients; bigger models are sent in
            several buckets, each started as soon as it is packed.

    Raises:
        MissingDependency: launched by MPI (or ``comm`` given) but mpi4py is not installed.

    >>> world = init()  # a plain ``python`` process: one rank
    >>> world.rank, world.size, world.is_root
    (0, 1, True)
    """
    if comm is not None:
        return Distributed(comm, bucket_bytes)
    if _WORLD.get(bucket_bytes) is None:  # one world per process: init() may be called again
        if any(v in os.environ for v in LAUNCHER_VARS):
            comm = require("mpi4py.MPI", "distributed",
                           "data-parallel training over MPI").COMM_WORLD
        _WORLD[bucket_bytes] = Distributed(comm, bucket_bytes)
    return _WORLD[bucket_bytes]


class Shard(NamedTuple):
    """This rank's part of one global batch: ``indices`` are the samples at positions
    ``start:stop`` of a batch of ``total`` samples."""

    indices: np.ndarray
    start: int
    stop: int
    total: int


class ShardSampler:
    """Each epoch, the global batches of a single process cut into per-rank shards.

    The global order is what :class:`chainrule.data.DataLoader` uses: a fresh
    ``rng.permutation(n)`` per epoch with ``shuffle``, ``order``'s indices when given (iterated
    once per epoch, e.g. a ReshuffleSampler), else 0..n−1. Batch ``b`` is positions
    ``b·B : (b+1)·B``; rank r takes the r-th of ``size`` contiguous near-equal parts
    (``numpy.array_split``'s sizes), so ranks draw the same permutation and no sample is lost
    or doubled.

    Raises:
        ConfigError: a global batch that would leave a rank without samples (fewer samples than
            ranks in a batch): every rank must take part in every step.

    >>> s = ShardSampler(10, 4, rank=1, size=2)
    >>> [(sh.indices.tolist(), sh.start, sh.total) for sh in s]
    [([2, 3], 2, 4), ([6, 7], 2, 4), ([9], 1, 2)]
    """

    def __init__(self, n: int, batch_size: int, rank: int = 0, size: int = 1, *,
                 shuffle: bool = False, rng: Any = None, order: Any = None,
                 drop_last: bool = False) -> None:
        where = "ShardSampler"
        self.n = check_number(n, "n", where, low=1, integer=True)
        self.batch_size = check_number(batch_size, "batch_size", where, low=1, integer=True)
        self.rank, self.size = int(rank), int(size)
        self.shuffle, self.order, self.drop_last = bool(shuffle), order, bool(drop_last)
        self.rng = None if rng is None else crandom.get_rng(rng)
        total = self.n if order is None else len(order)
        last = total % self.batch_size
        small = [b for b in ([self.batch_size] + ([last] if last and not drop_last else []))
                 if b < self.size]
        if small:
            raise ConfigError(
                f"Invalid batch_size: {self.batch_size} (expected every global batch to hold at "
                f"least {self.size} samples, one per rank; {total} samples leave a batch of "
                f"{small[0]}) in distributed training: pick a batch size B >= {self.size} with "
                f"n % B == 0 or n % B >= {self.size}, or use fewer ranks")

    def __len__(self) -> int:
        total = self.n if self.order is None else len(self.order)
        return total // self.batch_size if self.drop_last else -(-total // self.batch_size)

    def global_order(self) -> np.ndarray:
        """This epoch's order of all samples (draws from the generator: once per epoch)."""
        if self.order is not None:
            return np.fromiter(self.order, dtype=np.int64, count=len(self.order))
        if self.shuffle:
            return crandom.get_rng(self.rng).permutation(self.n)
        return np.arange(self.n)

    def __iter__(self) -> Iterator[Shard]:
        order, bs = self.global_order(), self.batch_size
        for b in range(len(self)):
            batch = order[b * bs:(b + 1) * bs]
            k, extra = divmod(len(batch), self.size)
            start = self.rank * k + min(self.rank, extra)
            stop = start + k + (self.rank < extra)
            yield Shard(batch[start:stop], start, stop, len(batch))


class _ShardLoader:
    """Batches of this rank's shards (a loader for fit); ``current`` is the shard in use."""

    def __init__(self, dataset: Dataset, sampler: Iterable[Shard], world: Distributed,
                 global_rng: bool, mean: bool = True) -> None:
        self.dataset, self.sampler, self.world = dataset, sampler, world
        self.global_rng, self.mean = global_rng, mean
        self.current: Shard | None = None
        self.seen = 0

    def __len__(self) -> int:
        return len(self.sampler)  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[tuple[Tensor, ...]]:
        if self.global_rng:  # the order comes from the global generator: start every epoch equal
            self.world.broadcast_rng()
        self.seen = 0
        for shard in self.sampler:
            self.current = shard
            self.seen += len(shard.indices)
            if shard.total:  # a mean loss: this rank's part of the batch's mean
                self.world.grad_weight = (shard.stop - shard.start) / shard.total \
                    if self.mean else 1.0
            arrays = Subset(self.dataset, shard.indices).get_batch(slice(None))
            yield tuple(Tensor._make(to_array(a)) for a in arrays)
        self.current = None
        self.world.grad_weight = 1.0


class _ReducingOptimizer:
    """The optimizer of a data-parallel fit: before each step, this rank's gradients (weighted
    by its share of the batch) are summed over ranks; the step itself is the wrapped one's."""

    def __init__(self, optimizer: Any, world: Distributed) -> None:
        self.optimizer, self.world = optimizer, world
        self.needs_closure = getattr(optimizer, "needs_closure", False)
        self.param_groups = optimizer.param_groups

    def _params(self) -> list[Any]:
        return [p for g in self.param_groups for p in g["params"]]

    def step(self, closure: Any = None) -> Any:
        w = self.world.grad_weight
        if closure is None:
            self.world.allreduce_gradients(self._params(), w)
            return self.optimizer.step()

        def reduced() -> Any:  # L-BFGS re-evaluates: each evaluation is a global one
            loss = closure()
            self.world.allreduce_gradients(self._params(), w)
            return Tensor(self.world.allreduce(np.array([float(loss.item()) * w]))[0])
        return self.optimizer.step(reduced)

    def zero_grad(self, *args: Any, **kwargs: Any) -> None:
        self.optimizer.zero_grad(*args, **kwargs)

    def state_dict(self) -> Any:
        return self.optimizer.state_dict()

    def load_state_dict(self, state: Any) -> None:
        self.optimizer.load_state_dict(state)


class _Coordinator:
    """fit's first callback in a data-parallel run: reduces the logs over ranks, runs the
    root-only callbacks on rank 0 alone, and undoes the Dropout row alignment at the end."""

    def __init__(self, world: Distributed, loader: _ShardLoader, val: _ShardLoader | None,
                 callbacks: list[Any], dropouts: list[Any]) -> None:
        self.world, self.loader, self.val = world, loader, val
        self.callbacks, self.dropouts = callbacks, dropouts

    def on_train_begin(self, state: Any) -> None:
        for cb in self.callbacks:
            cb.on_train_begin(state)

    def on_epoch_begin(self, state: Any) -> None:
        self._each("on_epoch_begin", state)

    def on_batch_begin(self, state: Any) -> None:
        self._each("on_batch_begin", state)

    def on_batch_end(self, state: Any) -> None:
        self._each("on_batch_end", state)

    def after_epoch(self, state: Any) -> None:
        self._each("after_epoch", state)

    def _each(self, hook: str, state: Any) -> None:
        """The hook of every wrapped callback that has it (a user's may predate it)."""
        for cb in self.callbacks:
            f = getattr(cb, hook, None)
            if f is not None:
                f(state)

    def on_epoch_end(self, state: Any) -> None:
        n_val = 0 if self.val is None else self.val.seen
        reduced = self.world.reduce_metrics(state.logs, self.loader.seen, n_val)
        state.logs.update(reduced)
        last = state.history.epochs[-1] if state.history.epochs else None
        if last is not None and last.get("epoch") == state.logs.get("epoch"):
            last.update(reduced)  # the history already kept a copy of this rank's logs
        for cb in self.callbacks:
            cb.on_epoch_end(state)

    def on_train_end(self, state: Any) -> None:
        for m in self.dropouts:
            vars(m).pop("forward", None)
        for cb in self.callbacks:
            cb.on_train_end(state)
        self.world.active = False


def _advance(bitgen: Any, steps: int) -> None:
    """Advance ``bitgen`` by ``steps`` 64-bit draws, keeping its buffered 32-bit half (which
    ``advance`` would drop, and the next bounded-integer draw, a permutation, would use)."""
    if steps:
        state = bitgen.state
        bitgen.advance(steps)
        moved = bitgen.state
        moved["has_uint32"], moved["uinteger"] = state["has_uint32"], state["uinteger"]
        bitgen.state = moved


class Distributed:
    """One rank of an MPI world (``comm``; None: a world of one process).

    Built by :func:`init`. The methods are collective: every rank calls them in the same order.

    Attributes:
        rank, size: this process's rank and the number of ranks; ``is_root`` is rank 0.
        comm_seconds, comm_bytes, allreduces: time spent in gradient allreduces, bytes sent
            into them and how many (for benchmarks; reset them freely).

    >>> Distributed().allreduce(np.array([1.5]))  # one rank: the sum is the value
    array([1.5])
    """

    def __init__(self, comm: Any = None, bucket_bytes: int = 16 * 2**20) -> None:
        self.comm = comm
        self.rank = 0 if comm is None else comm.Get_rank()
        self.size = 1 if comm is None else comm.Get_size()
        self.bucket_bytes = check_number(bucket_bytes, "bucket_bytes", "Distributed", low=1,
                                         integer=True)
        self.comm_seconds, self.comm_bytes, self.allreduces = 0.0, 0, 0
        self.active = False  # inside a data-parallel fit (an exit now must abort the world)
        #: this rank's weight in the global loss for the batch in hand (its share of a mean)
        self.grad_weight = 1.0
        self._buffers: dict[Any, np.ndarray] = {}
        if self.size > 1:
            atexit.register(self._exit_guard)

    @property
    def is_root(self) -> bool:
        return self.rank == 0

    def __repr__(self) -> str:
        return f"Distributed(rank={self.rank}, size={self.size})"

    @property
    def _MPI(self) -> Any:
        return require("mpi4py.MPI", "distributed", "data-parallel training over MPI")

    # --- collectives ----------------------------------------------------------------------

    def barrier(self) -> None:
        """Wait until every rank is here."""
        if self.size > 1:
            self.comm.Barrier()

    def allreduce(self, array: Any, op: str = "sum") -> np.ndarray:
        """The element-wise sum (or ``"max"``) of ``array`` over ranks, as a new host array
        (the protocol :class:`chainrule.nn.SyncBatchNorm` asks of its process group)."""
        out = np.array(to_host(array), copy=True)
        if self.size > 1:
            MPI = self._MPI
            self.comm.Allreduce(MPI.IN_PLACE, out, op=MPI.MAX if op == "max" else MPI.SUM)
        return out

    def broadcast_rng(self) -> None:
        """Give every rank rank 0's global generator state (:mod:`chainrule.random`)."""
        if self.size > 1:
            crandom.set_state(self.comm.bcast(crandom.get_state(), root=0))

    def broadcast_parameters(self, model: Any) -> None:
        """Copy rank 0's parameters, buffers and module generators (Dropout's) to every rank,
        one contiguous message per dtype; the global generator too."""
        if self.size == 1:
            return
        tensors = [t for _, t in model.named_parameters()] + [t for _, t in model.named_buffers()]
        for dtype in sorted({t.data.dtype.str for t in tensors}):
            group = [t for t in tensors if t.data.dtype.str == dtype]
            buf = np.concatenate([to_host(t.data).reshape(-1) for t in group])
            self.comm.Bcast(buf, root=0)
            offset = 0
            for t in group:
                part = buf[offset:offset + t.data.size].reshape(t.data.shape)
                t.data[...] = part if not is_device(t.data) else array_module(t.data).asarray(part)
                offset += t.data.size
        gens = {name: g for name, m in model.named_modules() for name, g in
                ((f"{name}.{a}", v) for a, v in vars(m).items())
                if isinstance(g, np.random.Generator)}
        states = self.comm.bcast({k: g.bit_generator.state for k, g in gens.items()}, root=0)
        for k, g in gens.items():
            g.bit_generator.state = states[k]
        self.broadcast_rng()

    def allreduce_gradients(self, params: Iterable[Any], weight: float = 1.0) -> None:
        """``p.grad ← Σ_ranks weight·p.grad`` for every trainable parameter, through one
        contiguous buffer per dtype sent in buckets of at most ``bucket_bytes`` (each started,
        non-blocking, as soon as it is packed). A gradient that is None on every rank stays
        None (a count per parameter travels in the same buffer)."""
        params = [p for p in params if p.requires_grad]
        if self.size == 1:
            if weight != 1.0:
                for p in params:
                    if p.grad is not None:
                        p.grad = p.grad * weight
            return
        for dtype in sorted({p.data.dtype.str for p in params}):
            self._reduce_group([p for p in params if p.data.dtype.str == dtype], weight)

    def _reduce_group(self, params: list[Any], weight: float) -> None:
        MPI = self._MPI
        sizes = [p.data.size for p in params]
        total = sum(sizes) + len(params)
        key = (params[0].data.dtype.str, total)
        buf = self._buffers.get(key)
        if buf is None:
            buf = self._buffers[key] = np.empty(total, params[0].data.dtype)
        bucket = max(1, self.bucket_bytes // buf.itemsize)
        start = time.perf_counter()
        requests, sent, offset = [], 0, 0
        for p, n in zip(params, sizes):
            if p.grad is None:
                buf[offset:offset + n] = 0
            else:
                np.multiply(to_host(p.grad).reshape(-1), weight, out=buf[offset:offset + n])
            offset += n
            while offset - sent >= bucket:  # a full bucket leaves while the next is packed
                requests.append(self.comm.Iallreduce(MPI.IN_PLACE, buf[sent:sent + bucket]))
                sent += bucket
        buf[offset:] = [p.grad is not None for p in params]
        requests.append(self.comm.Iallreduce(MPI.IN_PLACE, buf[sent:]))
        MPI.Request.Waitall(requests)
        self.comm_seconds += time.perf_counter() - start
        self.comm_bytes += buf.nbytes
        self.allreduces += len(requests)
        offset = 0
        for j, (p, n) in enumerate(zip(params, sizes)):
            if buf[total - len(params) + j] > 0:
                g = buf[offset:offset + n].reshape(p.data.shape).copy()
                p.grad = g if not is_device(p.data) else array_module(p.data).asarray(g)
            offset += n

    def reduce_metrics(self, logs: dict[str, float], n_train: int, n_val: int = 0) -> dict[str, float]:
        """The logs of the whole world: ``val_*`` means weighted by this rank's validation
        samples, other means by its training samples, ``seconds`` the slowest rank's;
        ``epoch`` and ``lr`` (equal on every rank) as they are."""
        keys = [k for k in logs if k not in ("epoch", "lr", "seconds")]
        if self.size == 1:
            return dict(logs)
        weights = [n_val if k.startswith("val_") else n_train for k in keys]
        sums = self.allreduce(np.array([logs[k] * w for k, w in zip(keys, weights)]
                                       + [n_train, n_val], dtype=np.float64))
        out = dict(logs)
        for j, k in enumerate(keys):
            count = sums[-1] if k.startswith("val_") else sums[-2]
            out[k] = float(sums[j] / count) if count else logs[k]
        if "seconds" in logs:
            out["seconds"] = float(self.allreduce(np.array([logs["seconds"]]), op="max")[0])
        return out

    # --- faults ---------------------------------------------------------------------------

    def abort(self, message: str, code: int = 1) -> None:
        """Print ``message`` (with this rank) to stderr and end every rank of the world."""
        print(f"chainrule.distributed: rank {self.rank} of {self.size}: {message}",
              file=sys.stderr, flush=True)
        if self.size > 1:
            # NOTE: the launcher forwards output asynchronously and drops what it has not yet
            # forwarded when Abort tears the job down: give it a moment to pass the error on
            time.sleep(0.5)
            self.comm.Abort(code)
        os._exit(code)  # NOTE: MPI_Abort may return before the launcher kills this process

    @contextmanager
    def abort_on_error(self) -> Iterator[Distributed]:
        """Turn any error inside the block on one rank into the end of every rank: the others
        would otherwise wait for it in their next allreduce forever."""
        try:
            yield self
        except BaseException as exc:
            if self.size > 1:
                self.abort(f"{type(exc).__name__}: {exc}; aborting all ranks")
            raise

    def _exit_guard(self) -> None:
        if self.active:  # left fit by an error (already printed above): nobody may wait for us
            self.abort("exited during a data-parallel fit (see the error above); aborting "
                       "all ranks")

    # --- fit ------------------------------------------------------------------------------

    def _loader(self, data: Any, batch_size: int, shuffle: bool, rng: Any, sampler: Any,
                evaluation: bool, mean: bool = True) -> _ShardLoader:
        if isinstance(data, (tuple, list)) and len(data) in (2, 3):
            X, y = check_Xy(*data[:2])
            dataset: Any = TensorDataset(X, y, *data[2:])
            drop_last = False
        elif hasattr(data, "dataset") and hasattr(data, "batch_size"):  # a DataLoader
            dataset, batch_size, drop_last = data.dataset, data.batch_size, data.drop_last
            shuffle, rng, sampler = data.shuffle, data.rng, data.sampler
        else:
            raise DataError("distributed fit needs (X, y[, sample_weight]) arrays or a DataLoader "
                            f"to shard; got {type(data).__name__}")
        if evaluation:  # each rank evaluates a contiguous part; the logs are reduced
            part = np.array_split(np.arange(len(dataset)), self.size)[self.rank]
            shards = [Shard(part[i:i + 1024], 0, 0, 0) for i in range(0, len(part), 1024)]
            return _ShardLoader(dataset, shards, self, False)
        shard_sampler = ShardSampler(len(dataset), batch_size, self.rank, self.size,
                                     shuffle=shuffle and sampler is None, rng=rng, order=sampler,
                                     drop_last=drop_last)
        uses_global = sampler is None and shuffle and rng is None
        return _ShardLoader(dataset, shard_sampler, self, uses_global, mean)

    def _align_dropout(self, model: Any, loader: _ShardLoader) -> list[Any]:
        """Make each ``nn.Dropout`` draw the rows of the global batch's mask that belong to
        this rank: advance its generator past the rows before and after them (a float64
        uniform draw takes one 64-bit step per element of PCG64, NumPy's default)."""
        layers = [m for m in model.modules() if isinstance(m, Dropout)]

        def aligned(m: Any) -> Any:
            def forward(x: Any) -> Any:
                shard = loader.current
                gen = m.rng if m.rng is not None else crandom.get_rng(None)
                bitgen = gen.bit_generator
                if (not m.training or m.p in (0.0, 1.0) or shard is None
                        or not hasattr(bitgen, "advance") or x.shape[0] != shard.stop - shard.start):
                    return type(m).forward(m, x)
                row = math.prod(x.shape[1:])
                _advance(bitgen, shard.start * row)
                y = type(m).forward(m, x)
                _advance(bitgen, (shard.total - shard.stop) * row)
                return y
            return forward

        for m in layers:
            m.forward = aligned(m)
        return layers

    # NOTE: one list of what a data-parallel fit changes, so train.py needs one call
    def configure(self, model: Any, optimizer: Any, loss_fn: Any, train: Any, val: Any, *,
                  batch_size: int, shuffle: bool, rng: Any, sampler: Any, callbacks: Iterable[Any],
                  progress: bool | None, verbose: bool) -> tuple[Any, ...]:
        """What :func:`chainrule.train.fit` trains with on this rank: ``(train, val,
        optimizer, callbacks, progress, verbose)`` — loaders of this rank's shards, an
        optimizer that first sums the gradients over ranks, a first callback that reduces the
        logs, and progress and printing on rank 0 only. Broadcasts rank 0's model first."""
        syncs = [m for m in model.modules() if isinstance(m, SyncBatchNorm)]
        for m in syncs:
            if m.process_group is None:
                m.process_group = self
        self.broadcast_parameters(model)
        mean = getattr(loss_fn, "reduction", "mean") not in ("sum", "half_sum")
        loader = self._loader(train, batch_size, shuffle, rng, sampler, False, mean)
        val_loader = None if val is None else self._loader(val, 1024, False, None, None, True)
        callbacks = [cb for cb in callbacks if self.is_root or not getattr(cb, "root_only", False)]
        dropouts = self._align_dropout(model, loader) if self.size > 1 else []
        coordinator = _Coordinator(self, loader, val_loader, callbacks, dropouts)
        self.active = self.size > 1
        return (loader, val_loader, _ReducingOptimizer(optimizer, self),
                [coordinator], progress if self.is_root else False, verbose and self.is_root)
