"""The video DiT of src/lib/models/dit.ts in PyTorch, with the same config JSON, parameter names and layouts.

A clip [B, T, h, w, c] becomes F = B*T frames of N = (h/p)*(w/p) tokens held as [F*N, D] rows in
(b, t, n) order. Each block: adaLN-Zero (one Linear D -> 9D: shift, scale, gate for spatial
attention, temporal attention and the MLP), spatial self-attention among the N patches of a frame,
causal windowed temporal attention of each patch over the same patch in frames t-K..t with a learned
bias per head and distance (no absolute frame positions, so a KV cache stays valid as the window
slides), and a tanh-GELU MLP. `forward_frame` on a cache equals the last frame of `forward`.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .config import dit_option, validate_dit_config
from .errors import GamedreamError
from .nn import Linear, gelu, layer_norm


def tokens_per_frame(config: dict) -> int:
    return (config["latentHeight"] // config["patchSize"]) * (config["latentWidth"] // config["patchSize"])


def patch_dim(config: dict) -> int:
    """Features of one patch the embedder sees: p*p*c, doubled when the previous frame's latent rides along."""
    base = config["patchSize"] ** 2 * config["latentChannels"]
    return 2 * base if dit_option(config, "contextLatentInput") else base


def sincos_positions(rows: int, cols: int, dim: int) -> torch.Tensor:
    """DiT's 2D sin-cos table [N, D]: first half row, second half column (float64 math, as TS)."""
    quarter = dim // 4
    out = torch.empty(rows * cols, dim, dtype=torch.float64)
    omega = torch.tensor([1 / math.pow(10000, i / quarter) for i in range(quarter)], dtype=torch.float64)
    for r in range(rows):
        for c in range(cols):
            base = r * cols + c
            out[base, :quarter] = torch.sin(r * omega)
            out[base, quarter : 2 * quarter] = torch.cos(r * omega)
            out[base, 2 * quarter : 3 * quarter] = torch.sin(c * omega)
            out[base, 3 * quarter :] = torch.cos(c * omega)
    return out.float()


def noise_level_features(levels: torch.Tensor, dim: int) -> torch.Tensor:
    """sin(level * 1000 * freq + phase): [cos, sin] halves. levels [F] -> [F, dim]."""
    half = dim // 2
    freq = torch.tensor([math.exp((-math.log(10000) * i) / half) for i in range(half)] * 2, dtype=torch.float32)
    phase = torch.tensor([math.pi / 2] * half + [0.0] * half, dtype=torch.float32)
    return torch.sin((levels * 1000).reshape(-1, 1) * freq + phase)


def patchify(latents: torch.Tensor, p: int) -> torch.Tensor:
    """[F, h, w, c] -> [F, N, p*p*c], channel order (dy * p + dx) * c + ch (tfjs spaceToDepth)."""
    f, h, w, c = latents.shape
    return latents.reshape(f, h // p, p, w // p, p, c).permute(0, 1, 3, 2, 4, 5).reshape(f, (h // p) * (w // p), p * p * c)


def unpatchify(x: torch.Tensor, p: int, h: int, w: int) -> torch.Tensor:
    """[F, N, p*p*c] -> [F, h, w, c] (tfjs depthToSpace)."""
    f = x.shape[0]
    c = x.shape[-1] // (p * p)
    return x.reshape(f, h // p, w // p, p, p, c).permute(0, 1, 3, 2, 4, 5).reshape(f, h, w, c)


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """x [F, N, D], shift/scale [F, D]."""
    return layer_norm(x) * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1)


class Attention(nn.Module):
    """q, k (no bias: softmax cancels it), v, out: the four [D, D] projections every attention has."""

    def __init__(self, d: int, generator):
        super().__init__()
        self.q = Linear(d, d, generator=generator)
        self.k = Linear(d, d, bias=False, generator=generator)
        self.v = Linear(d, d, generator=generator)
        self.out = Linear(d, d, generator=generator)


class SpatialAttention(Attention):
    def __init__(self, d: int, heads: int, generator):
        super().__init__(d, generator)
        self.heads = heads

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [F, N, D] -> [F, N, D]."""
        f, n, d = x.shape
        h = self.heads
        dh = d // h
        split = lambda t: t.reshape(f, n, h, dh).transpose(1, 2)  # noqa: E731  [F, H, N, dh]
        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        p = torch.softmax((q * (1 / math.sqrt(dh))) @ k.transpose(-1, -2), dim=-1)
        return self.out((p @ v).transpose(1, 2).reshape(f, n, d))


class TemporalAttention(Attention):
    def __init__(self, d: int, heads: int, window: int, generator):
        super().__init__(d, generator)
        self.heads = heads
        self.window = window
        bias = torch.empty(heads, window + 1)
        for hh in range(heads):
            slope = math.pow(2, (-8 * (hh + 1)) / heads)  # ALiBi slopes
            for dist in range(window + 1):
                bias[hh, dist] = -slope * dist
        self.distance_bias = nn.Parameter(bias)

    def score_bias(self, frames: int) -> torch.Tensor:
        """[H, T, T]: the distance bias inside the causal window, -1e9 outside it."""
        t = torch.arange(frames).reshape(-1, 1)
        s = torch.arange(frames).reshape(1, -1)
        dist = t - s
        inside = (dist >= 0) & (dist <= self.window)
        gathered = self.distance_bias[:, dist.clamp(0, self.window)]  # [H, T, T]
        return torch.where(inside, gathered, torch.full_like(gathered, -1e9))

    def forward(self, x: torch.Tensor, batch: int, frames: int) -> torch.Tensor:
        """x [B, T, N, D] flattened as [B*T, N, D] -> same."""
        bt, n, d = x.shape
        h = self.heads
        dh = d // h
        split = lambda t: t.reshape(batch, frames, n, h, dh).permute(0, 2, 3, 1, 4)  # noqa: E731  [B, N, H, T, dh]
        q = split(self.q(x) * (1 / math.sqrt(dh)))
        k, v = split(self.k(x)), split(self.v(x))
        scores = q @ k.transpose(-1, -2) + self.score_bias(frames)
        o = torch.softmax(scores, dim=-1) @ v  # [B, N, H, T, dh]
        return self.out(o.permute(0, 3, 1, 2, 4).reshape(bt, n, d))

    def forward_frame(self, x: torch.Tensor, past_keys: list, past_values: list):
        """One new frame [B, N, D] against cached frames (oldest first); returns y and this frame's k, v."""
        b, n, d = x.shape
        h = self.heads
        dh = d // h
        q = (self.q(x) * (1 / math.sqrt(dh))).reshape(b, n, h, 1, dh)
        key, value = self.k(x), self.v(x)
        # Cached frames may hold one batch item for all B queries (classifier-free guidance).
        view = lambda t: t.reshape(-1, n, h, dh).expand(b, n, h, dh)  # noqa: E731
        keys = torch.stack([view(t) for t in past_keys + [key]], dim=3)  # [B, N, H, L, dh]
        values = torch.stack([view(t) for t in past_values + [value]], dim=3)
        length = keys.shape[3]
        distances = torch.arange(length - 1, -1, -1)
        scores = (q @ keys.transpose(-1, -2)).squeeze(3) + self.distance_bias[:, distances]  # [B, N, H, L]
        p = torch.softmax(scores, dim=-1)
        mixed = (p.unsqueeze(3) @ values).squeeze(3)  # [B, N, H, dh]
        return self.out(mixed.reshape(b, n, d)), key, value


class Mlp(nn.Module):
    def __init__(self, d: int, ratio: int, generator):
        super().__init__()
        self.fc1 = Linear(d, d * ratio, generator=generator)
        self.fc2 = Linear(d * ratio, d, generator=generator)

    def forward(self, x):
        return self.fc2(gelu(self.fc1(x)))


class DiTBlock(nn.Module):
    def __init__(self, config: dict, generator):
        super().__init__()
        d = config["hidden"]
        self.spatial_attn = SpatialAttention(d, config["heads"], generator)
        self.temporal_attn = TemporalAttention(d, config["heads"], config["contextFrames"], generator)
        self.mlp = Mlp(d, config["mlpRatio"], generator)
        self.adaLN_modulation = Linear(d, 9 * d, init="zeros", generator=generator)

    def _mods(self, cond: torch.Tensor):
        f, d = cond.shape
        return self.adaLN_modulation(cond).reshape(f, 9, d).unbind(1)

    def forward(self, x: torch.Tensor, cond: torch.Tensor, batch: int, frames: int) -> torch.Tensor:
        """x [B*T, N, D], cond [B*T, D] (SiLU applied)."""
        s_shift, s_scale, s_gate, t_shift, t_scale, t_gate, m_shift, m_scale, m_gate = self._mods(cond)
        x = x + self.spatial_attn(modulate(x, s_shift, s_scale)) * s_gate.unsqueeze(1)
        x = x + self.temporal_attn(modulate(x, t_shift, t_scale), batch, frames) * t_gate.unsqueeze(1)
        return x + self.mlp(modulate(x, m_shift, m_scale)) * m_gate.unsqueeze(1)

    def forward_frame(self, x, cond, past_keys, past_values):
        s_shift, s_scale, s_gate, t_shift, t_scale, t_gate, m_shift, m_scale, m_gate = self._mods(cond)
        x = x + self.spatial_attn(modulate(x, s_shift, s_scale)) * s_gate.unsqueeze(1)
        y, key, value = self.temporal_attn.forward_frame(modulate(x, t_shift, t_scale), past_keys, past_values)
        x = x + y * t_gate.unsqueeze(1)
        return x + self.mlp(modulate(x, m_shift, m_scale)) * m_gate.unsqueeze(1), key, value


class KVCache:
    """Temporal keys/values of the last K context frames, per block (live play), oldest first."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self.frames: list[tuple[list, list]] = []
        # The previous frame's input latent, for configs whose patch embedder sees it.
        self.previous_latent: torch.Tensor | None = None

    def __len__(self):
        return len(self.frames)

    def push(self, keys: list, values: list) -> None:
        self.frames.append((keys, values))
        while len(self.frames) > self.capacity:
            self.frames.pop(0)

    def keys(self, block: int) -> list:
        return [f[0][block] for f in self.frames]

    def values(self, block: int) -> list:
        return [f[1][block] for f in self.frames]


class Embedder(nn.Module):
    """A named holder (`x_embedder.proj`, `t_embedder.mlp.0`)."""


class FinalLayer(nn.Module):
    def __init__(self, d: int, out: int, generator):
        super().__init__()
        self.adaLN_modulation = Linear(d, 2 * d, init="zeros", generator=generator)
        self.linear = Linear(d, out, init="zeros", generator=generator)


def _input_error(message: str) -> GamedreamError:
    return GamedreamError("DIT_INPUT_SHAPE", message)


class DiT(nn.Module):
    def __init__(self, config: dict, seed: int = 0):
        super().__init__()
        validate_dit_config(config)
        self.config = dict(config)
        g = torch.Generator().manual_seed(seed)
        d = config["hidden"]
        p = config["patchSize"]
        self.x_embedder = Embedder()
        self.x_embedder.proj = Linear(patch_dim(config), d, generator=g)
        table = sincos_positions(config["latentHeight"] // p, config["latentWidth"] // p, d)
        if config["spatialPositions"] == "learned":
            self.pos_embed = nn.Parameter(table)
        else:
            self.register_buffer("pos_embed", table, persistent=False)
        self.t_embedder = Embedder()
        self.t_embedder.mlp = nn.Sequential(Linear(config["frequencyDim"], d, init={"normal": 0.02}, generator=g), nn.SiLU(), Linear(d, d, init={"normal": 0.02}, generator=g))
        self.a_embedder = Embedder()
        if dit_option(config, "actionEmbedder") == "mlp":
            # As the first layer of an MLP the action Linear gets Xavier (dit.ts says why).
            self.a_embedder.mlp = nn.Sequential(Linear(config["actionDim"], d, generator=g), nn.SiLU(), Linear(d, d, generator=g))
        else:
            self.a_embedder.proj = Linear(config["actionDim"], d, init={"normal": 0.02}, generator=g)
        if dit_option(config, "nullAction"):
            # [1, D], zeros: the embedding of "no action given".
            self.a_embedder.null = nn.Parameter(torch.zeros(1, d))
        self.blocks = nn.ModuleList([DiTBlock(config, g) for _ in range(config["depth"])])
        self.final_layer = FinalLayer(d, config["patchSize"] ** 2 * config["latentChannels"], g)

    # -- conditioning -------------------------------------------------------------------------

    def action_embedding(self, actions: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        """actions [F, A] -> [F, D]; with `nullAction`, rows whose keep is 0 take the learned null embedding."""
        emb = self.a_embedder.mlp(actions) if dit_option(self.config, "actionEmbedder") == "mlp" else self.a_embedder.proj(actions)
        if keep is not None:
            if not dit_option(self.config, "nullAction"):
                raise _input_error("This DiT has no learned null action (nullAction is off), so actions cannot be dropped or guided.")
            k = keep.reshape(-1, 1).to(emb.dtype)
            emb = emb * k + self.a_embedder.null * (1 - k)
        return emb

    def condition(self, levels: torch.Tensor, action_emb: torch.Tensor) -> torch.Tensor:
        """levels [F], action embedding [F, D] -> SiLU(noise MLP + action) [F, D]."""
        noise = self.t_embedder.mlp(noise_level_features(levels, self.config["frequencyDim"]))
        return F.silu(noise + action_emb)

    def embed(self, latents: torch.Tensor, action_emb: torch.Tensor, previous: torch.Tensor | None = None) -> torch.Tensor:
        """latents [F, h, w, c] (and the previous frame's [F, h, w, c]) -> tokens [F, N, D] with positions."""
        p = self.config["patchSize"]
        # The previous frame is stacked on the channels before patching, as dit.ts does.
        stacked = torch.cat([latents, previous], dim=-1) if dit_option(self.config, "contextLatentInput") else latents
        x = self.x_embedder.proj(patchify(stacked, p)) + self.pos_embed
        if dit_option(self.config, "actionToTokens"):
            x = x + action_emb.unsqueeze(1)
        return x

    def head(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """Final adaLN and unpatchify: x [F, N, D], cond [F, D] -> [F, h, w, c]."""
        d = cond.shape[1]
        shift, scale = self.final_layer.adaLN_modulation(cond).reshape(-1, 2, d).unbind(1)
        y = self.final_layer.linear(modulate(x, shift, scale))
        return unpatchify(y, self.config["patchSize"], self.config["latentHeight"], self.config["latentWidth"])

    def _check_frame(self, latent: torch.Tensor, leading: int) -> None:
        c = self.config
        if latent.dim() != leading + 3 or tuple(latent.shape[leading:]) != (c["latentHeight"], c["latentWidth"], c["latentChannels"]):
            raise _input_error(f"The DiT expects frames of {c['latentHeight']}x{c['latentWidth']}x{c['latentChannels']} latents, got shape {list(latent.shape)}.")

    # -- passes -------------------------------------------------------------------------------

    def forward(self, latents: torch.Tensor, noise_levels: torch.Tensor, actions: torch.Tensor, action_keep: torch.Tensor | None = None, previous: torch.Tensor | None = None) -> torch.Tensor:
        """Full clip: latents [B, T, h, w, c], noise levels [B, T] in [0, 1], actions [B, T, A]
        (action_keep [B, T], 0 = use the null action) -> prediction [B, T, h, w, c]. With
        contextLatentInput, frame t sees `previous[:, t]` stacked on its channels (default: latents[:, t-1],
        zeros for t = 0): training for the "reuse-last-step" cache update passes the clean latents."""
        self._check_frame(latents, 2)
        b, t = latents.shape[:2]
        c = self.config
        if tuple(noise_levels.shape) != (b, t):
            raise _input_error(f"Noise levels must have shape [{b}, {t}], got {list(noise_levels.shape)}.")
        if tuple(actions.shape) != (b, t, c["actionDim"]):
            raise _input_error(f"Actions must have shape [{b}, {t}, {c['actionDim']}], got {list(actions.shape)}.")
        f = b * t
        frames = latents.reshape(f, c["latentHeight"], c["latentWidth"], c["latentChannels"])
        if previous is not None:
            if not dit_option(c, "contextLatentInput"):
                raise _input_error("This DiT does not stack a previous latent on its input (contextLatentInput is off).")
            if tuple(previous.shape) != tuple(latents.shape):
                raise _input_error(f"The previous latents must have the latents' shape {list(latents.shape)}, got {list(previous.shape)}.")
            previous = previous.reshape(frames.shape)
        elif dit_option(c, "contextLatentInput"):
            previous = torch.cat([torch.zeros_like(latents[:, :1]), latents[:, :-1]], dim=1).reshape(frames.shape)
        a = self.action_embedding(actions.reshape(f, c["actionDim"]), None if action_keep is None else action_keep.reshape(f))
        x = self.embed(frames, a, previous)
        cond = self.condition(noise_levels.reshape(f), a)
        for block in self.blocks:
            x = block(x, cond, b, t)
        return self.head(x, cond).reshape(latents.shape)

    def create_cache(self) -> KVCache:
        return KVCache(self.config["contextFrames"])

    def forward_frame(self, cache: KVCache, latent: torch.Tensor, noise_level, action: torch.Tensor, return_kv: bool = False, action_keep: torch.Tensor | None = None):
        """One new frame per batch item against the cache: latent [B, h, w, c], noise level a number
        or [B], action [B, A] -> [B, h, w, c] (and this frame's keys/values with return_kv)."""
        self._check_frame(latent, 1)
        b = latent.shape[0]
        levels = torch.full((b,), float(noise_level)) if isinstance(noise_level, (int, float)) else noise_level
        a = self.action_embedding(action, action_keep)
        previous = None
        if dit_option(self.config, "contextLatentInput"):
            last = cache.previous_latent
            previous = torch.zeros_like(latent) if last is None else last.expand(b, *last.shape[1:])
        x = self.embed(latent, a, previous)
        cond = self.condition(levels, a)
        keys, values = [], []
        for i, block in enumerate(self.blocks):
            x, key, value = block.forward_frame(x, cond, cache.keys(i), cache.values(i))
            keys.append(key)
            values.append(value)
        prediction = self.head(x, cond)
        return (prediction, (keys, values)) if return_kv else prediction

    def append_frame(self, cache: KVCache, latent: torch.Tensor, noise_level, action: torch.Tensor) -> None:
        """Runs the frame at the context level and appends its keys/values to the cache."""
        _, kv = self.forward_frame(cache, latent, noise_level, action, return_kv=True)
        cache.push(*kv)
        cache.previous_latent = latent


def create_dit(config: dict, seed: int = 0) -> DiT:
    return DiT(config, seed)
