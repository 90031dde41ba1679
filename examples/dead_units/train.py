#!/usr/bin/python3
"""examples/dead_units/train.py — the dead-ReLU experiment of docs/guide.md §8.

Trains the guide's 16-64-64-4 MLP (fc1, fc2, head) twice on the same data,
with the same seed and the same learning rate on the high side (Adam,
lr = 1e-2, 1000 steps of 128 samples):

  relu   nn.ReLU() after fc1 and fc2
  leaky  nn.LeakyReLU(0.01) in the same places (no parameters: the same
         initial weights and the same mini-batches as relu)

and writes, next to this script:

  mlp_relu.safetensors, mlp_leaky.safetensors   the weights, PyTorch names
                                                (fc1.weight, fc1.bias, fc2.*, head.*), F32
  data.npy                                      the first 1024 training inputs, f32 [1024, 16]
  torch_y_relu.npy, torch_y_leaky.npy           PyTorch's f32 outputs on data.npy, f32 [1024, 4]

It prints the final training losses and, from PyTorch's own pre-activations
on data.npy, the units of each hidden layer that are <= 0 on every sample
(dead for relu; only "never positive" for leaky_relu, which still passes a
gradient of 0.01).  CPU, one thread, seeded: rerunning it rewrites the same
files up to PyTorch's summation order.  Needs python3-torch and
python3-numpy (Debian); run it with the system Python, /usr/bin/python3.
"""
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
VARIANTS = {"relu": lambda: nn.ReLU(), "leaky": lambda: nn.LeakyReLU(0.01)}


class MLP(nn.Module):
    """mlp_relu.act / mlp_leaky.act, layer for layer (same names)."""

    def __init__(self, act):
        super().__init__()
        self.fc1 = nn.Linear(16, 64)
        self.fc2 = nn.Linear(64, 64)
        self.head = nn.Linear(64, 4)
        self.act1, self.act2 = VARIANTS[act](), VARIANTS[act]()   # no parameters

    def forward(self, x):
        return self.head(self.act2(self.fc2(self.act1(self.fc1(x)))))

    def probe(self, x):
        """What probe_*.act returns: y and both pre-activations."""
        pre1 = self.fc1(x)
        pre2 = self.fc2(self.act1(pre1))
        return self.head(self.act2(pre2)), pre1, pre2


def save_safetensors(path, tensors):
    """The safetensors format by hand (no safetensors package needed):
    8-byte little-endian header length, JSON header, raw little-endian data."""
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        b = t.detach().contiguous().to(torch.float32).numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def train(act):
    torch.manual_seed(0)
    net = MLP(act)
    X = torch.randn(4096, 16)
    Y = torch.stack([X[:, :4].sum(1), (X[:, 4:8] ** 2).sum(1), torch.sin(X[:, 8]), X[:, 9] * X[:, 10]], 1)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    for step in range(1000):
        i = torch.randint(0, 4096, (128,))
        loss = F.mse_loss(net(X[i]), Y[i])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return net, X, Y, loss.item()


def main():
    torch.set_num_threads(1)
    data = None
    for act in VARIANTS:
        net, X, Y, last = train(act)
        with torch.no_grad():
            full = F.mse_loss(net(X), Y).item()
            x = X[:1024]
            y, pre1, pre2 = net.probe(x)
        if data is None:
            data = x.numpy().astype("<f4")
        assert np.array_equal(data, x.numpy()), "both variants must see the same data"
        save_safetensors(os.path.join(HERE, "mlp_%s.safetensors" % act), net.state_dict())
        np.save(os.path.join(HERE, "torch_y_%s.npy" % act), y.numpy().astype("<f4"))
        d1, d2 = int((pre1 <= 0).all(0).sum()), int((pre2 <= 0).all(0).sum())
        print("%s: final training loss %.4f (last batch), %.4f (all 4096 samples); "
              "units <= 0 on all 1024 samples of data.npy: fc1 %d of 64, fc2 %d of 64"
              % (act, last, full, d1, d2))
    np.save(os.path.join(HERE, "data.npy"), np.ascontiguousarray(data))


if __name__ == "__main__":
    sys.exit(main())
