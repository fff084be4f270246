"""(f) Policy train-step throughput and peak memory: ACT and Diffusion Policy at LeRobot's default sizes, our
training step vs a bare PyTorch step of the same modules, and vs LeRobot 0.4.4's measured step time.

    .venv/bin/python benchmarks/bench_policies.py [--policies act diffusion] [--repeats 5] [--steps N]
                                                  [--warmup 2] [--threads N] [--device cpu|cuda] [--amp]

Batch 8 of observation.state (2,), observation.image (3, 96, 96) and action (2,) (PushT's features), random
tensors made once (no data loading: this measures the step, bench_data_feeding.py the loading):

- act: LeRobot's ACT defaults (ResNet-18 camera backbone, dim_model 512, 4 + 1 layers, VAE with 4 layers) except
  chunk_size = n_action_steps = 10, the setting of the LeRobot reference number; 51.5 M parameters.
- diffusion: LeRobot's Diffusion Policy defaults (crop 84, down_dims 512/1024/2048, horizon 16, n_obs_steps 2,
  GroupNorm ResNet-18 trained from scratch); 262.7 M parameters.

Two sides, on the SAME modules (one policy object, one optimizer each):

- ours: what trainables/train_loop.py does per step (`train_step` below, which calls the loop's own
  `clip_gradients`): batch.to(device), policy.train(), policy(batch) on the RAW batch (normalization inside, and
  the policy's logged floats), zero_grad, backward, clipping, optimizer.step and scheduler.step with the policy's
  preset optimizer and schedule (`cfg.optimizer.build(policy.optim_param_groups())`, `cfg.scheduler.build(...)`,
  as the loop builds them), loss.item(). Not timed: the loop's LogLine.add (appending floats to a list) and its
  per-log_freq reports.
- bare: what a researcher writes by hand: pre-normalized tensors (normalized once, outside the clock) moved to the
  device and fed straight to the inner nn.Module (`policy.model` / `policy.diffusion`), the loss written inline,
  plain torch.optim (AdamW / Adam) with the same hyperparameters, parameter groups and fused flag, clip_grad_norm_, for
  Diffusion an inline LambdaLR with the same warm-up, and loss.item().

Each policy's timing runs in a fresh subprocess: `--warmup` untimed steps per side, then `--repeats` rounds of
`--steps` timed steps per side, alternating the order (bare, ours, ours, bare, ...); the ratio ours/bare is the
median of the per-round ratios. Peak memory comes from one more fresh subprocess per policy and side (build, then
3 steps of that side only), so peaks do not mix: peak RSS (getrusage ru_maxrss), split into the RSS once the
policy is built (torch and the train loop's imports, Ray's included, ~145 MiB, and the weights) and the growth while
training (gradients, optimizer state, activations), and, on CUDA, torch.cuda.max_memory_allocated. lerobot/ours divides LeRobot 0.4.4's step time measured on this kind of machine
(2-core CPU: ACT 0.45 s/step, Diffusion 3.4 s/step) by ours; it means nothing with --device cuda.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGET_BARE = 0.97  # ours/bare
TARGET_LEROBOT = 1.0  # lerobot_s / ours_s
BATCH = 8
POLICIES = {  # policy fields over the config defaults (LeRobot's)
    "act": {"type": "act", "chunk_size": 10, "n_action_steps": 10},
    "diffusion": {"type": "diffusion"},
}
LEROBOT_S = {"act": 0.45, "diffusion": 3.4}  # LeRobot 0.4.4, s/step, batch 8, these features, 2-core CPU
DEFAULT_STEPS = {"act": 10, "diffusion": 3}  # timed steps per side and round: a few seconds each
MEMORY_STEPS = 3  # steps of the memory probe: Adam's state exists from the 2nd step on
RESULT = "RESULT_JSON "  # prefix of the subprocesses' answer line


# ----------------------------------------------------------------------------------------------------------------
# Building blocks (also used by bench_data_feeding.py)

def features() -> dict:
    from orchestrator.configs.features import FeatureType, PolicyFeature

    return {"observation.state": PolicyFeature(FeatureType.STATE, (2,)),
            "observation.image": PolicyFeature(FeatureType.VISUAL, (3, 96, 96)),
            "action": PolicyFeature(FeatureType.ACTION, (2,))}


def synthetic_stats() -> dict:
    """Dataset statistics of PushT's shape (pixel coordinates in [0, 512]; images per channel)."""
    import numpy as np

    vector = {"mean": np.full(2, 256.0), "std": np.full(2, 100.0), "min": np.zeros(2), "max": np.full(2, 512.0)}
    image = {"mean": np.full((3, 1, 1), 0.8), "std": np.full((3, 1, 1), 0.2), "min": np.zeros((3, 1, 1)),
             "max": np.ones((3, 1, 1))}
    return {"observation.state": vector, "action": dict(vector), "observation.image": image}


def train_config(name: str, **fields):
    """The validated TrainPipelineConfig of a run of this policy at batch 8, with the policy's preset optimizer."""
    from orchestrator.configs.parsing import build_config

    return build_config(None, [{"policy": dict(POLICIES[name]), "batch_size": BATCH, **fields}])


def raw_batch(policy_cfg, batch_size: int = BATCH, seed: int = 0) -> dict:
    """A RAW batch as the dataset yields it for this policy's delta_timestamps (CPU tensors)."""
    import torch

    g = torch.Generator().manual_seed(seed)
    obs_steps = policy_cfg.n_obs_steps
    horizon = len(policy_cfg.action_delta_indices)
    time_axis = (obs_steps,) if policy_cfg.observation_delta_indices is not None else ()
    return {
        "observation.state": torch.rand(batch_size, *time_axis, 2, generator=g) * 512,
        "observation.image": torch.rand(batch_size, *time_axis, 3, 96, 96, generator=g),
        "action": torch.rand(batch_size, horizon, 2, generator=g) * 512,
        "action_is_pad": torch.zeros(batch_size, horizon, dtype=torch.bool),
    }


def train_step(policy, batch: dict, optimizer, scheduler, grad_clip_norm: float, device, use_amp: bool) -> float:
    """One step of trainables/train_loop.py's loop, line for line (without its logging, eval and reports)."""
    import torch

    from trainables.train_loop import clip_gradients

    batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
    policy.train()
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):  # bf16 needs no loss scaling
        loss, info = policy(batch)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    clip_gradients(policy, grad_clip_norm)
    optimizer.step()
    scheduler.step()
    return loss.item()


# ----------------------------------------------------------------------------------------------------------------
# The two sides

class Sides:
    """One policy, its RAW batch for ours and pre-normalized batch for bare, and an optimizer per side."""

    def __init__(self, name: str, device: str, amp: bool):
        import torch

        import trainables.train_loop  # noqa: F401  (imports Ray, ~145 MiB: before any memory is measured)
        from orchestrator.policies.factory import make_policy

        torch.manual_seed(0)
        self.name = name
        self.cfg = train_config(name)
        self.device = torch.device(device)
        self.amp = amp
        self.policy = make_policy(self.cfg.policy, features(), synthetic_stats()).to(self.device)
        self.raw = raw_batch(self.policy.config)
        self.sides = {"ours": self._ours, "bare": self._bare}
        self._ours_state = self._bare_state = None

    # ours: the train loop's step, its optimizer and schedule built as the loop builds them
    def _ours(self) -> float:
        if self._ours_state is None:
            optimizer = self.cfg.optimizer.build(self.policy.optim_param_groups())
            self._ours_state = optimizer, self.cfg.scheduler.build(optimizer, self.cfg.steps)
        optimizer, scheduler = self._ours_state
        return train_step(self.policy, self.raw, optimizer, scheduler, self.cfg.optimizer.grad_clip_norm,
                          self.device, self.amp)

    # bare: hand-written PyTorch on the inner module
    def _bare(self) -> float:
        if self._bare_state is None:
            self._bare_state = self._bare_setup()
        return self._bare_state()

    def _bare_setup(self):
        import torch
        import torch.nn.functional as F  # noqa: N812

        pc, device, amp = self.policy.config, self.device, self.amp
        with torch.no_grad():  # normalized once, as a researcher's dataset transform would; kept on the CPU
            raw = {k: v.to(device) for k, v in self.raw.items()}
            batch = {k: self.policy.normalizer.normalize(k, v).cpu() for k, v in raw.items()}

        if self.name == "act":
            model = self.policy.model
            backbone = [p for n, p in model.named_parameters() if n.startswith("backbone.")]
            rest = [p for n, p in model.named_parameters() if not n.startswith("backbone.")]
            optimizer = torch.optim.AdamW([{"params": rest}, {"params": backbone, "lr": pc.optimizer_lr_backbone}],
                                          lr=pc.optimizer_lr, weight_decay=pc.optimizer_weight_decay,
                                          fused=self.cfg.optimizer.fused)  # ours' implementation choice
            scheduler = None

            def loss_of(b):
                actions_hat, (mu, log_sigma_x2) = model(b)
                l1 = (F.l1_loss(actions_hat, b["action"], reduction="none")
                      * ~b["action_is_pad"].unsqueeze(-1)).mean()
                kld = (-0.5 * (1 + log_sigma_x2 - mu.pow(2) - log_sigma_x2.exp())).sum(-1).mean()
                return l1 + pc.kl_weight * kld
        else:
            model = self.policy.diffusion
            optimizer = torch.optim.Adam(model.parameters(), lr=pc.optimizer_lr, betas=pc.optimizer_betas,
                                         eps=pc.optimizer_eps, weight_decay=pc.optimizer_weight_decay,
                                         fused=self.cfg.optimizer.fused)
            warmup, total = pc.scheduler_warmup_steps, self.cfg.steps
            scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: (s + 1) / (warmup + 1) if s < warmup
                                                          else 0.5 * (1 + math.cos(math.pi * (s - warmup)
                                                                                   / max(1, total - warmup))))
            alphas_cumprod = model.noise_scheduler.alphas_cumprod.to(device)

            def loss_of(b):
                actions = b["action"]
                cond = model.global_condition({"observation.state": b["observation.state"],
                                               "observation.image": b["observation.image"]})
                noise = torch.randn_like(actions)
                t = torch.randint(0, pc.num_train_timesteps, (actions.shape[0],), device=device)
                abar = alphas_cumprod[t].view(-1, 1, 1)
                prediction = model.unet(abar.sqrt() * actions + (1 - abar).sqrt() * noise, t, cond)
                return F.mse_loss(prediction, noise)

        model.train()

        def step() -> float:
            b = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                loss = loss_of(b)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), pc.optimizer_grad_clip_norm)
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            return loss.item()

        return step

    def run(self, side: str, steps: int) -> float:
        """Seconds per step over `steps` steps of `side`."""
        fn = self.sides[side]
        start = time.perf_counter()
        for _ in range(steps):
            fn()
        if self.device.type == "cuda":
            import torch

            torch.cuda.synchronize()
        return (time.perf_counter() - start) / steps


# ----------------------------------------------------------------------------------------------------------------
# Subprocess entry points

def setup_torch(threads: int | None) -> int:
    import torch

    torch.set_num_threads(threads or len(os.sched_getaffinity(0)))
    return torch.get_num_threads()


def child_time(args) -> dict:
    """Alternating timing of both sides in this (fresh) process."""
    sides = Sides(args.policy, args.device, args.amp)
    for side in ("bare", "ours"):
        sides.run(side, args.warmup)
    out = {"bare": [], "ours": [], "ratios": []}
    for run in range(args.repeats):
        got = {}
        for side in (("bare", "ours") if run % 2 == 0 else ("ours", "bare")):
            got[side] = sides.run(side, args.steps)
        out["bare"].append(got["bare"])
        out["ours"].append(got["ours"])
        out["ratios"].append(got["bare"] / got["ours"])  # throughput ratio ours/bare = time bare/ours
        print(f"  {args.policy} round {run + 1}: bare {got['bare']:.3f} s/step, ours {got['ours']:.3f} s/step, "
              f"ours/bare {out['ratios'][-1]:.3f}", flush=True)
    return out


def child_memory(args) -> dict:
    """Peak memory of one side alone in this (fresh) process."""
    import torch

    sides = Sides(args.policy, args.device, args.amp)
    built = _rss_mib()
    sides.run(args.side, MEMORY_STEPS)
    out = {"built_mib": built, "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if sides.device.type == "cuda":
        out["peak_cuda_mib"] = torch.cuda.max_memory_allocated() / 2**20
    return out


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def spawn(args, *extra: str) -> dict:
    """Run this script as a child with `extra` arguments; pass its progress lines through, return its answer."""
    cmd = [sys.executable, __file__, "--threads", str(args.threads or 0), "--device", args.device,
           *(["--amp"] if args.amp else []), *extra]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    answer = None
    for line in proc.stdout:
        if line.startswith(RESULT):
            answer = json.loads(line[len(RESULT):])
        else:
            print(line, end="", flush=True)
    if proc.wait() or answer is None:
        raise SystemExit(f"benchmark child failed ({proc.returncode}): {' '.join(cmd)}")
    return answer


# ----------------------------------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policies", nargs="+", default=list(POLICIES), choices=list(POLICIES))
    parser.add_argument("--repeats", type=int, default=5, help="rounds per policy, alternating the sides' order")
    parser.add_argument("--steps", type=int, default=None,
                        help=f"timed steps per side and round (default: {DEFAULT_STEPS})")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps per side before the first round")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default or 0: every usable core)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--amp", action="store_true", help="bf16 autocast on both sides (for --device cuda)")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    parser.add_argument("--child", choices=["time", "memory"], help=argparse.SUPPRESS)
    parser.add_argument("--policy", help=argparse.SUPPRESS)
    parser.add_argument("--side", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        setup_torch(args.threads)
        answer = child_time(args) if args.child == "time" else child_memory(args)
        print(RESULT + json.dumps(answer), flush=True)
        return

    import torch

    threads = setup_torch(args.threads)
    print(f"torch {torch.__version__}, device {args.device}{' bf16 autocast' if args.amp else ''}, "
          f"{threads} torch threads, {os.cpu_count()} CPUs, batch {BATCH}, load average {os.getloadavg()[0]:.1f}",
          flush=True)
    results = {}
    for name in args.policies:
        steps = args.steps or DEFAULT_STEPS[name]
        start = time.perf_counter()
        t = spawn(args, "--child", "time", "--policy", name, "--repeats", str(args.repeats), "--steps", str(steps),
                  "--warmup", str(args.warmup))
        mem = {} if args.no_memory else {side: spawn(args, "--child", "memory", "--policy", name, "--side", side)
                                         for side in ("bare", "ours")}
        results[name] = (t, mem)
        bare_s, ours_s = statistics.median(t["bare"]), statistics.median(t["ours"])
        ratio = statistics.median(t["ratios"])
        print(f"{name}: bare {bare_s:.3f} s/step = {BATCH / bare_s:.1f} samples/s; "
              f"ours {ours_s:.3f} s/step = {BATCH / ours_s:.1f} samples/s (medians of {args.repeats} rounds x "
              f"{steps} steps)")
        print(f"{name}: ours/bare {ratio:.3f} (per round {min(t['ratios']):.3f}..{max(t['ratios']):.3f}; "
              f"target >= {TARGET_BARE})")
        for side, m in mem.items():
            cuda = f", peak CUDA allocated {m['peak_cuda_mib']:.0f} MiB" if "peak_cuda_mib" in m else ""
            print(f"{name}: {side} peak RSS {m['peak_rss_mib']:.0f} MiB = {m['built_mib']:.0f} MiB once built "
                  f"+ {m['peak_rss_mib'] - m['built_mib']:.0f} MiB training{cuda}")
        print(f"{name}: LeRobot 0.4.4 {LEROBOT_S[name]} s/step -> lerobot/ours {LEROBOT_S[name] / ours_s:.2f} "
              f"(target >= {TARGET_LEROBOT}{'; CPU reference, not comparable on cuda' if args.device != 'cpu' else ''})"
              f"  [{time.perf_counter() - start:.0f} s, load average {os.getloadavg()[0]:.1f}]", flush=True)
    parts = ", ".join(f"{n} {statistics.median(t['ratios']):.3f}" for n, (t, _) in results.items())
    lerobot = ", ".join(f"{n} {LEROBOT_S[n] / statistics.median(t['ours']):.2f}" for n, (t, _) in results.items())
    worst = min(statistics.median(t["ratios"]) for t, _ in results.values())
    print(f"RATIO policy step ours/bare = {worst:.3f} (worst of: {parts}; target >= {TARGET_BARE}); "
          f"lerobot/ours: {lerobot} (target >= {TARGET_LEROBOT})")


if __name__ == "__main__":
    main()
