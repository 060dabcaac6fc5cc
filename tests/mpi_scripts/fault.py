"""A data-parallel fit in which rank 1 fails in epoch 2: ``raise`` (an uncaught error) or
``kill`` (SIGKILL, a rank that dies). Every rank must exit soon, none may finish."""

import os
import signal
import sys

import numpy as np

from chainrule import nn, optim
from chainrule.distributed import init
from chainrule.train import Callback, fit


class Fail(Callback):
    def __init__(self, world, mode):
        self.world, self.mode = world, mode

    def on_epoch_end(self, state):
        if self.world.rank == 1 and state.epoch == 2:
            if self.mode == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            raise RuntimeError("rank 1 failed on purpose")


world = init()
X = np.random.default_rng(0).standard_normal((64, 4)).astype(np.float32)
y = (X[:, 0] > 0).astype(np.int64)
model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), (X, y), epochs=1000,
    batch_size=16, progress=False, callbacks=[Fail(world, sys.argv[1])], distributed=world)
print("finished", world.rank, flush=True)
