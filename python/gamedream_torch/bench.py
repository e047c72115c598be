"""Steps per second of the PyTorch trainer's step (gamedream_torch.train `train_step`: noise draws,
masked loss, backward, clipping, AdamW, EMA) on random latents, one process, as
src/lib/bench/perf.ts `measureTrainStep` times the tfjs one. `npm run bench` (bench/pytorch.ts)
runs it at 1 and 2 threads beside the tfjs trainer.

    python3 -m gamedream_torch.bench --preset realtime --batch 4 --frames 3 --steps 10 --threads 1

Prints one JSON line: msPerStep (median), stepsPerSec, p10/p90, threads, torch version.
"""
from __future__ import annotations

import argparse
import json
import os
import time

import torch

from .config import DEFAULT_OPTIM, PRESET_NAMES, get_preset
from .dit import DiT
from .task import schedule_of, train_settings
from .train import AdamW, Dist, Ema, train_step


def main() -> None:
    p = argparse.ArgumentParser(prog="gamedream_torch.bench")
    p.add_argument("--preset", default="realtime", choices=PRESET_NAMES)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--frames", type=int)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    args = p.parse_args()
    d = Dist(args.device, args.threads)
    preset = get_preset(args.preset)
    settings = train_settings({"clipLength": args.frames} if args.frames else {})
    cfg = preset["dit"]
    model = DiT(cfg, seed=0).to(d.device)
    params = list(model.parameters())
    optim = dict(DEFAULT_OPTIM)
    optimizer = AdamW(params, optim)
    ema = Ema(model, optim["emaDecay"])
    schedule = schedule_of(settings)
    g = torch.Generator().manual_seed(2)
    frames = settings["clipLength"]
    latents = torch.randn(args.batch, frames, cfg["latentHeight"], cfg["latentWidth"], cfg["latentChannels"], generator=g)
    actions = (torch.randn(args.batch, frames, cfg["actionDim"], generator=g) > 1).float()
    samples = []
    for i in range(args.warmup + args.steps):
        t0 = time.perf_counter()
        train_step(d, model, model, params, optimizer, ema, latents, actions, schedule, settings, optim, 0, i, 1000)
        if d.device.type == "cuda":
            torch.cuda.synchronize()
        if i >= args.warmup:
            samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    median = samples[len(samples) // 2]
    print(json.dumps({
        "preset": args.preset, "batch": args.batch, "frames": frames, "threads": torch.get_num_threads(), "device": str(d.device),
        "msPerStep": median, "stepsPerSec": 1000 / median, "p10Ms": samples[len(samples) // 10], "p90Ms": samples[(len(samples) * 9) // 10],
        "steps": args.steps, "torch": torch.__version__, "blasThreads": os.environ.get("OPENBLAS_NUM_THREADS"),
    }))


if __name__ == "__main__":
    main()
