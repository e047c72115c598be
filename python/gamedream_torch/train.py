"""Trains the DiT with PyTorch, one process per device, launched by torchrun:

    PYTHONPATH=python torchrun --nproc_per_node=N -m gamedream_torch.train \\
        --preset realtime --data DIR --out RUN [--vae weights/realtime/vae] [--steps 1000] [--batch 4]
        [--lr 3e-4] [--warmup 100] [--seed 0] [--clip-length 3] [--checkpoint-every 100] [--keep 3]
        [--train '{"actionDropout": 0.1, ...}'] [--optim '{"emaDecay": 0.999, ...}'] [--override '{"hidden": 64}']
        [--device auto|cpu|cuda] [--threads T] [--minutes M] [--init weights/realtime/dit]
        [--distill-guidance 1.5 [--teacher weights/realtime/dit]]

One process (plain `python -m gamedream_torch.train`) needs no torchrun. With torchrun, DDP
(gloo on CPU, nccl on CUDA) averages gradients; multi-node runs use torchrun's own rendezvous
(`--nnodes 2 --rdzv-backend c10d --rdzv-endpoint HOST:PORT`).

--init starts from existing DiT weights (fine-tuning); the optimiser and EMA start fresh from them.

--distill-guidance SCALE (with --init) distils classifier-free guidance: the --init weights, frozen,
are the teacher, and the student learns to give in one conditional pass the teacher's guided
prediction at that scale (task.py `guidance_distillation_terms`). The exported weights record
`guidanceDistillation` and the sampling default `guidanceScale: 1`, so the world model plays them
with one DiT row per pass instead of a batch of 2 (src/lib/models/loader.ts). At SCALE 1 the target
is the teacher's conditional prediction: with `--train '{"cacheUpdate": "reuse-last-step", ...}'`
this distils a teacher that plays with a context pass per frame into a student that plays without
one (task.py); the exported weights then also record the sampling default `cacheUpdate`.
--teacher PATH names the teacher when it is not the --init weights: a distillation continued from
its student (--init RUN/model.safetensors) keeps learning from the same teacher.

The recipe is src/lib's: the same DiT config (preset + --override), the training task of
src/lib/train/dit-task.ts under the same setting names (--train JSON; --clip-length is its
`clipLength`), the optimiser of src/lib/train/optim.ts (--optim JSON: lr, warmupSteps, minLrRatio,
beta1, beta2, epsilon, weightDecay on matrices only, clipNorm, emaDecay), and latents from the
VAE the run names (a TensorFlow.js weights folder as `npm run train` writes, SHA-256 checked).

Data: every window of `clipLength` frames of the dataset's train split; each epoch is a seeded
permutation of them cut into global batches of batch x world size, rank r taking its slice
(DistributedSampler-style). Every clip's noise comes from generators seeded by (seed, global index
of the sample), so a run with 2 processes at batch 4 takes the same steps as 1 process at batch 8,
and a resumed run the same steps as an uninterrupted one. Each rank's loss is its share of the
global masked sum divided by the global mask count, so the averaged gradient is the gradient of
the global batch's loss (src/lib/diffusion/loss.ts).

RUN/run.json holds the settings (a resumed run must not change them); rank 0 writes checkpoints
to RUN/torch/ (model, EMA, optimizer, step, RNG, metrics; SHA-256 checked, newest --keep kept;
every --checkpoint-every steps, at the end, and on SIGINT/SIGTERM), and at the end (all steps done,
--minutes up, or stopped by a signal) exports the EMA
weights as RUN/model.safetensors + RUN/config.json (the Play page's "Import a model" takes the
two) and, read back from that file, RUN/weights/{dit,vae}/ (TensorFlow.js manifests:
`npm run sample -- --run RUN/weights`, `npm run eval -- --run RUN/weights`). Progress on stderr,
one JSON summary line on stdout; errors as `error[CODE]: message`.
"""
from __future__ import annotations

import argparse
import copy
import hashlib
import io
import json
import math
import os
import shutil
import sys
import time

import numpy as np
import torch
import torch.distributed as dist

from .actions import ACTION_DIM, conditioning_actions
from .config import DEFAULT_OPTIM, dit_option, get_preset, PRESET_NAMES, vae_latent_shape
from .dataset import DatasetReader, rgb_to_unit
from .dit import DiT
from .errors import GamedreamError, StopRequest, run_cli
from .run_settings import merge_run_settings, read_run_settings, write_run_settings
from .rng import Rng
from .task import dit_loss_terms, draw_frame_noise, guidance_distillation_terms, reuses_last_step, schedule_of, train_settings, validate_train_settings
from .vae import VAE
from .weights import load_into, load_safetensors, read_tfjs_weights, save_safetensors, write_tfjs_weights_dir

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHECKPOINT_DIR = "torch"


# ---------------------------------------------------------------------------------------------
# Settings


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="gamedream_torch.train", description="Train the gamedream DiT with PyTorch (DDP under torchrun).")
    p.add_argument("--preset", choices=PRESET_NAMES)
    p.add_argument("--data")
    p.add_argument("--out", required=True)
    p.add_argument("--vae", help="TensorFlow.js weights folder of the VAE (default weights/PRESET/vae)")
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--batch", type=int, help="clips per process and step (default 4)")
    p.add_argument("--lr", type=float)
    p.add_argument("--warmup", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument("--clip-length", type=int, dest="clip_length")
    p.add_argument("--train", help="DiT training settings as JSON, names of src/lib/train/dit-task.ts")
    p.add_argument("--optim", help="optimiser settings as JSON, names of src/lib/train/optim.ts")
    p.add_argument("--override", help="DiT config fields as JSON, over the preset")
    p.add_argument("--init", help="start from these DiT weights (a TensorFlow.js weights folder such as weights/realtime/dit, or a run's model.safetensors) instead of a seeded initialisation")
    p.add_argument("--distill-guidance", type=float, dest="distill_guidance", help="distil classifier-free guidance at this scale from the --init weights (the frozen teacher) into one conditional pass")
    p.add_argument("--teacher", help="with --distill-guidance: the frozen teacher's DiT weights, when they are not the --init weights (to continue a distillation from its student)")
    p.add_argument("--still-from-data", action="store_true", default=None, dest="still_from_data", help="with --distill-guidance: clips in which the player holds no action learn the real frames instead of the teacher's prediction")
    p.add_argument("--checkpoint-every", type=int, default=100, dest="checkpoint_every")
    p.add_argument("--keep", type=int, default=3)
    p.add_argument("--minutes", type=float)
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--threads", type=int, help="torch threads per process (default: cores / local processes)")
    p.add_argument("--log-every", type=int, default=10, dest="log_every")
    return p.parse_args(argv)


def _json_flag(name: str, value: str | None) -> dict | None:
    if value is None:
        return None
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as e:
        raise GamedreamError("CLI_BAD_FLAG", f"--{name} must be a JSON object: {e}.") from e
    if not isinstance(parsed, dict):
        raise GamedreamError("CLI_BAD_FLAG", f"--{name} must be a JSON object, got {value}.")
    return parsed


DEFAULTS = {"trainer": "pytorch", "model": "dit", "preset": "realtime", "batch": 4, "lr": DEFAULT_OPTIM["lr"], "warmup": DEFAULT_OPTIM["warmupSteps"], "seed": 0, "train": {}, "optim": {}, "override": {}, "init": None, "distillGuidance": None, "teacher": None, "stillFromData": False}


def run_settings(args: argparse.Namespace, stored: dict | None) -> dict:
    """The run's settings: flags over RUN/run.json over defaults; a resumed run may not change them."""
    given = {
        "preset": args.preset,
        "data": None if args.data is None else os.path.abspath(args.data),
        "vae": None if args.vae is None else os.path.abspath(args.vae),
        "batch": args.batch,
        "lr": args.lr,
        "warmup": args.warmup,
        "seed": args.seed,
        "train": _json_flag("train", args.train),
        "optim": _json_flag("optim", args.optim),
        "override": _json_flag("override", args.override),
        "init": None if args.init is None else os.path.abspath(args.init),
        "distillGuidance": args.distill_guidance,
        "teacher": None if args.teacher is None else os.path.abspath(args.teacher),
        "stillFromData": args.still_from_data,
    }
    if args.clip_length is not None:
        given["train"] = {**(given["train"] or {}), "clipLength": args.clip_length}
    settings = merge_run_settings(args.out, given, stored, DEFAULTS, ("trainer", "pytorch"), "npm run train")
    if settings.get("data") is None:
        settings["data"] = os.path.join(REPO_ROOT, "data", "game")
    if settings.get("vae") is None:
        settings["vae"] = os.path.join(REPO_ROOT, "weights", settings["preset"], "vae")
    scale = settings.get("distillGuidance")
    if scale is not None:
        if not (math.isfinite(scale) and 1 <= scale <= 20):
            raise GamedreamError("CLI_BAD_FLAG", f"--distill-guidance must be a guidance scale from 1 to 20, got {scale}.")
        if not settings.get("init"):
            raise GamedreamError("CLI_BAD_FLAG", "--distill-guidance distils the --init weights (the teacher): pass --init weights/realtime/dit or a run's model.safetensors.")
    elif settings.get("teacher"):
        raise GamedreamError("CLI_BAD_FLAG", "--teacher names the frozen teacher of a distillation: pass --distill-guidance too.")
    elif settings.get("stillFromData"):
        raise GamedreamError("CLI_BAD_FLAG", "--still-from-data changes a distillation's targets: pass --distill-guidance too (without a teacher every clip learns the real frames already).")
    return settings


# ---------------------------------------------------------------------------------------------
# Distributed set-up


class Dist:
    """Rank, world size and device; a process group when torchrun started us."""

    def __init__(self, device_flag: str, threads: int | None):
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        local_world = int(os.environ.get("LOCAL_WORLD_SIZE", str(self.world)))
        use_cuda = device_flag == "cuda" or (device_flag == "auto" and torch.cuda.is_available())
        if device_flag == "cuda" and not torch.cuda.is_available():
            raise GamedreamError("NO_CUDA", "--device cuda was asked for but PyTorch sees no CUDA device; use --device cpu.")
        if use_cuda:
            torch.cuda.set_device(self.local_rank)
            self.device = torch.device("cuda", self.local_rank)
        else:
            self.device = torch.device("cpu")
        torch.set_num_threads(threads or max(1, (os.cpu_count() or 1) // local_world))
        self.backend = "nccl" if use_cuda else "gloo"
        if self.world > 1:
            dist.init_process_group(self.backend)

    @property
    def main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.world > 1:
            dist.barrier()

    def all_sum(self, t: torch.Tensor) -> torch.Tensor:
        if self.world > 1:
            t = t.to(self.device)
            dist.all_reduce(t)
        return t

    def close(self) -> None:
        if self.world > 1:
            dist.destroy_process_group()


def log(d: Dist, message: str) -> None:
    if d.main:
        print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Data: latents of the train split, encoded once by the run's VAE and cached in RUN/torch


def load_vae(folder: str) -> VAE:
    tensors, info = read_tfjs_weights(os.path.join(folder, "model.json"))
    extra = info.get("extra") or {}
    if extra.get("kind") != "vae" or not info.get("config"):
        raise GamedreamError("WEIGHTS_WRONG_MODEL", f"{folder}/model.json holds a {extra.get('kind', 'unknown')} model, not a VAE; pass the VAE folder with --vae.")
    vae = VAE(info["config"])
    load_into(vae, tensors, f"The VAE weights in {folder}")
    return vae.eval()


def latent_cache_key(reader: DatasetReader, vae_folder: str) -> str:
    h = hashlib.sha256()
    h.update(json.dumps([s["sha256"] for s in reader.manifest["shards"]]).encode())
    with open(os.path.join(vae_folder, "model.json"), "rb") as f:
        h.update(f.read())  # names every shard's SHA-256, so it changes with the weights
    return h.hexdigest()[:16]


@torch.no_grad()
def encode_latents(reader: DatasetReader, vae: VAE, log_fn) -> dict:
    """Scaled posterior means [frames, h, w, c] and conditioning actions per train episode."""
    episodes = []
    total = sum(e["frameCount"] for e in reader.episodes("train"))
    done = 0
    started = time.time()
    for e in reader.episodes("train"):
        parts = []
        for start in range(0, e["frameCount"], 16):
            n = min(16, e["frameCount"] - start)
            frames = torch.from_numpy(rgb_to_unit(np.asarray(reader.read_frames(e["id"], start, n))))
            parts.append(vae.encode_scaled(frames))
            done += n
        episodes.append({"id": e["id"], "latents": torch.cat(parts), "actions": torch.from_numpy(conditioning_actions(reader.read_actions(e["id"])))})
        log_fn(f"encoded {done}/{total} frames ({time.time() - started:.0f} s)")
    if not episodes:
        raise GamedreamError("DATASET_EMPTY", "The dataset's train split has no episodes to train on.")
    return {"episodes": episodes}


class ClipWindows:
    """Every window of `clip` frames of the latent episodes, and the clips of one step."""

    def __init__(self, data: dict, clip: int):
        self.latents = [e["latents"] for e in data["episodes"]]
        self.actions = [e["actions"] for e in data["episodes"]]
        self.index = [(i, s) for i, lat in enumerate(self.latents) for s in range(lat.shape[0] - clip + 1)]
        self.clip = clip
        if not self.index:
            longest = max(lat.shape[0] for lat in self.latents)
            raise GamedreamError("DATASET_CLIP_TOO_LONG", f"No train episode has {clip} frames (the longest has {longest}); use shorter clips or longer episodes.")

    def __len__(self) -> int:
        return len(self.index)

    def positions(self, step: int, global_batch: int, seed: int) -> list[int]:
        """Window indices of the global batch at `step`: epoch e is a permutation seeded by (seed, e)."""
        per_epoch = len(self.index) // global_batch
        if per_epoch == 0:
            raise GamedreamError("DATASET_TOO_SMALL", f"The train split has {len(self.index)} clips of {self.clip} frames, fewer than one global batch ({global_batch}); use a smaller --batch, fewer processes or more data.")
        epoch, offset = divmod(step, per_epoch)
        perm = torch.randperm(len(self.index), generator=torch.Generator().manual_seed(seed * 100_003 + epoch))
        return perm[offset * global_batch : (offset + 1) * global_batch].tolist()

    def batch(self, windows: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        lat = torch.stack([self.latents[i][s : s + self.clip] for i, s in (self.index[w] for w in windows)])
        act = torch.stack([self.actions[i][s : s + self.clip] for i, s in (self.index[w] for w in windows)])
        return lat, act


def sample_seed(seed: int, global_index: int, stream: int) -> int:
    """A seed per (run seed, sample, stream), the same whatever the number of processes."""
    h = hashlib.sha256(f"{seed}/{global_index}/{stream}".encode()).digest()
    return int.from_bytes(h[:4], "little") & 0x7FFFFFFF


def draw_noise(seed: int, first_index: int, latents: torch.Tensor, schedule, settings: dict):
    """Per clip: frame levels, mask and action-keep from `Rng` (the task's own draws), eps from torch."""
    ts, masks, keeps, eps = [], [], [], []
    for i in range(latents.shape[0]):
        t, m, k = draw_frame_noise(Rng(sample_seed(seed, first_index + i, 0)), 1, latents.shape[1], schedule, settings)
        ts.append(t)
        masks.append(m)
        keeps.append(k)
        g = torch.Generator().manual_seed(sample_seed(seed, first_index + i, 1))
        eps.append(torch.randn(latents.shape[1:], generator=g))
    return torch.cat(ts), torch.cat(masks), torch.cat(keeps), torch.stack(eps)


# ---------------------------------------------------------------------------------------------
# Optimiser (src/lib/train/optim.ts)


def learning_rate_at(step: int, total: int, optim: dict) -> float:
    lr, warmup, min_ratio = optim["lr"], optim["warmupSteps"], optim["minLrRatio"]
    if step < warmup:
        return (lr * (step + 1)) / warmup
    span = max(1, total - 1 - warmup)
    progress = min(1.0, (step - warmup) / span)
    low = lr * min_ratio
    return low + (lr - low) * 0.5 * (1 + math.cos(math.pi * progress))


class AdamW:
    """tfjs Adam plus decoupled decay of every matrix (rank >= 2), as `adamWStep`: decay applies
    even to a weight that got no gradient this step, Adam only to those that did."""

    def __init__(self, params: list[torch.nn.Parameter], optim: dict):
        self.params = params
        self.optim = optim
        self.adam = torch.optim.Adam(params, lr=optim["lr"], betas=(optim["beta1"], optim["beta2"]), eps=optim["epsilon"])

    @torch.no_grad()
    def step(self, lr: float) -> None:
        wd = self.optim["weightDecay"]
        if wd > 0:
            for p in self.params:
                if p.dim() >= 2:
                    p.mul_(1 - lr * wd)
        for group in self.adam.param_groups:
            group["lr"] = lr
        self.adam.step()


@torch.no_grad()
def clip_by_global_norm(params, max_norm: float) -> float:
    grads = [p.grad for p in params if p.grad is not None]
    norm = torch.sqrt(sum((g.double() ** 2).sum() for g in grads)).float() if grads else torch.tensor(0.0)
    if max_norm > 0 and math.isfinite(max_norm):
        scale = torch.clamp(max_norm / (norm + 1e-6), max=1.0)
        for g in grads:
            g.mul_(scale.to(g.device))
    return float(norm)


class Ema:
    def __init__(self, model: torch.nn.Module, decay: float):
        self.decay = decay
        self.shadow = {k: v.detach().clone() for k, v in model.state_dict().items()}

    @torch.no_grad()
    def update(self, model: torch.nn.Module, n: int) -> None:
        d = min(self.decay, (1 + n) / (10 + n))
        for k, v in model.state_dict().items():
            self.shadow[k].mul_(d).add_(v.detach(), alpha=1 - d)


def train_step(d: Dist, net, model, params, optimizer: AdamW, ema: Ema | None, latents, actions, schedule, settings: dict, optim: dict, seed: int, step: int, total_steps: int, teacher=None, distill_scale: float | None = None, still_from_data: bool = False):
    """One optimiser step on this rank's clips (0-based `step`): noise, masked loss over the global
    batch (the diffusion loss, or with a `teacher` the guidance-distillation loss at `distill_scale`),
    gradients (averaged by DDP), clipping, AdamW, EMA. Returns (global loss, gradient norm, lr); a
    non-finite loss or gradient skips the update, as src/lib/train/loop.ts does."""
    lr = learning_rate_at(step, total_steps, optim)
    b = latents.shape[0]
    first_index = step * b * d.world + d.rank * b
    timesteps, mask, keep, eps = draw_noise(seed, first_index, latents, schedule, settings)
    to = lambda t: t.to(d.device, non_blocking=True)  # noqa: E731
    if teacher is None:
        total, count = dit_loss_terms(net, to(latents), to(actions), schedule, settings, timesteps, to(mask), to(keep), to(eps))
    else:
        total, count = guidance_distillation_terms(net, teacher, to(latents), to(actions), schedule, timesteps, to(mask), to(eps), distill_scale, settings, still_from_data)
    global_count = d.all_sum(count.detach().clone().to(d.device))
    # Each rank's share of the global masked sum, scaled by the world size: DDP's average of the
    # ranks' gradients is then the gradient of the global batch's loss.
    loss = total / torch.clamp(global_count, min=1e-12) * d.world
    for p in params:
        p.grad = None
    loss.backward()
    grad_norm = clip_by_global_norm(params, optim["clipNorm"])
    global_loss = float(d.all_sum(total.detach().clone()) / torch.clamp(global_count, min=1e-12))
    if math.isfinite(global_loss) and math.isfinite(grad_norm):
        optimizer.step(lr)
        if ema is not None:
            ema.update(model, step)
    return global_loss, grad_norm, lr


# ---------------------------------------------------------------------------------------------
# Checkpoints (rank 0): RUN/torch/step-NNNNNNN.pt + .sha256, newest good one wins


def _ckpt_dir(run: str) -> str:
    return os.path.join(run, CHECKPOINT_DIR)


def list_checkpoints(run: str) -> list[str]:
    folder = _ckpt_dir(run)
    if not os.path.isdir(folder):
        return []
    return sorted(f for f in os.listdir(folder) if f.startswith("step-") and f.endswith(".pt"))


def save_checkpoint(run: str, state: dict, keep: int) -> str:
    buf = io.BytesIO()
    torch.save(state, buf)
    data = buf.getvalue()
    name = f"step-{state['step']:07d}.pt"
    folder = _ckpt_dir(run)
    os.makedirs(folder, exist_ok=True)
    for fname, payload in ((name, data), (f"{name}.sha256", hashlib.sha256(data).hexdigest().encode())):
        tmp = os.path.join(folder, f"{fname}.tmp-{os.getpid()}")
        with open(tmp, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, os.path.join(folder, fname))
    for old in list_checkpoints(run)[:-keep]:
        for fname in (old, f"{old}.sha256"):
            try:
                os.remove(os.path.join(folder, fname))
            except FileNotFoundError:
                pass
    return name


def load_latest_checkpoint(run: str, log_fn) -> dict | None:
    """The newest checkpoint whose SHA-256 matches; a damaged one is skipped for the one before."""
    for name in reversed(list_checkpoints(run)):
        path = os.path.join(_ckpt_dir(run), name)
        try:
            with open(path, "rb") as f:
                data = f.read()
            with open(f"{path}.sha256", encoding="utf-8") as f:
                expected = f.read().strip()
        except OSError:
            log_fn(f"warning[CHECKPOINT_CORRUPT]: {name} is incomplete; resuming from an earlier checkpoint instead.")
            continue
        if hashlib.sha256(data).hexdigest() != expected:
            log_fn(f"warning[CHECKPOINT_CORRUPT]: {name} does not match its SHA-256; resuming from an earlier checkpoint instead.")
            continue
        return torch.load(io.BytesIO(data), map_location="cpu")
    return None


# ---------------------------------------------------------------------------------------------
# Export (rank 0): safetensors, then TensorFlow.js manifests read from it, and one archive


def shipped_vae(vae_folder: str, preset: str) -> bool:
    """Whether the run's VAE is the repository's shipped one for its preset (same manifest bytes)."""
    shipped = os.path.join(REPO_ROOT, "weights", preset, "vae", "model.json")
    try:
        with open(os.path.join(vae_folder, "model.json"), "rb") as a, open(shipped, "rb") as b:
            return a.read() == b.read()
    except OSError:
        return False


def export(run: str, dit_config: dict, ema: dict, step: int, settings: dict, run_settings: dict) -> dict:
    """RUN/model.safetensors (EMA weights; kind, step, config and training settings in the metadata)
    and RUN/config.json (`{kind, model, settings, runInfo}`, a checkpoint's config as src/lib/train/loop.ts
    writes it): the pair the Play page imports. Then, read back from that safetensors file,
    RUN/weights/dit (TensorFlow.js manifest with SHA-256s, as `npm run train` writes) beside
    RUN/weights/vae (the run's VAE as it is): a weights folder for `npm run sample` / `npm run eval`."""
    vae_folder = run_settings["vae"]
    run_info: dict = {"trainer": "pytorch", "preset": run_settings["preset"], "data": run_settings["data"], "vae": vae_folder}
    if shipped_vae(vae_folder, run_settings["preset"]):
        # The Play page pairs a run with the VAE its session names (src/lib/play/model-choice.ts).
        run_info["session"] = {"model": "dit", "preset": run_settings["preset"], "vae": {"kind": "shipped"}}
    st_path = os.path.join(run, "model.safetensors")
    save_safetensors(st_path, ema, {"format": "gamedream", "kind": "dit", "step": str(step), "weights": "ema", "config": json.dumps(dit_config), "settings": json.dumps(settings), "trainer": "pytorch"})
    config_path = os.path.join(run, "config.json")
    distilled = run_settings.get("distillGuidance") is not None
    # One conditional pass now gives what guidance at this scale gave the teacher: play it unguided.
    # A fine-tune of a guidance-distilled DiT keeps the guidance its starting weights play at.
    sampling = {"guidanceScale": 1} if distilled else recorded_guidance(run_settings.get("init"))
    if reuses_last_step(settings):
        # Trained on caches of each frame's last sampling step: play it that way, with no context pass.
        sampling["cacheUpdate"] = "reuse-last-step"
    with open(f"{config_path}.tmp", "w", encoding="utf-8") as f:
        json.dump({"kind": "dit", "model": dit_config, "settings": settings, "runInfo": run_info, **({"sampling": sampling} if sampling else {})}, f, indent=1)
    os.replace(f"{config_path}.tmp", config_path)

    tensors, metadata = load_safetensors(st_path)
    with open(os.path.join(vae_folder, "model.json"), encoding="utf-8") as f:
        vae_scale = json.load(f).get("gamedream", {}).get("config", {}).get("latentScale")
    extra = {"kind": "dit", "weights": metadata["weights"], "settings": json.loads(metadata["settings"]), "vae": vae_folder, "vaeLatentScale": vae_scale, "trainer": "pytorch"}
    if distilled:
        extra["guidanceDistillation"] = {"scale": run_settings["distillGuidance"], "teacher": run_settings.get("teacher") or run_settings["init"]}
        if run_settings.get("stillFromData"):
            extra["guidanceDistillation"]["stillFromData"] = True
    if sampling:
        extra["sampling"] = sampling
    weights = os.path.join(run, "weights")
    tmp = f"{weights}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    write_tfjs_weights_dir(os.path.join(tmp, "dit"), tensors, config=json.loads(metadata["config"]), step=int(metadata["step"]), extra=extra)
    shutil.copytree(vae_folder, os.path.join(tmp, "vae"), ignore=shutil.ignore_patterns("*.tmp-*"))
    shutil.rmtree(weights, ignore_errors=True)
    os.replace(tmp, weights)
    return {"safetensors": st_path, "config": config_path, "weights": weights}


# ---------------------------------------------------------------------------------------------
# Training


def init_from(model: DiT, source: str, dit_config: dict, flag: str = "--init") -> None:
    """Loads the starting weights of a fine-tuning run (or a distillation's teacher, `flag`): a
    TensorFlow.js DiT folder (its manifest's config must equal this run's) or a safetensors file
    this trainer exported."""
    if source.endswith(".safetensors"):
        if not os.path.exists(source):
            raise GamedreamError("CLI_BAD_FLAG", f"{flag} {source}: there is no such file.")
        tensors, metadata = load_safetensors(source)
        saved = json.loads(metadata.get("config", "null"))
    else:
        tensors, info = read_tfjs_weights(source)
        saved = info.get("config")
    if saved is not None and saved != dit_config:
        changed = sorted(k for k in set(saved) | set(dit_config) if saved.get(k) != dit_config.get(k))
        raise GamedreamError("CLI_BAD_FLAG", f"{flag} {source} holds a DiT whose config differs from this run's in {changed}; pass the same --preset/--override it was trained with.")
    load_into(model, tensors, f"The {flag} weights {source}")


def recorded_guidance(init: str | None) -> dict:
    """`{"guidanceScale": g}` when the --init weights record a sampling default for guidance (a
    TensorFlow.js folder's manifest `extra.sampling`, or the config.json beside a run's
    model.safetensors), else {}."""
    if not init:
        return {}
    if init.endswith(".safetensors"):
        path, key = os.path.join(os.path.dirname(init), "config.json"), lambda m: m.get("sampling")
    else:
        path, key = os.path.join(init, "model.json"), lambda m: (m.get("gamedream") or {}).get("extra", {}).get("sampling")
    if not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as f:
        sampling = key(json.load(f)) or {}
    return {"guidanceScale": sampling["guidanceScale"]} if "guidanceScale" in sampling else {}


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    run = os.path.abspath(args.out)
    settings = run_settings(args, read_run_settings(run))
    d = Dist(args.device, args.threads)
    try:
        return train(args, run, settings, d)
    finally:
        d.close()


def train(args: argparse.Namespace, run: str, rs: dict, d: Dist) -> int:
    preset = get_preset(rs["preset"])
    if not os.path.exists(os.path.join(rs["data"], "manifest.json")):
        raise GamedreamError("CLI_BAD_FLAG", f"There is no dataset in {rs['data']}; build one with `npm run dataset -- --episodes 8 --frames 128 --out DIR` or pass --data DIR.")
    if not os.path.exists(os.path.join(rs["vae"], "model.json")):
        raise GamedreamError("CLI_BAD_FLAG", f"The DiT trains on latents of a VAE, and {rs['vae']} has no model.json; train one with `npm run train -- --model vae`, or pass --vae DIR.")
    reader = DatasetReader(rs["data"])
    vae = load_vae(rs["vae"])
    h, w, c = vae_latent_shape(vae.config)
    dit_config = {**preset["dit"], "latentHeight": h, "latentWidth": w, "latentChannels": c, **rs["override"]}
    settings = train_settings(rs["train"])
    optim = {**DEFAULT_OPTIM, "lr": rs["lr"], "warmupSteps": rs["warmup"], **rs["optim"]}
    if d.main:
        write_run_settings(run, rs)
    torch.manual_seed(rs["seed"])
    model = DiT(dit_config, seed=rs["seed"]).to(d.device)
    if rs.get("init"):
        init_from(model, rs["init"], dit_config)
    validate_train_settings(settings, dit_config)
    teacher = None
    if rs.get("distillGuidance") is not None:
        if not dit_option(dit_config, "nullAction"):
            raise GamedreamError("CLI_BAD_FLAG", "--distill-guidance needs a teacher DiT with a learned null action (nullAction); this one has none.")
        if rs.get("teacher"):
            teacher = DiT(dit_config, seed=rs["seed"]).to(d.device)
            init_from(teacher, rs["teacher"], dit_config, "--teacher")
        else:
            teacher = copy.deepcopy(model)  # the --init weights, just loaded (a resumed run's checkpoint loads later)
        teacher.eval()
        for p in teacher.parameters():
            p.requires_grad_(False)
    schedule = schedule_of(settings)

    # Latents: rank 0 verifies the dataset and encodes (or finds the cache); the others wait.
    cache = os.path.join(run, CHECKPOINT_DIR, f"latents-train-{latent_cache_key(reader, rs['vae'])}.pt")
    if d.main and not os.path.exists(cache):
        reader.verify()
        data = encode_latents(reader, vae, lambda m: log(d, m))
        os.makedirs(os.path.dirname(cache), exist_ok=True)
        torch.save(data, f"{cache}.tmp")
        os.replace(f"{cache}.tmp", cache)
    d.barrier()
    windows = ClipWindows(torch.load(cache), settings["clipLength"])
    del vae

    params = list(model.parameters())
    optimizer = AdamW(params, optim)
    ema = Ema(model, optim["emaDecay"]) if optim["emaDecay"] > 0 else None
    step = 0
    history: list[dict] = []
    checkpoint = load_latest_checkpoint(run, lambda m: log(d, m))
    if checkpoint is not None:
        for what, saved, now in (("model config", checkpoint["config"], dit_config), ("training settings", checkpoint["settings"], settings), ("optimiser settings", checkpoint["optim"], optim)):
            if saved != now:
                raise GamedreamError("CHECKPOINT_MISMATCH", f"The checkpoint in {run} was saved by a run with a different {what}; start a new run (another --out) or use the same settings.")
        load_into(model, checkpoint["model"], "The checkpoint's weights")
        optimizer.adam.load_state_dict(checkpoint["optimizer"])
        if ema is not None:
            ema.shadow = {k: v.to(d.device) for k, v in checkpoint["ema"].items()}
        torch.set_rng_state(checkpoint["rng"]["torch"])
        step = checkpoint["step"]
        history = checkpoint["metrics"]
        log(d, f"resumed {run} from step {step}")

    # The null action gets no gradient without dropout, nor in distillation (the student is conditional).
    unused = dit_option(dit_config, "nullAction") and (settings.get("actionDropout", 0) == 0 or teacher is not None)
    net = torch.nn.parallel.DistributedDataParallel(model, device_ids=[d.device.index] if d.device.type == "cuda" else None, find_unused_parameters=unused) if d.world > 1 else model

    stop = StopRequest(lambda m: log(d, m))
    deadline = None if args.minutes is None else time.time() + args.minutes * 60

    def checkpoint_now() -> None:
        if d.main:
            state = {
                "step": step, "model": {k: v.cpu() for k, v in model.state_dict().items()}, "optimizer": optimizer.adam.state_dict(),
                "ema": None if ema is None else {k: v.cpu() for k, v in ema.shadow.items()}, "rng": {"torch": torch.get_rng_state(), "seed": rs["seed"]},
                "config": dit_config, "settings": settings, "optim": optim, "metrics": history, "world": d.world,
            }
            name = save_checkpoint(run, state, args.keep)
            log(d, f"checkpoint {name}")
        d.barrier()

    B = rs["batch"]
    global_batch = B * d.world
    started = time.time()
    first = step
    last_saved = step
    log(d, f"training {rs['preset']} DiT: {sum(p.numel() for p in params) / 1e6:.2f}M parameters, {len(windows)} clips of {settings['clipLength']} frames, "
           f"batch {B} x {d.world} process(es) on {d.device} ({d.backend}, {torch.get_num_threads()} threads each), steps {step}->{args.steps}")
    while step < args.steps:
        t0 = time.time()
        positions = windows.positions(step, global_batch, rs["seed"])
        latents, actions = windows.batch(positions[d.rank * B : (d.rank + 1) * B])
        global_loss, grad_norm, lr = train_step(d, net, model, params, optimizer, ema, latents, actions, schedule, settings, optim, rs["seed"], step, args.steps, teacher, rs.get("distillGuidance"), bool(rs.get("stillFromData")))
        if not (math.isfinite(global_loss) and math.isfinite(grad_norm)):
            log(d, f"warning[TRAIN_NON_FINITE]: step {step + 1} gave a non-finite loss or gradient (loss {global_loss}, gradient norm {grad_norm}); the update was skipped.")
        step += 1
        ms = (time.time() - t0) * 1000
        history.append({"step": step, "loss": global_loss, "gradNorm": grad_norm, "lr": lr, "stepMs": ms, "batchSize": global_batch})
        if d.main and (step % args.log_every == 0 or step == args.steps):
            rate = (step - first) / max(1e-9, time.time() - started)
            log(d, f"step {step}/{args.steps} loss {global_loss:.4f} lr {lr:.1e} {ms:.0f} ms/step {rate:.2f} steps/s")
        flags = d.all_sum(torch.tensor([1.0 if stop.asked or (deadline is not None and time.time() > deadline) else 0.0]))
        if step % args.checkpoint_every == 0 and step < args.steps:
            checkpoint_now()
            last_saved = step
        if float(flags) > 0:
            break
    if step != last_saved:
        checkpoint_now()
    seconds = time.time() - started
    done = step >= args.steps
    exported = None
    if d.main:
        weights = ema.shadow if ema is not None else model.state_dict()
        exported = export(run, dit_config, {k: v.cpu() for k, v in weights.items()}, step, settings, rs)
    d.barrier()
    if d.main:
        recent = history[-20:]
        summary = {
            "run": run, "trainer": "pytorch", "preset": rs["preset"], "state": "done" if done else "stopped", "step": step, "resumedFrom": first,
            "processes": d.world, "device": str(d.device), "backend": d.backend, "threads": torch.get_num_threads(), "batch": B, "globalBatch": global_batch,
            "loss": float(np.mean([m["loss"] for m in recent])) if recent else None,
            "msPerStep": float(np.mean([m["stepMs"] for m in recent])) if recent else None,
            "stepsPerSec": (step - first) / seconds if seconds > 0 and step > first else None, "seconds": round(seconds, 1),
            **({"exported": exported} if exported else {}),
        }
        print(json.dumps(summary), flush=True)
    return 0


def cli() -> None:
    run_cli(main)


if __name__ == "__main__":
    cli()
