"""One gamedream DiT block in PyTorch (CPU), timed like src/lib/bench/perf.ts measureDiTBlock.

Same computation as src/lib/models/dit.ts DiTBlock: adaLN-Zero (one Linear D -> 9D), spatial
self-attention among the N patches of each frame, causal temporal attention of each patch over
the same patch in the K + 1 frames of the window with a per-head distance bias, GELU MLP (ratio 4).
  inference: one new frame [N, D] against K cached frames' keys/values (live play's unit);
  train:     forward + backward on [B*T*N, D] (B clips of T frames), gradients of every weight.
Prints one JSON line: {"inferenceMs", "trainMs", "threads", "torch"}. Medians.

Usage: OPENBLAS_NUM_THREADS=1 python3 bench/pytorch_block.py N D HEADS K B T REPS
"""
import json
import sys
import time

import torch
import torch.nn.functional as F

torch.set_num_threads(1)
torch.manual_seed(0)

N, D, H, K, B, T, REPS = (int(a) for a in sys.argv[1:8])
DH = D // H


class Block(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.ada = torch.nn.Linear(D, 9 * D)
        self.sq, self.sk, self.sv, self.so = (torch.nn.Linear(D, D) for _ in range(4))
        self.tq, self.tk, self.tv, self.to_ = (torch.nn.Linear(D, D) for _ in range(4))
        self.fc1 = torch.nn.Linear(D, 4 * D)
        self.fc2 = torch.nn.Linear(4 * D, D)
        self.dist = torch.nn.Parameter(torch.randn(H, K + 1) * 0.1)
        for p in self.parameters():
            torch.nn.init.normal_(p, std=0.02)

    @staticmethod
    def modulate(x, shift, scale):
        # x [F, N, D], shift/scale [F, D]
        return F.layer_norm(x, (D,), eps=1e-6) * (1 + scale[:, None]) + shift[:, None]

    def spatial(self, x):
        f = x.shape[0]
        heads = lambda t: t.view(f, N, H, DH).transpose(1, 2)  # [F, H, N, dh]
        q, k, v = heads(self.sq(x)), heads(self.sk(x)), heads(self.sv(x))
        p = torch.softmax(q @ k.transpose(-1, -2) / DH**0.5, -1)
        return self.so((p @ v).transpose(1, 2).reshape(f, N, D))

    def temporal(self, x, b, t):
        # x [B*T, N, D] -> per (b, n, head) causal attention over T frames within the window.
        seq = lambda y: y.view(b, t, N, H, DH).permute(0, 2, 3, 1, 4)  # [B, N, H, T, dh]
        q, k, v = seq(self.tq(x)), seq(self.tk(x)), seq(self.tv(x))
        dist = torch.arange(t)[:, None] - torch.arange(t)[None, :]
        inside = (dist >= 0) & (dist <= K)
        bias = torch.where(inside[None], self.dist[:, dist.clamp(0, K)], torch.tensor(-1e9))  # [H, T, T]
        p = torch.softmax(q @ k.transpose(-1, -2) / DH**0.5 + bias[None, None], -1)
        o = (p @ v).permute(0, 3, 1, 2, 4).reshape(b * t, N, D)
        return self.to_(o)

    def forward(self, x, cond, b, t):
        m = self.ada(cond).chunk(9, -1)
        x = x + m[2][:, None] * self.spatial(self.modulate(x, m[0], m[1]))
        x = x + m[5][:, None] * self.temporal(self.modulate(x, m[3], m[4]), b, t)
        return x + m[8][:, None] * self.fc2(F.gelu(self.fc1(self.modulate(x, m[6], m[7])), approximate="tanh"))

    def forward_frame(self, x, cond, keys, values):
        # x [1, N, D]; keys/values [K, N, D] of cached frames.
        m = self.ada(cond).chunk(9, -1)
        x = x + m[2][:, None] * self.spatial(self.modulate(x, m[0], m[1]))
        y = self.modulate(x, m[3], m[4])
        q = self.tq(y).view(N, H, DH)
        k = torch.cat([keys, self.tk(y)], 0).view(K + 1, N, H, DH)
        v = torch.cat([values, self.tv(y)], 0).view(K + 1, N, H, DH)
        s = torch.einsum("nhd,lnhd->nhl", q, k) / DH**0.5 + self.dist.flip(-1)[None]
        o = torch.einsum("nhl,lnhd->nhd", torch.softmax(s, -1), v).reshape(1, N, D)
        x = x + m[5][:, None] * self.to_(o)
        return x + m[8][:, None] * self.fc2(F.gelu(self.fc1(self.modulate(x, m[6], m[7])), approximate="tanh"))


def median(samples):
    s = sorted(samples)
    return s[len(s) // 2]


def timed(fn, reps):
    for _ in range(2):
        fn()
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return median(out)


block = Block()
x1, c1 = torch.randn(1, N, D), torch.randn(1, D)
keys, values = torch.randn(K, N, D), torch.randn(K, N, D)
xb, cb = torch.randn(B * T, N, D), torch.randn(B * T, D)

with torch.no_grad():
    inference_ms = timed(lambda: block.forward_frame(x1, c1, keys, values), REPS)


def train():
    block.zero_grad(set_to_none=True)
    block(xb, cb, B, T).sum().backward()


train_ms = timed(train, max(2, REPS // 5))
print(json.dumps({"inferenceMs": inference_ms, "trainMs": train_ms, "threads": torch.get_num_threads(), "torch": torch.__version__}))
