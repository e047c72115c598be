"""The seedable generator of src/lib/core/rng.ts (sfc32 seeded through splitmix32), bit for bit.

Training draws per-frame noise levels and the context split from it (task.py), so the same seed
gives the same draws on both sides; the parity tests compare them exactly.
"""
from __future__ import annotations

import math

import torch

_M32 = 0xFFFFFFFF


def _imul(a: int, b: int) -> int:
    return (a * b) & _M32


def _splitmix32(seed: int):
    s = seed & _M32

    def nxt() -> int:
        nonlocal s
        s = (s + 0x9E3779B9) & _M32
        z = s
        z = _imul(z ^ (z >> 16), 0x85EBCA6B)
        z = _imul(z ^ (z >> 13), 0xC2B2AE35)
        return (z ^ (z >> 16)) & _M32

    return nxt


class Rng:
    """`new Rng(seed)` of rng.ts: next() in [0, 1), int(n), normal(), seed(), shuffle()."""

    def __init__(self, seed: int | list[int] = 0):
        if isinstance(seed, (list, tuple)):
            self.a, self.b, self.c, self.d = (int(v) & _M32 for v in seed)
        else:
            nxt = _splitmix32(int(math.floor(seed)) & _M32)
            self.a, self.b, self.c, self.d = nxt(), nxt(), nxt(), nxt()
            for _ in range(12):
                self.next_uint32()

    def next_uint32(self) -> int:
        t = (((self.a + self.b) & _M32) + self.d) & _M32
        self.d = (self.d + 1) & _M32
        self.a = self.b ^ (self.b >> 9)
        self.b = (self.c + (self.c << 3)) & _M32
        c = self.c
        c = ((c << 21) | (c >> 11)) & _M32
        self.c = (c + t) & _M32
        return t

    def next(self) -> float:
        return self.next_uint32() / 4294967296.0

    def int(self, n: int) -> int:
        return int(math.floor(self.next() * n))

    def normal(self) -> float:
        u = 0.0
        while u == 0.0:
            u = self.next()
        v = self.next()
        return math.sqrt(-2 * math.log(u)) * math.cos(2 * math.pi * v)

    def seed(self) -> int:
        return self.next_uint32() & 0x7FFFFFFF

    def shuffle(self, items: list) -> list:
        for i in range(len(items) - 1, 0, -1):
            j = self.int(i + 1)
            items[i], items[j] = items[j], items[i]
        return items

    def get_state(self) -> list[int]:
        return [self.a, self.b, self.c, self.d]

    def set_state(self, state: list[int]) -> None:
        self.a, self.b, self.c, self.d = (int(v) & _M32 for v in state)


def gaussian_noise(shape: list[int] | tuple[int, ...], rng: Rng) -> torch.Tensor:
    """`gaussianNoise(shape, rng)` of src/lib/nn/noise.ts: Box-Muller pairs, float32.

    A Python loop: use it where both sides must draw the same numbers (tests, small tensors);
    the trainer draws its noise with torch generators instead.
    """
    size = 1
    for d in shape:
        size *= int(d)
    values = [0.0] * size
    for i in range(0, size, 2):
        u = rng.next()
        while u == 0.0:
            u = rng.next()
        v = rng.next()
        r = math.sqrt(-2 * math.log(u))
        values[i] = r * math.cos(2 * math.pi * v)
        if i + 1 < size:
            values[i + 1] = r * math.sin(2 * math.pi * v)
    return torch.tensor(values, dtype=torch.float32).reshape(list(shape))
