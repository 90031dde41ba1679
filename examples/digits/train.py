#!/usr/bin/python3
"""examples/digits/train.py — train the digits classifier of digits.act.

Trains a small MLP (a SwiGLU layer, a GELU layer and a linear head) with
PyTorch on scikit-learn's handwritten-digits data set (load_digits: 1797
8x8 images, shipped with python3-sklearn, no network), and writes, next to
this script:

  digits.safetensors  the trained weights, with the module's state_dict names
  test_x.npy          the held-out split, f32 [N, 64], pixels / 16
  test_y.npy          its labels, int64 [N]
  torch_logits.npy    PyTorch's f32 logits on the held-out split, f32 [N, 10]
  torch_pred.npy      PyTorch's predictions (argmax), int64 [N]

so that `make demo` needs no Python.  Seeded: rerunning it rewrites the same
model up to PyTorch's run-to-run summation order.  Needs python3-torch and
python3-sklearn (Debian), run with the system Python: /usr/bin/python3.
"""
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

HERE = os.path.dirname(os.path.abspath(__file__))


class Digits(nn.Module):
    """The model of digits.act, layer for layer (same names)."""

    def __init__(self):
        super().__init__()
        self.gate_proj = nn.Linear(64, 96)
        self.up_proj = nn.Linear(64, 96)
        self.fc2 = nn.Linear(96, 64)
        self.head = nn.Linear(64, 10)

    def forward(self, x):
        h = F.silu(self.gate_proj(x)) * self.up_proj(x)   # swiglu
        h = F.gelu(self.fc2(h))
        return self.head(h)


def save_safetensors(path, tensors):
    """The safetensors format by hand (no safetensors package needed)."""
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


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    d = load_digits()
    x = (d.data / 16.0).astype(np.float32)
    y = d.target.astype(np.int64)
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.25, random_state=0, stratify=y)
    model = Digits()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3, weight_decay=1e-4)
    xt, yt = torch.from_numpy(xtr), torch.from_numpy(ytr)
    g = torch.Generator().manual_seed(1)
    for epoch in range(120):
        perm = torch.randperm(len(xt), generator=g)
        for i in range(0, len(xt), 64):
            idx = perm[i:i + 64]
            opt.zero_grad()
            loss = F.cross_entropy(model(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        logits = model(torch.from_numpy(xte)).numpy()
        train_acc = (model(xt).argmax(1).numpy() == ytr).mean()
    pred = logits.argmax(1)
    top2 = np.sort(logits, axis=1)[:, -2:]
    margin = (top2[:, 1] - top2[:, 0]).min()
    save_safetensors(os.path.join(HERE, "digits.safetensors"), model.state_dict())
    np.save(os.path.join(HERE, "test_x.npy"), xte)
    np.save(os.path.join(HERE, "test_y.npy"), yte.astype(np.int64))
    np.save(os.path.join(HERE, "torch_logits.npy"), logits.astype(np.float32))
    np.save(os.path.join(HERE, "torch_pred.npy"), pred.astype(np.int64))
    print(f"train accuracy {train_acc:.4f}; held-out accuracy {(pred == yte).mean():.4f} "
          f"({(pred == yte).sum()}/{len(yte)}); smallest top-2 logit margin {margin:.3g}")


if __name__ == "__main__":
    sys.exit(main())
