#!/usr/bin/env python3
"""PyTorch reference for the MNIST benchmarks of cmd/mnistbench.

MODEL mlp: 784 -> 128 ReLU -> 10 (cmd/mnist's default model).
MODEL cnn: Conv 16x5x5 pad 2 -> ReLU -> MaxPool 2 -> Conv 32x5x5 pad 2 ->
ReLU -> MaxPool 2 -> Flatten -> 128 ReLU -> 10 (cmd/mnist -model cnn).
Both: cross-entropy, Adam(lr=1e-3), batch 64, float32, pre-loaded tensors
(no DataLoader), so it measures the framework.

usage: torch_mnist.py MNIST_DIR [THREADS=2] [EPOCHS=1] [MODEL=mlp]
Prints one line per epoch:
  epoch=N epoch_seconds=S adam_step_us=U test_accuracy=A
Needs Debian's python3-torch and python3-numpy (apt-get install -y
python3-torch python3-numpy libopenblas0-pthread; run with /usr/bin/python3).
Without libopenblas0-pthread, Debian's PyTorch falls back to the reference
BLAS and runs about 4x slower: install it for a fair comparison. Debian's
PyTorch 1.13.1 runs its convolutions on oneDNN (MKL-DNN 2.6.3).
"""
import gzip, sys, time
import numpy as np
import torch
import torch.nn as nn

torch.set_num_threads(int(sys.argv[2]) if len(sys.argv) > 2 else 2)
D = sys.argv[1]
MODEL = sys.argv[4] if len(sys.argv) > 4 else "mlp"


def idx(p):
    b = gzip.open(p).read()
    nd = b[3]
    dims = [int.from_bytes(b[4 + 4 * i:8 + 4 * i], "big") for i in range(nd)]
    return np.frombuffer(b, np.uint8, offset=4 + 4 * nd).reshape(dims)


shape = (-1, 784) if MODEL == "mlp" else (-1, 1, 28, 28)
X = torch.from_numpy(idx(D + "/train-images-idx3-ubyte.gz").reshape(shape).astype(np.float32) / 255)
Y = torch.from_numpy(idx(D + "/train-labels-idx1-ubyte.gz").astype(np.int64))
TX = torch.from_numpy(idx(D + "/t10k-images-idx3-ubyte.gz").reshape(shape).astype(np.float32) / 255)
TY = torch.from_numpy(idx(D + "/t10k-labels-idx1-ubyte.gz").astype(np.int64))
torch.manual_seed(0)
if MODEL == "mlp":
    model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
elif MODEL == "cnn":
    model = nn.Sequential(
        nn.Conv2d(1, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))
else:
    sys.exit("MODEL must be mlp or cnn, got %r" % MODEL)
crit = nn.CrossEntropyLoss()
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
bs, n = 64, X.shape[0]
for ep in range(int(sys.argv[3]) if len(sys.argv) > 3 else 1):
    t0 = time.perf_counter()
    perm = torch.randperm(n)
    st = 0.0
    for b in range(n // bs):
        i = perm[b * bs:(b + 1) * bs]
        opt.zero_grad()
        loss = crit(model(X[i]), Y[i])
        loss.backward()
        s = time.perf_counter()
        opt.step()
        st += time.perf_counter() - s
    el = time.perf_counter() - t0
    with torch.no_grad():
        acc = torch.cat([(model(TX[j:j + 1000]).argmax(1) == TY[j:j + 1000]) for j in range(0, len(TY), 1000)]).float().mean().item()
    print(f"epoch={ep + 1} epoch_seconds={el:.3f} adam_step_us={st / (n // bs) * 1e6:.1f} test_accuracy={acc:.4f}", flush=True)
