"""Simulator configs, selected by name (`--env.type=pusht`). Each simulator lives in its own module
(pusht.py, aloha.py, metaworld.py, gym_env.py), derives from EnvConfig (base.py) and maps its observations to LeRobot
feature names; importing this module registers every one of them (with their base, re-exported here for
`from orchestrator.envs.configs import ...`)."""

from orchestrator.envs.aloha import AlohaEnvConfig
from orchestrator.envs.base import EnvConfig
from orchestrator.envs.gym_env import GymEnvConfig
from orchestrator.envs.metaworld import MetaWorldEnvConfig
from orchestrator.envs.pusht import PushTEnvConfig

__all__ = ["EnvConfig", "AlohaEnvConfig", "GymEnvConfig", "MetaWorldEnvConfig", "PushTEnvConfig"]
