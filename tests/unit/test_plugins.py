"""A package of the user's, named by `discover_packages_path`, is imported before a config is decoded and listed in
$ROBOT_SWEEPS_PACKAGES for the Ray workers; its policy model registers with register_policy (no Ray here)."""

import os
import sys

import pytest

from orchestrator import plugins
from orchestrator.configs.parsing import build_config, parse_cli
from orchestrator.configs.policy import PolicyConfig
from orchestrator.envs.configs import EnvConfig
from orchestrator.errors import UserError
from orchestrator.policies import factory
from tests.support.plugin_kit import PACKAGE, write_plugin


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    """The package on sys.path; afterwards every trace of it is gone (registries, modules, the env var)."""
    monkeypatch.syspath_prepend(str(write_plugin(tmp_path)))
    monkeypatch.delenv(plugins.ENV_VAR, raising=False)
    yield PACKAGE
    PolicyConfig._choice_registry.pop("linear_chunk", None)
    EnvConfig._choice_registry.pop("my_pendulum", None)
    factory.POLICY_CLASSES.pop("linear_chunk", None)
    plugins._imported.discard(PACKAGE)
    sys.modules.pop(PACKAGE, None)


def test_cli_keys_import_the_package_before_decoding(plugin):
    cli, _ = parse_cli(
        [
            f"--policy.discover_packages_path={plugin}",
            "--policy.type=linear_chunk",
            "--policy.lr=0.01",
            f"--env.discover_packages_path={plugin}",
        ]
    )
    assert cli == {"policy": {"type": "linear_chunk", "lr": "0.01"}}  # the keys are gone, the env section with them
    cfg = build_config(None, [cli])
    assert cfg.policy.type == "linear_chunk" and cfg.optimizer.lr == 0.01  # the plugin's preset
    assert plugins.packages() == [plugin]  # what the Ray workers import (one entry, however often it is named)
    assert factory.policy_class("linear_chunk").__module__ == plugin


def test_config_file_keys_and_search_space_classes_are_remembered(plugin):
    layer = {"env": {"type": "my_pendulum", "discover_packages_path": plugin, "gravity": 9.8}}  # e.g. a YAML file
    cfg = build_config(None, [layer], validate=False)
    assert cfg.env.gravity == 9.8 and plugins.packages() == [plugin]
    os.environ.pop(plugins.ENV_VAR)
    plugins.remember_packages_of(cfg)  # a search-space file that imported the package itself
    assert plugins.packages() == [plugin]


def test_a_package_that_does_not_import_is_refused_by_its_field():
    with pytest.raises(UserError, match="policy.discover_packages_path = 'no_such_pkg': no module named"):
        parse_cli(["--policy.discover_packages_path=no_such_pkg"])
    with pytest.raises(UserError, match="put the folder that holds it on PYTHONPATH"):
        parse_cli(["--env.discover_packages_path=./plugins/mine.py"])


def test_register_policy_refuses_a_taken_name(plugin):
    from orchestrator.policies.mlp.modeling import MLPPolicy

    with pytest.raises(ValueError, match="taken by"):
        factory.register_policy("act", MLPPolicy)
    with pytest.raises(TypeError, match="not a subclass"):
        factory.register_policy("mine", object)
