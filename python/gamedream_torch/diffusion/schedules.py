"""Noise schedules of src/lib/diffusion/schedules.ts as plain float64 arrays (numpy).

A schedule has T discrete timesteps; alpha_bar[t] is the signal fraction after t + 1 noising steps,
x_t = sqrt(ab) x0 + sqrt(1 - ab) eps. The DiT is conditioned on t / (T - 1); `alpha_bar_at` gives
alpha-bar at fractional t by interpolating log-SNR (sqrt(ab) next to a zero-terminal-SNR step).
Defaults come from the same table as the TypeScript one (presets.json, `scheduleDefaults`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..config import SCHEDULE_DEFAULTS
from ..errors import GamedreamError

KINDS = ("linear", "cosine", "sigmoid", "karras")


def _invalid(message: str) -> GamedreamError:
    return GamedreamError("SCHEDULE_INVALID", message)


def resolve_schedule_config(config: dict) -> dict:
    """Fills defaults and checks ranges (`resolveScheduleConfig`)."""
    kind = config.get("kind")
    if kind not in KINDS:
        raise _invalid(f"Unknown noise schedule \"{kind}\". Choose one of: {', '.join(KINDS)}.")
    resolved = {**SCHEDULE_DEFAULTS, "zeroTerminalSnr": False, **{k: v for k, v in config.items() if v is not None}}
    T, shift = resolved["T"], resolved["shift"]
    if not isinstance(T, int) or T < 2:
        raise _invalid(f"A schedule needs an integer number of timesteps T >= 2 (got {T}).")
    if not (shift > 0 and math.isfinite(shift)):
        raise _invalid(f"The resolution shift must be a positive number (got {shift}).")
    if kind == "linear" and not (0 < resolved["betaStart"] <= resolved["betaEnd"] < 1):
        raise _invalid(f"Linear betas need 0 < betaStart <= betaEnd < 1 (got {resolved['betaStart']}, {resolved['betaEnd']}).")
    if not (0 < resolved["maxBeta"] < 1):
        raise _invalid(f"maxBeta must lie in (0, 1) (got {resolved['maxBeta']}).")
    if kind == "sigmoid" and not (resolved["start"] < resolved["end"] and resolved["tau"] > 0):
        raise _invalid("Sigmoid schedules need start < end and tau > 0.")
    if kind == "karras" and not (0 < resolved["sigmaMin"] < resolved["sigmaMax"] and resolved["rho"] > 0):
        raise _invalid("Karras schedules need 0 < sigmaMin < sigmaMax and rho > 0.")
    return resolved


def linear_betas(T: int, beta_start: float, beta_end: float) -> np.ndarray:
    return np.array([beta_start + ((beta_end - beta_start) * t) / (T - 1) for t in range(T)], dtype=np.float64)


def _betas_from_curve(T: int, g, max_beta: float) -> np.ndarray:
    return np.array([min(1 - g((t + 1) / T) / g(t / T), max_beta) for t in range(T)], dtype=np.float64)


def cosine_alpha_bar_curve(u: float, s: float) -> float:
    f = lambda x: math.cos(((x + s) / (1 + s)) * (math.pi / 2)) ** 2  # noqa: E731
    return f(u) / f(0)


def sigmoid_alpha_bar_curve(u: float, start: float, end: float, tau: float) -> float:
    sig = lambda x: 1 / (1 + math.exp(-x / tau))  # noqa: E731
    v_start, v_end = sig(start), sig(end)
    return (v_end - sig(u * (end - start) + start)) / (v_end - v_start)


def karras_sigmas(n: int, sigma_min: float, sigma_max: float, rho: float) -> np.ndarray:
    hi = sigma_max ** (1 / rho)
    lo = sigma_min ** (1 / rho)
    return np.array([(hi + (0 if n == 1 else i / (n - 1)) * (lo - hi)) ** rho for i in range(n)], dtype=np.float64)


def alpha_bar_from_betas(betas: np.ndarray) -> np.ndarray:
    out = np.empty_like(betas)
    p = 1.0
    for t, b in enumerate(betas):
        p *= 1 - b
        out[t] = p
    return out


def betas_from_alpha_bar(alpha_bar: np.ndarray) -> np.ndarray:
    return np.array([1 - ab / (1 if t == 0 else alpha_bar[t - 1]) for t, ab in enumerate(alpha_bar)], dtype=np.float64)


def shift_alpha_bar(alpha_bar: np.ndarray, shift: float) -> np.ndarray:
    k = shift * shift
    return np.array([ab / (ab + k * (1 - ab)) for ab in alpha_bar], dtype=np.float64)


def rescale_zero_terminal_snr(alpha_bar: np.ndarray) -> np.ndarray:
    first = math.sqrt(alpha_bar[0])
    last = math.sqrt(alpha_bar[-1])
    out = np.empty_like(alpha_bar)
    for t, ab in enumerate(alpha_bar):
        if t == len(alpha_bar) - 1:
            out[t] = 0.0
        else:
            s = ((math.sqrt(ab) - last) * first) / (first - last)
            out[t] = s * s
    return out


@dataclass
class Schedule:
    config: dict
    T: int
    betas: np.ndarray
    alpha_bar: np.ndarray
    log_snr: np.ndarray


def _log_snr(ab: float) -> float:
    if ab == 0:
        return -math.inf
    if ab == 1:
        return math.inf
    return math.log(ab) - math.log1p(-ab)


def make_schedule(config: dict) -> Schedule:
    c = resolve_schedule_config(config)
    T = c["T"]
    if c["kind"] == "linear":
        ab = alpha_bar_from_betas(linear_betas(T, c["betaStart"], c["betaEnd"]))
    elif c["kind"] == "cosine":
        ab = alpha_bar_from_betas(_betas_from_curve(T, lambda u: cosine_alpha_bar_curve(u, c["s"]), c["maxBeta"]))
    elif c["kind"] == "sigmoid":
        ab = alpha_bar_from_betas(_betas_from_curve(T, lambda u: sigmoid_alpha_bar_curve(u, c["start"], c["end"], c["tau"]), c["maxBeta"]))
    else:
        sig = karras_sigmas(T, c["sigmaMin"], c["sigmaMax"], c["rho"])[::-1]
        ab = np.array([1 / (1 + s * s) for s in sig], dtype=np.float64)
    if c["shift"] != 1:
        ab = shift_alpha_bar(ab, c["shift"])
    if c["zeroTerminalSnr"]:
        ab = rescale_zero_terminal_snr(ab)
    return Schedule(config=c, T=len(ab), betas=betas_from_alpha_bar(ab), alpha_bar=ab, log_snr=np.array([_log_snr(a) for a in ab]))


def alpha_bar_at(schedule: Schedule, t: float) -> float:
    """Alpha-bar at fractional timestep t in [0, T-1] (`alphaBarAt`)."""
    if not (0 <= t <= schedule.T - 1):
        raise _invalid(f"Timestep {t} lies outside the schedule's range [0, {schedule.T - 1}].")
    i = min(int(math.floor(t)), schedule.T - 2)
    f = t - i
    if f == 0:
        return float(schedule.alpha_bar[i])
    if f == 1:
        return float(schedule.alpha_bar[i + 1])
    l0, l1 = schedule.log_snr[i], schedule.log_snr[i + 1]
    if math.isfinite(l0) and math.isfinite(l1):
        return 1 / (1 + math.exp(-(l0 + f * (l1 - l0))))
    s = math.sqrt(schedule.alpha_bar[i]) * (1 - f) + math.sqrt(schedule.alpha_bar[i + 1]) * f
    return s * s


def timestep_to_sigma(schedule: Schedule, t: float) -> float:
    ab = alpha_bar_at(schedule, t)
    return math.inf if ab == 0 else math.sqrt((1 - ab) / ab)


def sigma_to_timestep(schedule: Schedule, sigma: float) -> float:
    """Inverse of `timestep_to_sigma`, clamped to [0, T-1] (`sigmaToTimestep`)."""
    if not sigma >= 0:
        raise _invalid(f"A noise level sigma must be >= 0 (got {sigma}).")
    target = -2 * math.log(sigma) if sigma > 0 else math.inf
    log_snr, T = schedule.log_snr, schedule.T
    if target >= log_snr[0]:
        return 0.0
    if target <= log_snr[T - 1]:
        return float(T - 1)
    lo, hi = 0, T - 1
    while hi - lo > 1:
        mid = (lo + hi) >> 1
        if log_snr[mid] >= target:
            lo = mid
        else:
            hi = mid
    if math.isfinite(log_snr[hi]):
        return lo + (log_snr[lo] - target) / (log_snr[lo] - log_snr[hi])
    s0 = math.sqrt(schedule.alpha_bar[lo])
    s1 = math.sqrt(schedule.alpha_bar[hi])
    return lo + (s0 - 1 / math.sqrt(1 + sigma * sigma)) / (s0 - s1)
