"""Write our ACT and Diffusion policy folders (with a camera) and our raw actions for fixed observations (run.sh)."""

import sys

import numpy as np
import torch
from safetensors.torch import save_file

from orchestrator.configs.features import FeatureType, PolicyFeature
from orchestrator.policies.act.configuration import ACTConfig
from orchestrator.policies.diffusion.configuration import DiffusionConfig
from orchestrator.policies.factory import load_policy, make_policy

out = sys.argv[1]
torch.manual_seed(0)
feats = {
    "observation.state": PolicyFeature(FeatureType.STATE, (2,)),
    "observation.image": PolicyFeature(FeatureType.VISUAL, (3, 96, 96)),
    "action": PolicyFeature(FeatureType.ACTION, (2,)),
}


def st(shape, lo, hi):
    rng = np.random.default_rng(0)
    mean = rng.uniform(lo, hi, shape)
    std = rng.uniform(0.5, 2, shape)
    return {"mean": mean, "std": std, "min": mean - 3 * std, "max": mean + 3 * std, "count": np.array([100])}


stats = {
    "observation.state": st((2,), 100, 300),
    "action": st((2,), 100, 300),
    "observation.image": {k: (v.reshape(3, 1, 1) if k != "count" else v) for k, v in st((3,), 0.3, 0.6).items()},
}
obs = {"observation.state": torch.rand(4, 2) * 200 + 100, "observation.image": torch.rand(4, 3, 96, 96)}
for name, cfg in [
    (
        "act",
        ACTConfig(
            dim_model=64,
            n_heads=4,
            dim_feedforward=128,
            n_encoder_layers=1,
            n_vae_encoder_layers=1,
            chunk_size=10,
            n_action_steps=10,
        ),
    ),
    (
        "diffusion",
        DiffusionConfig(
            down_dims=(32, 64),
            horizon=16,
            crop_shape=(84, 84),
            noise_scheduler_type="DDIM",
            num_inference_steps=10,
            diffusion_step_embed_dim=32,
            n_obs_steps=2,
        ),
    ),
    (
        "diffusion_resize",
        DiffusionConfig(
            down_dims=(32, 64),
            horizon=16,
            resize_shape=(72, 80),
            crop_ratio=0.9,
            noise_scheduler_type="DDIM",
            num_inference_steps=10,
            diffusion_step_embed_dim=32,
            n_obs_steps=2,
            use_separate_rgb_encoder_per_camera=True,
        ),
    ),
]:
    p = make_policy(cfg, feats, stats)
    for prm in p.parameters():  # not the init: random weights everywhere
        prm.data.normal_(0, 0.05)
    p.save_pretrained(f"{out}/{name}")
    q = load_policy(f"{out}/{name}").eval()
    o = obs if name == "act" else {k: v.unsqueeze(1).expand(-1, 2, *v.shape[1:]).contiguous() for k, v in obs.items()}
    torch.manual_seed(123)
    a = q.predict_action_chunk(o)
    save_file(
        {**{f"obs.{k}": v.contiguous() for k, v in o.items()}, "actions": a.contiguous()},
        f"{out}/{name}_ours.safetensors",
    )
    print(name, a.shape)
