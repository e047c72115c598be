"""Fine-tunes the decoder of a trained VAE with PyTorch, its encoder frozen:

    PYTHONPATH=python python3 -m gamedream_torch.tune_decoder --vae weights/realtime/vae --data DIR --out RUN
        [--steps 20000] [--batch 8] [--lr 3e-4] [--warmup 100] [--min-lr-ratio 0.05] [--seed 0]
        [--heldout-every 1000] [--heldout-frames 160] [--checkpoint-every 1000] [--keep 3]
        [--minutes M] [--device auto|cpu|cuda] [--threads T]

Why the decoder alone. The encoder (and its `latentScale`) defines the latent space every DiT
trained on this VAE lives in; a new encoder would make those DiTs useless. The decoder only maps
latents to pixels, so a better decoder raises the reconstruction ceiling, and every frame a paired
DiT dreams, without retraining the DiT. The architecture stays the same, so play costs the same.

Each step: `--batch` frames drawn from the dataset's train split by a generator seeded by (seed,
step) (a resumed run draws the frames an uninterrupted one would), encoded to posterior means by the
frozen encoder, decoded, and the decoder moved by Adam on the pixel MSE (what reconstruction PSNR
measures). The learning rate warms up for --warmup steps, then follows a cosine to
lr x --min-lr-ratio at --steps.

Held-out reconstruction PSNR (the mean over frames of 10 log10(2^2 / MSE), src/lib/core/image-metrics.ts)
on --heldout-frames frames spread evenly over the held-out split is measured before the first step,
every --heldout-every steps and at the end, logged and kept in the checkpoints' metrics.

RUN/run.json holds the settings (a resumed run must not change them); checkpoints go to RUN/torch/
(as gamedream_torch.train: SHA-256 checked, newest --keep kept, every --checkpoint-every steps, at the
end and on SIGINT/SIGTERM); at the end RUN/weights/vae/ holds the TensorFlow.js weights folder (the
encoder and config unchanged, `extra.decoderTuning` recording the run and its held-out PSNR
before/after). Progress on stderr, one JSON summary line on stdout; errors as `error[CODE]: message`.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
import time

import numpy as np
import torch

from .dataset import DatasetReader, rgb_to_unit
from .errors import GamedreamError, StopRequest, run_cli
from .run_settings import merge_run_settings, read_run_settings, write_run_settings
from .train import learning_rate_at, load_latest_checkpoint, load_vae, save_checkpoint
from .weights import write_tfjs_weights_dir

PSNR_CAP_DB = 100.0


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="gamedream_torch.tune_decoder", description="Fine-tune a VAE's decoder (encoder frozen) on a dataset's frames.")
    p.add_argument("--vae", help="TensorFlow.js weights folder of the VAE to start from")
    p.add_argument("--data", help="dataset folder (npm run dataset)")
    p.add_argument("--out", required=True)
    p.add_argument("--steps", type=int, default=20000)
    p.add_argument("--batch", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--warmup", type=int)
    p.add_argument("--min-lr-ratio", type=float, dest="min_lr_ratio")
    p.add_argument("--seed", type=int)
    p.add_argument("--heldout-every", type=int, default=1000, dest="heldout_every")
    p.add_argument("--heldout-frames", type=int, default=160, dest="heldout_frames")
    p.add_argument("--checkpoint-every", type=int, default=1000, dest="checkpoint_every")
    p.add_argument("--keep", type=int, default=3)
    p.add_argument("--minutes", type=float)
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--threads", type=int, help="torch threads (default: all cores)")
    p.add_argument("--log-every", type=int, default=100, dest="log_every")
    return p.parse_args(argv)


DEFAULTS = {"trainer": "pytorch", "model": "vae-decoder", "batch": 8, "lr": 3e-4, "warmup": 100, "minLrRatio": 0.05, "seed": 0}


def run_settings(args: argparse.Namespace, stored: dict | None) -> dict:
    """Flags over RUN/run.json over defaults; a resumed run may not change them."""
    given = {
        "vae": None if args.vae is None else os.path.abspath(args.vae),
        "data": None if args.data is None else os.path.abspath(args.data),
        "batch": args.batch,
        "lr": args.lr,
        "warmup": args.warmup,
        "minLrRatio": args.min_lr_ratio,
        "seed": args.seed,
    }
    settings = merge_run_settings(args.out, given, stored, DEFAULTS, ("model", "vae-decoder"), "unknown")
    for key in ("vae", "data"):
        if not settings.get(key):
            raise GamedreamError("CLI_BAD_FLAG", f"--{key} is required for a new run.")
    if not os.path.exists(os.path.join(settings["vae"], "model.json")):
        raise GamedreamError("CLI_BAD_FLAG", f"{settings['vae']} has no model.json; pass the VAE's weights folder (weights/realtime/vae).")
    if not os.path.exists(os.path.join(settings["data"], "manifest.json")):
        raise GamedreamError("CLI_BAD_FLAG", f"There is no dataset in {settings['data']}; build one with `npm run dataset -- --out DIR`.")
    if not (isinstance(settings["batch"], int) and settings["batch"] >= 1):
        raise GamedreamError("CLI_BAD_FLAG", f"--batch must be at least 1, got {settings['batch']}.")
    if not (math.isfinite(settings["lr"]) and settings["lr"] > 0):
        raise GamedreamError("CLI_BAD_FLAG", f"--lr must be positive, got {settings['lr']}.")
    if not (0 <= settings["minLrRatio"] <= 1):
        raise GamedreamError("CLI_BAD_FLAG", f"--min-lr-ratio must lie in [0, 1], got {settings['minLrRatio']}.")
    if not (isinstance(settings["warmup"], int) and settings["warmup"] >= 0):
        raise GamedreamError("CLI_BAD_FLAG", f"--warmup must be a step count >= 0, got {settings['warmup']}.")
    return settings


def folder_digest(folder: str) -> str:
    """SHA-256 of a weights folder's model.json (it names its shards' SHA-256s)."""
    with open(os.path.join(folder, "model.json"), "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class FramePicker:
    """Frames of one split by (episode, index), read from the mapped shards on demand."""

    def __init__(self, reader: DatasetReader, split: str):
        self.reader = reader
        self.episodes = [e for e in reader.episodes(split) if e["frameCount"] > 0]
        if not self.episodes:
            raise GamedreamError("DATASET_EMPTY", f"The dataset in {reader.directory} has no {split} frames.")
        self.starts = np.cumsum([0] + [e["frameCount"] for e in self.episodes])

    @property
    def count(self) -> int:
        return int(self.starts[-1])

    def frames(self, indices) -> torch.Tensor:
        """[n, 256, 256, 3] in [-1, 1] of the split's frames at these flat indices."""
        out = []
        for i in indices:
            e = int(np.searchsorted(self.starts, i, side="right") - 1)
            out.append(self.reader.read_frames(self.episodes[e]["id"], int(i - self.starts[e]), 1)[0])
        return torch.from_numpy(rgb_to_unit(np.stack(out)))


def batch_indices(seed: int, step: int, batch: int, count: int) -> np.ndarray:
    """The train frames of 0-based `step`: a function of (seed, step) alone, so resuming changes nothing."""
    return np.random.default_rng([seed, step]).integers(0, count, batch)


def psnr_per_frame(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """10 log10(range^2 / MSE) per frame, range 2 ([-1, 1]), capped as src/lib/core/image-metrics.ts."""
    floor = 4 * 10 ** (-PSNR_CAP_DB / 10)
    mse = ((a - b) ** 2).flatten(1).mean(1).clamp_min(floor)
    return 10 * torch.log10(4 / mse)


@torch.no_grad()
def heldout_psnr(vae, means: torch.Tensor, frames: torch.Tensor, device: torch.device, chunk: int = 16) -> float:
    values = [psnr_per_frame(vae.decode(means[i : i + chunk].to(device)).cpu(), frames[i : i + chunk]) for i in range(0, len(frames), chunk)]
    return float(torch.cat(values).mean())


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    run = os.path.abspath(args.out)
    rs = run_settings(args, read_run_settings(run))
    if args.steps < 1:
        raise GamedreamError("CLI_BAD_FLAG", f"--steps must be at least 1, got {args.steps}.")
    use_cuda = args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available())
    if args.device == "cuda" and not torch.cuda.is_available():
        raise GamedreamError("NO_CUDA", "--device cuda was asked for but PyTorch sees no CUDA device; use --device cpu.")
    device = torch.device("cuda" if use_cuda else "cpu")
    if args.threads:
        torch.set_num_threads(args.threads)
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731

    write_run_settings(run, rs)
    vae = load_vae(rs["vae"]).to(device)
    if vae.config.get("reconLoss", "mse") != "mse":
        raise GamedreamError("CLI_BAD_FLAG", f"This VAE was trained with reconLoss \"{vae.config['reconLoss']}\"; the decoder tuner fits pixel MSE only.")
    for name, p in vae.named_parameters():
        p.requires_grad_(name.startswith("decoder."))
    params = [p for p in vae.parameters() if p.requires_grad]
    optim = {"lr": rs["lr"], "warmupSteps": rs["warmup"], "minLrRatio": rs["minLrRatio"]}
    adam = torch.optim.Adam(params, lr=rs["lr"], betas=(0.9, 0.99), eps=1e-8)

    reader = DatasetReader(rs["data"])
    train = FramePicker(reader, "train")
    held = FramePicker(reader, "heldout")
    picks = np.linspace(0, held.count - 1, min(args.heldout_frames, held.count)).round().astype(int)
    held_frames = held.frames(picks)
    with torch.no_grad():
        held_means = torch.cat([vae.encode(held_frames[i : i + 16].to(device))[0].cpu() for i in range(0, len(held_frames), 16)])

    step = 0
    history: list[dict] = []
    heldout: list[dict] = []
    checkpoint = load_latest_checkpoint(run, log)
    if checkpoint is not None:
        if checkpoint.get("kind") != "vae-decoder" or checkpoint["config"] != vae.config:
            raise GamedreamError("CHECKPOINT_MISMATCH", f"The checkpoint in {run} was saved by another kind of run or VAE config; pass another --out.")
        vae.load_state_dict(checkpoint["model"])
        adam.load_state_dict(checkpoint["optimizer"])
        step, history, heldout = checkpoint["step"], checkpoint["metrics"], checkpoint["heldout"]
        log(f"resumed {run} from step {step}")
    else:
        heldout.append({"step": 0, "psnr": heldout_psnr(vae, held_means, held_frames, device)})
    before = heldout[0]["psnr"]
    log(f"tuning the decoder of {rs['vae']}: {sum(p.numel() for p in params)} parameters, {train.count} train frames, batch {rs['batch']} on {device} "
        f"({torch.get_num_threads()} threads), steps {step}->{args.steps}; held-out PSNR {heldout[-1]['psnr']:.3f} dB at step {heldout[-1]['step']} over {len(picks)} frames")

    stop = StopRequest(log)
    deadline = None if args.minutes is None else time.time() + args.minutes * 60

    def checkpoint_now() -> None:
        state = {"kind": "vae-decoder", "step": step, "model": {k: v.cpu() for k, v in vae.state_dict().items()}, "optimizer": adam.state_dict(),
                 "config": vae.config, "settings": rs, "metrics": history, "heldout": heldout}
        log(f"checkpoint {save_checkpoint(run, state, args.keep)}")

    def measure() -> None:
        if heldout[-1]["step"] != step:
            heldout.append({"step": step, "psnr": heldout_psnr(vae, held_means, held_frames, device)})
            log(f"step {step}: held-out PSNR {heldout[-1]['psnr']:.3f} dB ({heldout[-1]['psnr'] - before:+.3f})")

    started = time.time()
    first = step
    last_saved = step
    while step < args.steps and not stop.asked and (deadline is None or time.time() < deadline):
        t0 = time.time()
        lr = learning_rate_at(step, args.steps, optim)
        for group in adam.param_groups:
            group["lr"] = lr
        x = train.frames(batch_indices(rs["seed"], step, rs["batch"], train.count)).to(device)
        with torch.no_grad():
            mean, _ = vae.encode(x)
        loss = ((vae.decode(mean) - x) ** 2).mean()
        adam.zero_grad(set_to_none=True)
        loss.backward()
        value = float(loss)
        if math.isfinite(value):
            adam.step()
        else:
            log(f"warning[TRAIN_NON_FINITE]: step {step + 1} gave a non-finite loss ({value}); the update was skipped.")
        step += 1
        history.append({"step": step, "loss": value, "lr": lr, "stepMs": (time.time() - t0) * 1000})
        if step % args.log_every == 0 or step == args.steps:
            recent = history[-args.log_every :]
            rate = (step - first) / max(1e-9, time.time() - started)
            log(f"step {step}/{args.steps} loss {np.mean([m['loss'] for m in recent]):.5f} lr {lr:.1e} {rate:.2f} steps/s")
        if step % args.heldout_every == 0:
            measure()
        if step % args.checkpoint_every == 0 and step < args.steps:
            checkpoint_now()
            last_saved = step
    measure()
    if step != last_saved:
        checkpoint_now()

    with open(os.path.join(rs["vae"], "model.json"), encoding="utf-8") as f:
        source = json.load(f).get("gamedream", {})
    extra = {
        **(source.get("extra") or {"kind": "vae", "weights": "raw", "settings": None}),
        "decoderTuning": {
            "from": {"folder": rs["vae"], "modelJsonSha256": folder_digest(rs["vae"]), "step": source.get("step")},
            "steps": step, "batch": rs["batch"], "lr": rs["lr"], "warmup": rs["warmup"], "minLrRatio": rs["minLrRatio"], "seed": rs["seed"],
            "data": rs["data"], "heldoutFrames": len(picks), "heldoutPsnr": {"before": before, "after": heldout[-1]["psnr"]}, "curve": heldout,
        },
    }
    out = os.path.join(run, "weights", "vae")
    write_tfjs_weights_dir(out, {k: v.cpu() for k, v in vae.state_dict().items()}, config=vae.config, step=(source.get("step") or 0) + step, extra=extra)
    seconds = time.time() - started
    print(json.dumps({
        "run": run, "trainer": "pytorch", "model": "vae-decoder", "state": "done" if step >= args.steps else "stopped", "step": step, "resumedFrom": first,
        "heldoutPsnr": {"before": before, "after": heldout[-1]["psnr"]}, "stepsPerSec": (step - first) / seconds if seconds > 0 and step > first else None,
        "seconds": round(seconds, 1), "exported": out,
    }), flush=True)
    return 0


def cli() -> None:
    run_cli(main)


if __name__ == "__main__":
    cli()
