"""LeRobot 0.4.4's own training step, timed. Run it with the LeRobot side venv's python (built by
`bash ../shared/lerobot/make_venv.sh DIR`), never with the project's: it imports only lerobot and torch.

    DIR/bin/python benchmarks/lerobot_step.py --policy act|diffusion [--overrides JSON] [--threads N]
                                              [--device cpu] [--amp] [--warmup 2] [--steps 5] [--serve]

What one step is: exactly what `lerobot-train` (lerobot/scripts/lerobot_train.py) does per step once it holds a
batch: `preprocessor(batch)` (device move and normalization, LeRobot's processor pipeline built by
`make_pre_post_processors` with the dataset statistics) and LeRobot's own `update_policy` (policy.train(),
`policy.forward` under `accelerator.autocast()`, `accelerator.backward`, `accelerator.clip_grad_norm_`,
optimizer.step, zero_grad, lr_scheduler.step, loss.item()), with the optimizer and scheduler from LeRobot's
`make_optimizer_and_scheduler` (the policy's training preset) and everything passed through
`Accelerator.prepare`, as the script does. Not timed: data loading (the batch is made once, as in
bench_policies.py, whose generator this file copies so both sides see the same tensors).

The policy: LeRobot's ACTConfig / DiffusionConfig at its defaults with `--overrides` (a JSON object of config
fields) on top; bench_policies.py passes every field of our config that LeRobot's config also has, so the two
are equal by construction, and this script reports the effective config back so the caller can check it.
Overrides naming a field LeRobot does not have, or one this script sets itself (features, device, use_amp,
push_to_hub), are reported, not applied.

Features: observation.state (2,), observation.image (3, 96, 96), action (2,) (PushT's), batch 8.

Output: one line `RESULT_JSON {...}`. Without --serve: build, `--warmup` untimed steps, `--steps` timed steps,
print {"s_per_step", ...} and exit. With --serve: build and warm up, print the config/parameter report, then read
lines from stdin, each a number N: run N timed steps and print {"s_per_step": ...}; end at EOF.
"""

from __future__ import annotations

import argparse
import dataclasses
import enum
import json
import os
import sys
import time

RESULT = "RESULT_JSON "
BATCH = 8
FLAGS = {"input_features", "output_features", "device", "use_amp", "push_to_hub"}  # set here, never by --overrides


def raw_batch(n_obs_steps: int, horizon: int, time_axis: bool, batch_size: int = BATCH, seed: int = 0) -> dict:
    """The RAW batch of bench_policies.raw_batch (same generator, same order, same tensors)."""
    import torch

    g = torch.Generator().manual_seed(seed)
    t = (n_obs_steps,) if time_axis else ()
    return {
        "observation.state": torch.rand(batch_size, *t, 2, generator=g) * 512,
        "observation.image": torch.rand(batch_size, *t, 3, 96, 96, generator=g),
        "action": torch.rand(batch_size, horizon, 2, generator=g) * 512,
        "action_is_pad": torch.zeros(batch_size, horizon, dtype=torch.bool),
    }


def synthetic_stats() -> dict:
    """bench_policies.synthetic_stats: PushT-shaped statistics."""
    import numpy as np

    vector = {"mean": np.full(2, 256.0), "std": np.full(2, 100.0), "min": np.zeros(2), "max": np.full(2, 512.0)}
    image = {
        "mean": np.full((3, 1, 1), 0.8),
        "std": np.full((3, 1, 1), 0.2),
        "min": np.zeros((3, 1, 1)),
        "max": np.ones((3, 1, 1)),
    }
    return {"observation.state": vector, "action": dict(vector), "observation.image": image}


def jsonable(value):
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


class LeRobotStep:
    def __init__(self, policy: str, overrides: dict, device: str, amp: bool, total_steps: int):
        import torch
        from accelerate import Accelerator
        from accelerate.utils import DistributedDataParallelKwargs
        from lerobot.configs.types import FeatureType, NormalizationMode, PolicyFeature
        from lerobot.optim.factory import make_optimizer_and_scheduler
        from lerobot.policies.factory import make_pre_post_processors
        from lerobot.scripts.lerobot_train import update_policy
        from lerobot.utils.logging_utils import AverageMeter, MetricsTracker

        if policy == "act":
            from lerobot.policies.act.configuration_act import ACTConfig as Config
            from lerobot.policies.act.modeling_act import ACTPolicy as Policy
        else:
            from lerobot.policies.diffusion.configuration_diffusion import DiffusionConfig as Config
            from lerobot.policies.diffusion.modeling_diffusion import DiffusionPolicy as Policy

        known = {f.name: f for f in dataclasses.fields(Config)}
        applied, self.ignored = {}, []
        for key, value in overrides.items():
            if key not in known or key in FLAGS:
                self.ignored.append(key)
            elif key == "normalization_mapping":
                applied[key] = {k: NormalizationMode(v) for k, v in value.items()}
            else:
                applied[key] = tuple(value) if isinstance(value, list) else value
        torch.manual_seed(0)
        self.cfg = Config(
            input_features={
                "observation.state": PolicyFeature(FeatureType.STATE, (2,)),
                "observation.image": PolicyFeature(FeatureType.VISUAL, (3, 96, 96)),
            },
            output_features={"action": PolicyFeature(FeatureType.ACTION, (2,))},
            device=device,
            use_amp=amp,
            push_to_hub=False,
            **applied,
        )

        # lerobot_train.train(): the Accelerator (forced to the CPU when policy.device is cpu), the policy, the
        # processors, the optimizer and scheduler from the policy's preset, then Accelerator.prepare.
        self.accelerator = Accelerator(
            step_scheduler_with_optimizer=False,
            kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=True)],
            cpu=device == "cpu",
            mixed_precision="bf16" if amp else "no",
        )
        policy_obj = Policy(self.cfg).to(device)
        self.preprocessor, _ = make_pre_post_processors(policy_cfg=self.cfg, dataset_stats=synthetic_stats())
        train_cfg = argparse.Namespace(
            use_policy_training_preset=True,
            optimizer=self.cfg.get_optimizer_preset(),
            scheduler=self.cfg.get_scheduler_preset(),
            steps=total_steps,
        )
        optimizer, lr_scheduler = make_optimizer_and_scheduler(train_cfg, policy_obj)
        self.n_params = sum(p.numel() for p in policy_obj.parameters())
        self.optimizer_report = {
            "class": type(optimizer).__name__,
            "param_groups": len(optimizer.param_groups),
            "grad_clip_norm": train_cfg.optimizer.grad_clip_norm,
            "scheduler": type(lr_scheduler).__name__ if lr_scheduler is not None else None,
            **{
                k: jsonable(v)
                for k, v in optimizer.defaults.items()
                if k in ("lr", "betas", "eps", "weight_decay", "fused", "foreach")
            },
        }
        self.policy, self.optimizer, self.lr_scheduler = self.accelerator.prepare(policy_obj, optimizer, lr_scheduler)
        self.grad_clip_norm = train_cfg.optimizer.grad_clip_norm
        self.update_policy = update_policy
        metrics = {
            "loss": AverageMeter("loss", ":.3f"),
            "grad_norm": AverageMeter("grdn", ":.3f"),
            "lr": AverageMeter("lr", ":0.1e"),
            "update_s": AverageMeter("updt_s", ":.3f"),
            "dataloading_s": AverageMeter("data_s", ":.3f"),
        }
        self.tracker = MetricsTracker(BATCH, 1000, 10, metrics, initial_step=0, accelerator=self.accelerator)
        horizon = self.cfg.chunk_size if policy == "act" else self.cfg.horizon
        self.raw = raw_batch(self.cfg.n_obs_steps, horizon, time_axis=self.cfg.observation_delta_indices is not None)
        self.device = torch.device(device)

    def step(self) -> float:
        batch = self.preprocessor(dict(self.raw))
        self.tracker, _ = self.update_policy(
            self.tracker,
            self.policy,
            batch,
            self.optimizer,
            self.grad_clip_norm,
            accelerator=self.accelerator,
            lr_scheduler=self.lr_scheduler,
        )
        return self.tracker.loss.val

    def run(self, steps: int) -> float:
        import torch

        start = time.perf_counter()
        for _ in range(steps):
            self.step()
        if self.device.type == "cuda":
            torch.cuda.synchronize()
        return (time.perf_counter() - start) / steps

    def report(self) -> dict:
        import lerobot
        import torch

        skip = {"input_features", "output_features"}
        return {
            "side": "lerobot",
            "lerobot": getattr(lerobot, "__version__", "?"),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "n_params": self.n_params,
            "optimizer": self.optimizer_report,
            "config": {
                f.name: jsonable(getattr(self.cfg, f.name)) for f in dataclasses.fields(self.cfg) if f.name not in skip
            },
            "ignored_overrides": self.ignored,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", choices=["act", "diffusion"], required=True)
    parser.add_argument("--overrides", default="{}", help="JSON object of LeRobot config fields")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: every usable core)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--amp", action="store_true", help="bf16 mixed precision through Accelerate")
    parser.add_argument("--total-steps", type=int, default=100_000, help="cfg.steps, for the LR schedule")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--serve", action="store_true", help="after warm-up, time N steps per stdin line")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads or len(os.sched_getaffinity(0)))
    side = LeRobotStep(args.policy, json.loads(args.overrides), args.device, args.amp, args.total_steps)
    side.run(args.warmup) if args.warmup else None
    if not args.serve:
        print(
            RESULT + json.dumps({**side.report(), "s_per_step": side.run(args.steps), "steps": args.steps}), flush=True
        )
        return
    print(RESULT + json.dumps(side.report()), flush=True)
    for line in sys.stdin:
        if line.strip():
            print(RESULT + json.dumps({"s_per_step": side.run(int(line))}), flush=True)


if __name__ == "__main__":
    main()
