"""(d) Policy train-step throughput and peak memory: ours vs bare PyTorch and vs LeRobot 0.4.4's own step.

ACT and Diffusion Policy at LeRobot's default sizes: our training step vs a bare PyTorch step of the same modules,
and vs LeRobot 0.4.4's own training step, measured side by side in the same run.

    .venv/bin/python benchmarks/bench_policies.py [--policies act diffusion] [--repeats 5] [--steps N]
                                                  [--warmup 2] [--threads N] [--device cpu|cuda] [--amp]
                                                  [--lerobot-python PATH | --no-lerobot] [--no-bare] [--no-memory]

Batch 8 of observation.state (2,), observation.image (3, 96, 96) and action (2,) (PushT's features), random
tensors made once (no data loading: this measures the step, bench_data_feeding.py the loading):

- act: LeRobot's ACT defaults (ResNet-18 camera backbone, dim_model 512, 4 + 1 layers, VAE with 4 layers) except
  chunk_size = n_action_steps = 10; 51.5 M parameters.
- diffusion: LeRobot's Diffusion Policy defaults (down_dims 512/1024/2048, horizon 16, n_obs_steps 2, GroupNorm
  ResNet-18 trained from scratch) with PushT's crop_shape = (84, 84) set explicitly (LeRobot 0.4.4's default is
  None: no crop); 262.7 M parameters.

Three sides:

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
- lerobot: LeRobot 0.4.4's own step (benchmarks/lerobot_step.py, run by the LeRobot side venv's python, which
  `bash ../shared/lerobot/make_venv.sh DIR` builds; never a project dependency): its preprocessor pipeline and
  `lerobot_train.update_policy` with the optimizer and scheduler of `make_optimizer_and_scheduler` and
  `Accelerator.prepare`, i.e. what `lerobot-train` runs per step. Its policy config is built from ours: every field
  of our config that LeRobot's config also has is passed over (so e.g. Diffusion's crop_shape is (84, 84) on both
  sides; LeRobot 0.4.4's default is None), and the script prints any field that still differs, the fields only one
  side has, both optimizers and both parameter counts. Found by `--lerobot-python`, else $LEROBOT_PYTHON, else
  ../lerobot-venv/bin/python beside the repository; when there is none, the LeRobot side is reported as not measured
  and no ratio against it is printed (the constants of an earlier version, LeRobot times from another day, are gone).

ours vs bare: each policy's timing runs in a fresh subprocess: `--warmup` untimed steps per side, then `--repeats`
rounds of `--steps` timed steps per side, alternating the order (bare, ours, ours, bare, ...); the ratio ours/bare is
the median of the per-round ratios.

ours vs lerobot: two processes per policy, one per side (LeRobot cannot share an interpreter with us: it pins
another draccus), each built and warmed up once (`--warmup` steps) and then kept waiting for orders; the rounds
alternate which side runs first (ours, lerobot, lerobot, ours, ...), each side running `--steps` timed steps while
the other process sits idle. Ours runs in its own process too, rather than in this one, so the two sides are alike:
a fresh interpreter each, the same explicit torch thread count (checked: both report it), and neither side's
allocator history (Diffusion's step is dominated by page faults on fresh large tensors) or imports weigh on the
other. The machine's speed drifts during a run and moves both sides of a round alike; the printed ratio
LeRobot / ours (time, i.e. ours' throughput over LeRobot's) is the median of the per-round ratios.

Peak memory comes from one more fresh subprocess per policy and side (ours, bare; build, then 3 steps of that side
only), so peaks do not mix: peak RSS (getrusage ru_maxrss), split into the RSS once the policy is built (torch and the
train loop's imports, Ray's included, ~145 MiB, and the weights) and the growth while training (gradients, optimizer
state, activations), and, on CUDA, torch.cuda.max_memory_allocated. With --device cuda / --amp the LeRobot side gets
the same device and bf16 mixed precision through Accelerate; the side venv built by make_venv.sh is CPU-only, so
there it fails to start and is reported as not measured.
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.lerobot_step import jsonable  # noqa: E402  (stdlib-only at import: shared with the LeRobot side)

TARGET_BARE = 0.97  # ours/bare
TARGET_LEROBOT = 1.0  # lerobot_s / ours_s, both measured in this run
BATCH = 8
POLICIES = {  # policy fields over the config defaults (LeRobot's)
    "act": {"type": "act", "chunk_size": 10, "n_action_steps": 10},
    "diffusion": {"type": "diffusion", "crop_shape": (84, 84)},  # PushT's crop (LeRobot 0.4.4's default is None)
}
DEFAULT_STEPS = {"act": 10, "diffusion": 3}  # timed steps per side and round: a few seconds each
MEMORY_STEPS = 3  # steps of the memory probe: Adam's state exists from the 2nd step on
RESULT = "RESULT_JSON "  # prefix of the subprocesses' answer line (lerobot_step.py's too)
LEROBOT_STEP = Path(__file__).with_name("lerobot_step.py")  # LeRobot's step, run by the LeRobot venv's python
NOT_PASSED = {"input_features", "output_features", "use_amp", "pretrained_path", "device"}  # not sent to LeRobot
LEROBOT_BASE = {
    "device",
    "use_amp",
    "use_peft",
    "push_to_hub",
    "repo_id",
    "private",
    "tags",
    "license",
    "pretrained_path",
}  # LeRobot's base-config fields (Hub and device plumbing): not model settings
MAKE_VENV = "bash ../shared/lerobot/make_venv.sh DIR"


# ----------------------------------------------------------------------------------------------------------------
# Building blocks (also used by bench_data_feeding.py)


def features() -> dict:
    from orchestrator.configs.features import FeatureType, PolicyFeature

    return {
        "observation.state": PolicyFeature(FeatureType.STATE, (2,)),
        "observation.image": PolicyFeature(FeatureType.VISUAL, (3, 96, 96)),
        "action": PolicyFeature(FeatureType.ACTION, (2,)),
    }


def synthetic_stats() -> dict:
    """Dataset statistics of PushT's shape (pixel coordinates in [0, 512]; images per channel)."""
    import numpy as np

    vector = {"mean": np.full(2, 256.0), "std": np.full(2, 100.0), "min": np.zeros(2), "max": np.full(2, 512.0)}
    image = {
        "mean": np.full((3, 1, 1), 0.8),
        "std": np.full((3, 1, 1), 0.2),
        "min": np.zeros((3, 1, 1)),
        "max": np.ones((3, 1, 1)),
    }
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
    def ours_state(self):
        if self._ours_state is None:
            optimizer = self.cfg.optimizer.build(self.policy.optim_param_groups())
            self._ours_state = optimizer, self.cfg.scheduler.build(optimizer, self.cfg.steps)
        return self._ours_state

    def _ours(self) -> float:
        optimizer, scheduler = self.ours_state()
        return train_step(
            self.policy, self.raw, optimizer, scheduler, self.cfg.optimizer.grad_clip_norm, self.device, self.amp
        )

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
            optimizer = torch.optim.AdamW(
                [{"params": rest}, {"params": backbone, "lr": pc.optimizer_lr_backbone}],
                lr=pc.optimizer_lr,
                weight_decay=pc.optimizer_weight_decay,
                fused=self.cfg.optimizer.fused,
            )  # ours' implementation choice
            scheduler = None

            def loss_of(b):
                actions_hat, (mu, log_sigma_x2) = model(b)
                l1 = (F.l1_loss(actions_hat, b["action"], reduction="none") * ~b["action_is_pad"].unsqueeze(-1)).mean()
                kld = (-0.5 * (1 + log_sigma_x2 - mu.pow(2) - log_sigma_x2.exp())).sum(-1).mean()
                return l1 + pc.kl_weight * kld
        else:
            model = self.policy.diffusion
            optimizer = torch.optim.Adam(
                model.parameters(),
                lr=pc.optimizer_lr,
                betas=pc.optimizer_betas,
                eps=pc.optimizer_eps,
                weight_decay=pc.optimizer_weight_decay,
                fused=self.cfg.optimizer.fused,
            )
            warmup, total = pc.scheduler_warmup_steps, self.cfg.steps
            scheduler = torch.optim.lr_scheduler.LambdaLR(
                optimizer,
                lambda s: (
                    (s + 1) / (warmup + 1)
                    if s < warmup
                    else 0.5 * (1 + math.cos(math.pi * (s - warmup) / max(1, total - warmup)))
                ),
            )
            alphas_cumprod = model.noise_scheduler.alphas_cumprod.to(device)

            def loss_of(b):
                actions = b["action"]
                cond = model.global_condition(
                    {"observation.state": b["observation.state"], "observation.image": b["observation.image"]}
                )
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
            torch.nn.utils.clip_grad_norm_(model.parameters(), self.cfg.optimizer.grad_clip_norm)
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
        for side in ("bare", "ours") if run % 2 == 0 else ("ours", "bare"):
            got[side] = sides.run(side, args.steps)
        out["bare"].append(got["bare"])
        out["ours"].append(got["ours"])
        out["ratios"].append(got["bare"] / got["ours"])  # throughput ratio ours/bare = time bare/ours
        print(
            f"  {args.policy} round {run + 1}: bare {got['bare']:.3f} s/step, ours {got['ours']:.3f} s/step, "
            f"ours/bare {out['ratios'][-1]:.3f}",
            flush=True,
        )
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


def child_serve(args) -> None:
    """Ours' side of the LeRobot comparison: build, warm up, report, then time N steps per line read from stdin."""
    import dataclasses

    import torch

    sides = Sides(args.policy, args.device, args.amp)
    if args.warmup:
        sides.run("ours", args.warmup)
    optimizer, scheduler = sides.ours_state()
    pc = sides.policy.config
    print(
        RESULT
        + json.dumps(
            {
                "side": "ours",
                "torch": torch.__version__,
                "threads": torch.get_num_threads(),
                "n_params": sum(p.numel() for p in sides.policy.parameters()),
                "total_steps": sides.cfg.steps,
                "optimizer": {
                    "class": type(optimizer).__name__,
                    "param_groups": len(optimizer.param_groups),
                    "grad_clip_norm": sides.cfg.optimizer.grad_clip_norm,
                    "scheduler": type(scheduler).__name__ if scheduler is not None else None,
                    **{
                        k: jsonable(v)
                        for k, v in optimizer.defaults.items()
                        if k in ("lr", "betas", "eps", "weight_decay", "fused", "foreach")
                    },
                },
                "config": {
                    f.name: jsonable(getattr(pc, f.name))
                    for f in dataclasses.fields(pc)
                    if f.name not in ("input_features", "output_features")
                },
            }
        ),
        flush=True,
    )
    for line in sys.stdin:
        if line.strip():
            print(RESULT + json.dumps({"s_per_step": sides.run("ours", int(line))}), flush=True)


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def spawn(args, *extra: str) -> dict:
    """Run this script as a child with `extra` arguments; pass its progress lines through, return its answer."""
    cmd = [
        sys.executable,
        __file__,
        "--threads",
        str(args.threads or 0),
        "--device",
        args.device,
        *(["--amp"] if args.amp else []),
        *extra,
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    answer = None
    for line in proc.stdout:
        if line.startswith(RESULT):
            answer = json.loads(line[len(RESULT) :])
        else:
            print(line, end="", flush=True)
    if proc.wait() or answer is None:
        raise SystemExit(f"benchmark child failed ({proc.returncode}): {' '.join(cmd)}")
    return answer


class ChildFailed(RuntimeError):
    pass


class Server:
    """One side in its own process, built and warmed up once, then timing N steps per request (a stdin line)."""

    def __init__(self, cmd: list[str]):
        self.cmd = cmd
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.report = self._answer()

    def _answer(self) -> dict:
        for line in self.proc.stdout:
            if line.startswith(RESULT):
                return json.loads(line[len(RESULT) :])
            print(line, end="", flush=True)
        raise ChildFailed(
            f"exited with code {self.proc.wait()} before answering (its stderr is above): {' '.join(self.cmd[:2])} ..."
        )

    def time(self, steps: int) -> float:
        self.proc.stdin.write(f"{steps}\n")
        self.proc.stdin.flush()
        return self._answer()["s_per_step"]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def find_lerobot_python(given: str | None) -> tuple[str | None, str]:
    """The LeRobot venv's python and where it came from, or (None, why not)."""
    candidates = (
        ([("--lerobot-python", given)] if given else [])
        + ([("$LEROBOT_PYTHON", os.environ["LEROBOT_PYTHON"])] if os.environ.get("LEROBOT_PYTHON") else [])
        + [("default", str(ROOT.parent / "lerobot-venv" / "bin" / "python"))]
    )
    for source, path in candidates:
        if Path(path).is_file():
            return path, f"{path} ({source})"
        if source != "default":
            return None, f"{source} {path} does not exist"
    return None, f"no LeRobot venv (looked at --lerobot-python, $LEROBOT_PYTHON, {candidates[-1][1]})"


def check_configs(name: str, ours: dict, lerobot: dict) -> None:
    """Print how the two sides' policy configs, optimizers, parameter counts and thread counts compare."""
    oc, lc = ours["config"], lerobot["config"]
    common = sorted(set(oc) & set(lc) - LEROBOT_BASE - NOT_PASSED)
    differ = [k for k in common if oc[k] != lc[k]]
    if differ:
        print(
            f"{name}: WARNING config fields that differ (ours vs LeRobot): "
            + "; ".join(f"{k} {oc[k]!r} vs {lc[k]!r}" for k in differ)
        )
    else:
        print(f"{name}: config: all {len(common)} fields both sides have are equal")
    only_ours = sorted(set(oc) - set(lc) - LEROBOT_BASE - NOT_PASSED)
    only_lerobot = sorted(set(lc) - set(oc) - LEROBOT_BASE)
    print(f"{name}: config fields only ours has: {', '.join(f'{k}={oc[k]!r}' for k in only_ours) or '-'}")
    print(f"{name}: config fields only LeRobot has: {', '.join(f'{k}={lc[k]!r}' for k in only_lerobot) or '-'}")
    oo, lo = ours["optimizer"], lerobot["optimizer"]
    keys = sorted(set(oo) | set(lo))
    same = [k for k in keys if oo.get(k) == lo.get(k)]
    print(
        f"{name}: optimizer: same {', '.join(f'{k}={oo.get(k)!r}' for k in same)}; differ "
        + ("; ".join(f"{k} {oo.get(k)!r} vs {lo.get(k)!r}" for k in keys if k not in same) or "-")
    )
    n = "equal" if ours["n_params"] == lerobot["n_params"] else "DIFFER"
    print(
        f"{name}: parameters ours {ours['n_params']:,}, LeRobot {lerobot['n_params']:,} ({n}); torch threads "
        f"ours {ours['threads']}, LeRobot {lerobot['threads']}; torch ours {ours['torch']}, LeRobot "
        f"{lerobot['torch']}; LeRobot {lerobot['lerobot']}",
        flush=True,
    )
    if ours["threads"] != lerobot["threads"]:
        print(f"{name}: WARNING the two sides run with different torch thread counts", flush=True)


def compare_lerobot(args, name: str, steps: int, threads: int, lerobot_python: str | None, where: str) -> dict:
    """Ours and LeRobot's step, one process each, rounds alternating which runs first. Without a LeRobot python
    (or when its side fails to start), ours alone: {"ours": [...], "lerobot": None, "why": ...}."""
    common = [
        "--threads",
        str(threads),
        "--device",
        args.device,
        *(["--amp"] if args.amp else []),
        "--policy",
        name,
        "--warmup",
        str(args.warmup),
    ]
    servers, why = {}, None
    try:
        servers["ours"] = Server([sys.executable, __file__, "--child", "serve", *common])
        if lerobot_python:
            overrides = {k: v for k, v in servers["ours"].report["config"].items() if k not in NOT_PASSED}
            try:
                servers["lerobot"] = Server(
                    [
                        lerobot_python,
                        str(LEROBOT_STEP),
                        "--serve",
                        *common,
                        "--overrides",
                        json.dumps(overrides),
                        "--total-steps",
                        str(servers["ours"].report["total_steps"]),
                    ]
                )
            except ChildFailed as e:
                why = f"its process failed: {e}"
        else:
            why = "no LeRobot python: " + where
        if "lerobot" in servers:
            check_configs(name, servers["ours"].report, servers["lerobot"].report)
        out = {side: [] for side in servers}
        out["ratios"] = []
        for run in range(args.repeats):
            order = list(servers) if run % 2 == 0 else list(reversed(servers))
            got = {side: servers[side].time(steps) for side in order}
            for side, s in got.items():
                out[side].append(s)
            line = f"  {name} round {run + 1} ({' then '.join(order)}): ours {got['ours']:.3f} s/step"
            if "lerobot" in got:
                out["ratios"].append(got["lerobot"] / got["ours"])
                line += f", LeRobot {got['lerobot']:.3f} s/step, LeRobot/ours {out['ratios'][-1]:.3f}"
            line += f" (load average {os.getloadavg()[0]:.1f})"
            print(line, flush=True)
    finally:
        for server in servers.values():
            server.close()
    out.setdefault("lerobot", None)
    out["why"] = why
    return out


# ----------------------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policies", nargs="+", default=list(POLICIES), choices=list(POLICIES))
    parser.add_argument(
        "--repeats", type=int, default=5, help="rounds per policy and comparison, alternating the sides' order"
    )
    parser.add_argument(
        "--steps", type=int, default=None, help=f"timed steps per side and round (default: {DEFAULT_STEPS})"
    )
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps per side before the first round")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default or 0: every usable core)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--amp", action="store_true", help="bf16 autocast on every side (for --device cuda)")
    parser.add_argument(
        "--lerobot-python",
        default=None,
        help="python of a LeRobot 0.4.4 venv (default: $LEROBOT_PYTHON, else ../lerobot-venv/bin/"
        f"python beside the repository; build one with `{MAKE_VENV}`)",
    )
    parser.add_argument("--no-lerobot", action="store_true", help="skip the comparison with LeRobot's step")
    parser.add_argument("--no-bare", action="store_true", help="skip the comparison with bare PyTorch")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    parser.add_argument("--child", choices=["time", "memory", "serve"], help=argparse.SUPPRESS)
    parser.add_argument("--policy", help=argparse.SUPPRESS)
    parser.add_argument("--side", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        setup_torch(args.threads)
        if args.child == "serve":
            return child_serve(args)
        answer = child_time(args) if args.child == "time" else child_memory(args)
        print(RESULT + json.dumps(answer), flush=True)
        return

    import torch

    threads = setup_torch(args.threads)
    args.threads = threads  # every child gets this explicit count
    print(
        f"torch {torch.__version__}, device {args.device}{' bf16 autocast' if args.amp else ''}, "
        f"{threads} torch threads, {os.cpu_count()} CPUs, batch {BATCH}, load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    lerobot_python, where = (
        (None, "skipped (--no-lerobot)") if args.no_lerobot else find_lerobot_python(args.lerobot_python)
    )
    if not args.no_lerobot:
        print(
            f"LeRobot side: {where}"
            if lerobot_python
            else f"LeRobot side NOT MEASURED: {where}. Build a LeRobot 0.4.4 venv with `{MAKE_VENV}` (~2 minutes) and "
            "pass --lerobot-python DIR/bin/python; only our times are printed.",
            flush=True,
        )
    bare, lerobot, not_measured = {}, {}, {}
    for name in args.policies:
        steps = args.steps or DEFAULT_STEPS[name]
        start = time.perf_counter()
        if not args.no_bare:
            t = spawn(
                args,
                "--child",
                "time",
                "--policy",
                name,
                "--repeats",
                str(args.repeats),
                "--steps",
                str(steps),
                "--warmup",
                str(args.warmup),
            )
            bare[name] = t
            bare_s, ours_s = statistics.median(t["bare"]), statistics.median(t["ours"])
            print(
                f"{name}: bare {bare_s:.3f} s/step = {BATCH / bare_s:.1f} samples/s; "
                f"ours {ours_s:.3f} s/step = {BATCH / ours_s:.1f} samples/s (medians of {args.repeats} rounds x "
                f"{steps} steps)"
            )
            print(
                f"{name}: ours/bare {statistics.median(t['ratios']):.3f} (per round "
                f"{min(t['ratios']):.3f}..{max(t['ratios']):.3f}; target >= {TARGET_BARE})",
                flush=True,
            )
        if not args.no_memory:
            for side in ("ours",) if args.no_bare else ("bare", "ours"):
                m = spawn(args, "--child", "memory", "--policy", name, "--side", side)
                cuda = f", peak CUDA allocated {m['peak_cuda_mib']:.0f} MiB" if "peak_cuda_mib" in m else ""
                print(
                    f"{name}: {side} peak RSS {m['peak_rss_mib']:.0f} MiB = {m['built_mib']:.0f} MiB once built "
                    f"+ {m['peak_rss_mib'] - m['built_mib']:.0f} MiB training{cuda}",
                    flush=True,
                )
        if not args.no_lerobot:
            c = compare_lerobot(args, name, steps, threads, lerobot_python, where)
            ours_s = statistics.median(c["ours"])
            if c["lerobot"] is None:
                not_measured[name] = c["why"]
                print(
                    f"{name}: ours {ours_s:.3f} s/step = {BATCH / ours_s:.1f} samples/s (median of {args.repeats} "
                    f"rounds x {steps} steps); LeRobot NOT MEASURED ({c['why']})",
                    flush=True,
                )
            else:
                lerobot[name] = c
                lr_s, ratios = statistics.median(c["lerobot"]), c["ratios"]
                print(
                    f"{name}: ours {ours_s:.3f} s/step, LeRobot {lr_s:.3f} s/step (medians of {args.repeats} "
                    f"rounds x {steps} steps); LeRobot/ours per round "
                    f"{', '.join(f'{r:.3f}' for r in ratios)} -> median {statistics.median(ratios):.3f} "
                    f"(target >= {TARGET_LEROBOT})",
                    flush=True,
                )
        print(f"{name}: [{time.perf_counter() - start:.0f} s, load average {os.getloadavg()[0]:.1f}]", flush=True)
    if bare:
        parts = ", ".join(f"{n} {statistics.median(t['ratios']):.3f}" for n, t in bare.items())
        worst = min(statistics.median(t["ratios"]) for t in bare.values())
        print(f"RATIO policy step ours/bare = {worst:.3f} (worst of: {parts}; target >= {TARGET_BARE})")
    if lerobot:
        parts = ", ".join(f"{n} {statistics.median(c['ratios']):.3f}" for n, c in lerobot.items())
        worst = min(statistics.median(c["ratios"]) for c in lerobot.values())
        print(
            f"RATIO policy step lerobot/ours = {worst:.3f} (worst of: {parts}; measured side by side; "
            f"target >= {TARGET_LEROBOT})"
        )
    if not_measured:
        print(
            "RATIO policy step lerobot/ours: NOT MEASURED for "
            + "; ".join(f"{n} ({why})" for n, why in not_measured.items())
            + f". A LeRobot 0.4.4 venv: `{MAKE_VENV}`, then --lerobot-python DIR/bin/python"
        )


if __name__ == "__main__":
    main()
