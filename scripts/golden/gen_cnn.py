#!/usr/bin/env python3
"""Generates the cnn-*.json golden files (format: testdata/golden/README.md).

Each case is a small convolutional network (Conv2d, activations, MaxPool2d,
Flatten, Linear) trained full-batch in float64 with torch.optim.Adam or
AdamW from PyTorch's default initialisation under a fixed seed. The file
records the network, the batch, the initial weights, the loss before every
step and the weights after the last step.

Layouts: images NCHW, convolution weights OIHW (out channels, in channels,
kernel rows, kernel columns), dense weights (in, out) (the transpose of
nn.Linear.weight, like the mlp kind), Flatten in (C, H, W) order.

usage: /usr/bin/python3 scripts/golden/gen_cnn.py [OUT_DIR=testdata/golden]
Needs Debian's python3-torch (PyTorch 1.13.1) and python3-numpy.
"""
import json
import os
import sys

import torch
import torch.nn as nn

torch.set_default_dtype(torch.float64)
OUT = sys.argv[1] if len(sys.argv) > 1 else "testdata/golden"

ACTIVATIONS = {
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.01),
    "elu": lambda: nn.ELU(1.0),
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
}

# name, seed, input (C, H, W), batch, classes, layers, optimizer, options, steps
CASES = [
    ("cnn-relu-adam", 1, (1, 8, 8), 6, 3,
     [dict(type="conv2d", filters=4, kernel=3, stride=1, padding=1), dict(type="relu"),
      dict(type="maxpool2d", kernel=2, stride=2, padding=0), dict(type="flatten"),
      dict(type="dense", units=3)],
     "Adam", {"lr": 0.01}, 40),
    ("cnn-stride2-tanh-sigmoid-adamw", 2, (2, 9, 9), 5, 4,
     [dict(type="conv2d", filters=3, kernel=3, stride=2, padding=0), dict(type="tanh"),
      dict(type="conv2d", filters=5, kernel=2, stride=1, padding=1), dict(type="sigmoid"),
      dict(type="maxpool2d", kernel=3, stride=2, padding=1), dict(type="flatten"),
      dict(type="dense", units=6), dict(type="elu"), dict(type="dense", units=4)],
     "AdamW", {"lr": 0.02, "betas": [0.85, 0.995], "weight_decay": 0.05}, 40),
    ("cnn-nonsquare-leakyrelu-amsgrad-l2", 3, (3, 7, 6), 4, 3,
     [dict(type="conv2d", filters=6, kernel=5, stride=1, padding=2), dict(type="leaky_relu"),
      dict(type="maxpool2d", kernel=2, stride=2, padding=0),
      dict(type="conv2d", filters=4, kernel=1, stride=1, padding=0), dict(type="relu"),
      dict(type="flatten"), dict(type="dense", units=3)],
     "Adam", {"lr": 0.005, "amsgrad": True, "weight_decay": 0.01, "eps": 1e-6}, 50),
    ("cnn-mnist-shape-adam", 4, (1, 12, 12), 8, 10,
     [dict(type="conv2d", filters=8, kernel=5, stride=1, padding=2), dict(type="relu"),
      dict(type="maxpool2d", kernel=2, stride=2, padding=0),
      dict(type="conv2d", filters=16, kernel=5, stride=1, padding=2), dict(type="relu"),
      dict(type="maxpool2d", kernel=2, stride=2, padding=0), dict(type="flatten"),
      dict(type="dense", units=16), dict(type="relu"), dict(type="dense", units=10)],
     "Adam", {"lr": 0.003, "betas": [0.8, 0.99]}, 30),
    ("cnn-overlap-pool-stride3-amsgrad-adamw", 5, (2, 11, 10), 3, 5,
     [dict(type="conv2d", filters=4, kernel=4, stride=3, padding=2), dict(type="elu"),
      dict(type="maxpool2d", kernel=3, stride=1, padding=1), dict(type="flatten"),
      dict(type="dense", units=5)],
     "AdamW", {"lr": 0.01, "amsgrad": True}, 40),
]


def build(in_shape, spec):
    mods, c = [], in_shape[0]
    h, w = in_shape[1], in_shape[2]
    features = None
    for layer in spec:
        t = layer["type"]
        if t == "conv2d":
            mods.append(nn.Conv2d(c, layer["filters"], layer["kernel"], layer["stride"], layer["padding"]))
            c = layer["filters"]
            h = (h + 2 * layer["padding"] - layer["kernel"]) // layer["stride"] + 1
            w = (w + 2 * layer["padding"] - layer["kernel"]) // layer["stride"] + 1
        elif t == "maxpool2d":
            mods.append(nn.MaxPool2d(layer["kernel"], layer["stride"], layer["padding"]))
            h = (h + 2 * layer["padding"] - layer["kernel"]) // layer["stride"] + 1
            w = (w + 2 * layer["padding"] - layer["kernel"]) // layer["stride"] + 1
        elif t == "flatten":
            mods.append(nn.Flatten())
            features = c * h * w
        elif t == "dense":
            mods.append(nn.Linear(features, layer["units"]))
            features = layer["units"]
        else:
            mods.append(ACTIVATIONS[t]())
    return nn.Sequential(*mods)


def weights(model):
    """The parameters in creation order, dense weights as (in, out)."""
    out = []
    for name, p in model.named_parameters():
        v = p.detach()
        if v.dim() == 2:
            v = v.t()
        out.append({"name": name, "shape": list(v.shape), "values": v.contiguous().reshape(-1).tolist()})
    return out


def main():
    for name, seed, in_shape, batch, classes, spec, optimizer, options, steps in CASES:
        torch.manual_seed(seed)
        model = build(in_shape, spec)
        x = torch.randn(batch, *in_shape)
        labels = torch.randint(0, classes, (batch,))
        init = weights(model)
        opt = getattr(torch.optim, optimizer)(model.parameters(), **options)
        crit = nn.CrossEntropyLoss()
        losses = []
        for _ in range(steps):
            opt.zero_grad()
            loss = crit(model(x), labels)
            losses.append(loss.item())
            loss.backward()
            opt.step()
        doc = {
            "generator": "PyTorch %s (Debian python3-torch), scripts/golden/gen_cnn.py" % torch.__version__,
            "dtype": "float64",
            "kind": "cnn",
            "note": "x is NCHW (batch, channels, height, width); layers in order; conv weights OIHW, "
                    "dense weights (in, out); flatten in (C, H, W) order; loss = mean softmax cross-entropy "
                    "over the batch; losses[t] is the loss before step t; final holds the weights after all steps",
            "input_shape": list(in_shape),
            "layers": spec,
            "optimizer": optimizer,
            "options": options,
            "x": x.tolist(),
            "labels": labels.tolist(),
            "init": init,
            "losses": losses,
            "final": weights(model),
        }
        path = os.path.join(OUT, name + ".json")
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(doc, f)
            f.write("\n")
        os.replace(tmp, path)
        print(f"{path}: {steps} steps, loss {losses[0]:.6f} -> {losses[-1]:.6f}")


if __name__ == "__main__":
    main()
