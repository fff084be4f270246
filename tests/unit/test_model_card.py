"""best/README.md carries the evidence: confirmed success with interval, seeds, the baseline comparison, the search,
compute and versions; its model-index parses with huggingface_hub; it loads by Hub id and names no local path."""

from pathlib import Path

import pytest
import yaml
from huggingface_hub import ModelCard
from huggingface_hub.repocard_data import model_index_to_eval_results

from orchestrator.publish.model_card import ModelCardInfo, SearchEvidence, write_model_card
from orchestrator.results.candidates import Candidate
from orchestrator.results.confirmed import Confirmed
from orchestrator.results.paired import paired_interval
from orchestrator.results.stats import mean_interval, wilson_interval


def confirmed(label: str, successes: int, n: int = 50) -> Confirmed:
    return Confirmed(
        label,
        Candidate(label, 800, {}, f"/machine/ckpt/{label}"),
        successes,
        n,
        successes / n,
        wilson_interval(successes, n),
        mean_interval([1.0, 2.0]),
        mean_interval([0.5, 0.7]),
    )


def info(tmp_path: Path, **changes) -> ModelCardInfo:
    fields = dict(
        repo_id="tester/act_metaworld",
        policy_type="act",
        env_type="metaworld",
        dataset_repo_id="local/mw_reach",
        experiment="act_reach",
        search=SearchEvidence("eval/success", "max", 0.9, 800, 20, 100_000),
        winner=confirmed("t1", 40),
        baseline=confirmed("baseline", 10),
        comparison=paired_interval([i < 40 for i in range(50)], [i < 10 for i in range(50)]).sentence(),
        confirm_first_seed=1_000_000,
        search_space={"optimizer.lr": "loguniform(0.0001, 0.003)", "policy.chunk_size": "choice([10, 20])"},
        n_trials=6,
        search_algorithm="optuna + asha",
        cpu_hours=0.25,
        gpu_hours=0.0,
        trials_table_md="| # | trial |\n|---|---|\n| 1 | t1 |",
        config_diff={"optimizer.lr": 0.001},
        seed_spread={"seeds": [1000, 1001], "success": [0.8, 0.7], "mean": 0.75, "std": 0.0707},
    )
    return ModelCardInfo(**{**fields, **changes})


def front_matter(text: str) -> dict:
    return yaml.safe_load(text.split("---\n", 2)[1])


def test_card_states_the_confirmed_evidence(tmp_path):
    card = write_model_card(tmp_path, info(tmp_path)).read_text()
    assert "80.0% (40 of 50)" in card and "67.0% - 88.8%" in card  # Wilson interval of 40/50: 0.6696-0.8876
    assert "20.0% (10 of 50)" in card  # the default config on the same episodes
    assert "seeds 1000000..1000049" in card and "seeds 100000..100019" in card
    assert "The sweep improved success by 60.0 points (paired 95 % CI +" in card
    assert "| `optimizer.lr` | `loguniform(0.0001, 0.003)` |" in card and "6 trials (optuna + asha)" in card
    assert "0.25 CPU-hours" in card and "mean 75.0%" in card
    for name in ("torch", "ray", "robot-sweeps commit"):
        assert f"- {name}: `" in card
    assert "--policy.path=tester/act_metaworld" in card
    assert "/machine/" not in card and str(tmp_path) not in card


def test_model_index_validates_with_huggingface_hub(tmp_path):
    path = write_model_card(tmp_path, info(tmp_path))
    meta = front_matter(path.read_text())
    name, results = model_index_to_eval_results(meta["model-index"])
    assert name == "tester/act_metaworld"
    success = next(r for r in results if r.metric_type == "success_rate")
    assert success.metric_value == pytest.approx(0.8) and "50 fresh episodes" in success.metric_name
    assert success.task_type == "robotics" and success.dataset_type == "local/mw_reach"
    loaded = ModelCard.load(path)  # huggingface_hub's own parser accepts the card
    assert loaded.data.library_name == "robot-sweeps" and len(loaded.data.eval_results) == 2


def test_unpushed_unconfirmed_card_names_no_path_and_says_it_was_not_confirmed(tmp_path):
    card = write_model_card(
        tmp_path,
        info(
            tmp_path,
            repo_id=None,
            winner=None,
            baseline=None,
            comparison=None,
            confirm_first_seed=None,
            seed_spread=None,
        ),
    ).read_text()
    assert "--policy.path=path/to/this/folder" in card and str(tmp_path) not in card
    assert "not confirmed" in card
    [result] = model_index_to_eval_results(front_matter(card)["model-index"])[1]
    assert result.metric_value == 0.9 and "not confirmed" in result.metric_name


def test_a_card_trained_on_a_dataset_folder_names_the_folder_and_how_lerobot_loads_it(tmp_path):
    card = write_model_card(tmp_path, info(tmp_path, dataset_folder="my_lerobot_data")).read_text()
    meta = front_matter(card)
    assert "local folder `my_lerobot_data`" in card and "local/mw_reach" not in card
    assert "datasets" not in meta and "lerobot" in meta["tags"]  # a folder is no Hub dataset id
    assert 'ACTPolicy.from_pretrained("tester/act_metaworld")' in card
    assert 'make_pre_post_processors(policy.config, pretrained_path="tester/act_metaworld")' in card


def test_a_hub_dataset_is_linked_and_an_mlp_has_no_lerobot_snippet(tmp_path):
    card = write_model_card(tmp_path, info(tmp_path, dataset_repo_id="lerobot/pusht", policy_type="mlp")).read_text()
    meta = front_matter(card)
    assert meta["datasets"] == ["lerobot/pusht"] and "lerobot" not in meta["tags"]
    assert "from_pretrained" not in card


def test_a_card_says_when_the_choice_is_not_evidence_and_whether_the_config_beats_the_default(tmp_path):
    """Issue 17.5: no candidate told apart from the winner, and a config that does not beat the default over seeds:
    best/ is still written, and its card says both, with the paired comparison's family-wise level."""
    from orchestrator.results.confirmation import decide, plan_for

    def zeros(label):
        return Confirmed(
            label,
            Candidate(label, 800, {}, f"/machine/ckpt/{label}"),
            0,
            10,
            0.0,
            wilson_interval(0, 10),
            mean_interval([0.0]),
            mean_interval([0.0]),
            [(1_000_000 + i, False, 0.0, 0.0) for i in range(10)],
        )

    entries = [zeros("t1"), zeros("t2"), zeros("baseline")]
    decision = decide(entries, "eval/success", "max", plan_for(2, True, 10, 0))
    spread = {
        "seeds": [1000, 1001, 1002],
        "success": [0.75, 0.4, 0.5],
        "mean": 0.55,
        "std": 0.18,
        "default": {"seeds": [1000, 1001, 1002], "success": [0.7, 0.6, 0.65], "mean": 0.65},
        "versus_default": {
            "beats": False,
            "sentence": "the winner's config does not beat the default config "
            "over seeds: -10.0 points (on success; 95 % stratified-bootstrap CI ...)",
        },
        "best": {"seed": 1002, "rule": "best/ holds seed 1002 (t9): the median of the config's 3 seeds"},
    }
    card = write_model_card(
        tmp_path,
        info(
            tmp_path,
            winner=entries[0],
            baseline=entries[2],
            comparison=decision.comparison_sentence(),
            confirmation=decision.to_dict(),
            seed_spread=spread,
        ),
    ).read_text()
    assert "**The choice is not evidence: no candidate is distinguishable from t1" in card
    assert "No significant difference in success: +0.0 points (paired 97.5 % CI" in card
    assert "each paired interval at 97.5 % (5 % / 2 comparisons, Bonferroni): family-wise 95 %" in card
    assert "**Over training seeds, the winner's config does not beat the default config" in card
    assert "The default config, trained with the same seeds ([1000, 1001, 1002])" in card
    assert "best/ holds seed 1002 (t9): the median" in card
