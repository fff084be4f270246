"""In LeRobot's venv: load our folders with LeRobot's own code and compare its raw actions with ours (run.sh)."""

import sys

import torch
from lerobot.policies.act.modeling_act import ACTPolicy
from lerobot.policies.diffusion.modeling_diffusion import DiffusionPolicy
from lerobot.policies.factory import make_pre_post_processors
from safetensors.torch import load_file

out = sys.argv[1]
for name, cls in [("act", ACTPolicy), ("diffusion", DiffusionPolicy), ("diffusion_resize", DiffusionPolicy)]:
    folder = f"{out}/{name}"
    policy = cls.from_pretrained(folder, strict=True)  # every weight used, none missing
    policy.eval()
    pre, post = make_pre_post_processors(policy.config, pretrained_path=folder)
    ref = load_file(f"{out}/{name}_ours.safetensors")
    obs = {k[4:]: v for k, v in ref.items() if k.startswith("obs.")}
    batch = pre(obs)
    torch.manual_seed(123)
    if name == "act":
        actions = policy.predict_action_chunk(batch)
    else:
        # LeRobot's diffusion predict_action_chunk reads its observation queue; call the model on the stacked window
        b = dict(batch)
        b["observation.images"] = torch.stack([b["observation.image"]], dim=-4)
        actions = policy.diffusion.generate_actions(b)
    actions = post(actions)
    diff = (actions - ref["actions"]).abs().max().item()
    rel = ((actions - ref["actions"]).abs() / ref["actions"].abs().clamp_min(1e-6)).max().item()
    print(
        f"{name}: loaded by LeRobot {type(policy).__name__}; max |LeRobot - ours| = {diff:.3g} (relative {rel:.3g}); shapes {tuple(actions.shape)}"
    )
