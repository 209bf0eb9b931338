from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.benchmarks.conftest import RunBenchmark

#: the scripts' default is 2 torch threads; beside the suite's other worker two spinning threads
#: made a quick run 7-16 times slower (measured under pytest -n 2)
ONE_THREAD = ("--threads", "1")


def test_oneshot_quick_prints_the_comparison_last(run_benchmark: RunBenchmark) -> None:
    done = run_benchmark(
        "oneshot.py",
        "--quick",
        "--spaces",
        "nb201",
        "--methods",
        "random-one-shot",
        *ONE_THREAD,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    row = result["nb201"]["random-one-shot"]
    assert row["search_s"] > 0 and 0 <= row["test_acc"] <= 100 and row["n_compared"] == 3
    assert len(row["test_acc_seeds"]) == 2  # the derived arch trained with 2 seeds (--quick)
    assert -1 <= row["kendall_tau"] <= 1 and isinstance(row["collapsed"], bool)
    assert 0 <= row["kendall_p"] <= 1
    assert 0 <= result["nb201"]["random_mean_test_acc"] <= 100
    # the random archs trained with the derived arch's training seeds (--quick: 2), paired
    by_seed = result["nb201"]["random_mean_by_training_seed"]
    assert len(by_seed) == 2 and all(0 <= acc <= 100 for acc in by_seed)
    assert row["training_seeds"] == [0, 1]
    assert set(result["nb201"]["rea_same_time_test_acc"]) == {"random-one-shot"}
    # evolution's best within the run's time, trained again with the same seeds (paired)
    rea = result["nb201"]["rea_same_time"]["random-one-shot"]
    assert rea["found_at_s"] <= row["search_s"] and len(rea["test_acc_seeds"]) == 2
    assert abs(rea["test_acc"] - sum(rea["test_acc_seeds"]) / 2) < 0.01
    assert rea["test_acc"] == result["nb201"]["rea_same_time_test_acc"]["random-one-shot"]
    assert 0 <= rea["trial_test_acc"] <= 100 and rea["arch"]
    memory = result["memory"]["nb201/softmax"]
    assert memory["predicted_mib"] > 0 and memory["measured_mib"] > 0


def test_oneshot_refuses_an_unknown_method(run_benchmark: RunBenchmark) -> None:
    done = run_benchmark("oneshot.py", "--quick", "--methods", "magic", timeout=120)
    assert done.returncode == 2 and "--methods: unknown 'magic'" in done.stderr


def test_oneshot_magnitude_runs_gdas_a_second_time_and_tune_steps_darts(
    run_benchmark: RunBenchmark,
) -> None:
    done = run_benchmark(
        "oneshot.py", "--quick", "--spaces", "nb201", "--methods", "gdas,darts", "--magnitude",
        "--tune-steps", "1", "--runs", "gdas,gdas+magnitude,darts+perturbation-tuned",
        "--no-baselines", "--warmup-epochs", "1", *ONE_THREAD, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout.strip().splitlines()[-1])["nb201"]
    assert set(rows) == {"gdas", "gdas+magnitude", "darts+perturbation-tuned"}
    assert all(0 <= row["test_acc"] <= 100 for row in rows.values())
    gdas = [rows["gdas"], rows["gdas+magnitude"]]
    # the default picks by perturbation, --magnitude's run by the papers' rule
    assert [row["settings"]["selection"] for row in gdas] == ["perturbation", "magnitude"]
    # --quick: 1 search epoch, 3 for GDAS, after 1 weights-only epoch; no pooling norm for GDAS;
    # the running batch-norm statistics (no recalibration by default)
    assert all(row["epochs"] == 4 and row["warmup_epochs"] == 1 for row in gdas)
    assert all(row["pool_norm"] is False and row["tune_steps"] == 0 for row in gdas)
    assert all(row["bn_recalibrate"] is False for row in rows.values())
    tuned = rows["darts+perturbation-tuned"]
    assert tuned["epochs"] == 2 and tuned["pool_norm"] is True and tuned["tune_steps"] == 1
    assert tuned["settings"]["selection"] == "perturbation"


def test_oneshot_extra_run_passes_its_options_and_seeds_average_over_search_seeds(
    run_benchmark: RunBenchmark,
) -> None:
    done = run_benchmark(
        "oneshot.py", "--quick", "--spaces", "nb201", "--methods", "enas", "--runs", "enas+bounded",
        "--extra-run", 'enas+bounded={"temperature": 5, "tanh_constant": 2.5}', "--no-baselines",
        "--seeds", "3,5", *ONE_THREAD, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    row = result["nb201"]["enas+bounded"]
    assert row["options"] == {"temperature": 5, "tanh_constant": 2.5}
    by_seed = row["search_seeds"]  # --seeds: the run once per search seed, the row their mean
    assert set(by_seed) == {"3", "5"} and result["settings"]["seeds"] == [3, 5]
    for seed, seeded in by_seed.items():
        assert seeded["seed"] == int(seed) and 0 <= seeded["test_acc"] <= 100
        # every search's derived arch trained with the same training seeds (--quick: 2)
        assert seeded["training_seeds"] == [0, 1]
        assert seeded["settings"]["temperature"] == 5.0
        assert seeded["settings"]["tanh_constant"] == 2.5
    tests = [by_seed[s]["test_acc"] for s in ("3", "5")]
    assert row["test_acc_search_seeds"] == tests
    assert abs(row["test_acc"] - sum(tests) / 2) < 0.01
    assert row["collapsed"] == any(seeded["collapsed"] for seeded in by_seed.values())


def test_oneshot_refuses_an_extra_run_of_a_method_not_run(run_benchmark: RunBenchmark) -> None:
    done = run_benchmark(
        "oneshot.py", "--quick", "--methods", "gdas", "--extra-run", "enas+x={}", timeout=120
    )
    assert done.returncode == 2 and "--extra-run: 'enas+x'; allowed: METHOD+LABEL" in done.stderr


def test_supernet_ranking_quick_prints_both_taus_and_the_ceiling(
    run_benchmark: RunBenchmark,
) -> None:
    done = run_benchmark(
        "supernet_ranking.py", "--quick", "--space", "nb201", *ONE_THREAD, timeout=600
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["archs"] == 4 and result["search_s"] > 0
    assert set(result["tau"]) == {"recalibrated", "running_averages"}
    for taus in (*result["tau"].values(), result["ceiling"]):
        assert set(taus) == {"val", "test"}
        assert all(t is None or -1 <= t <= 1 for t in taus.values())  # None: all tied
    assert all(0 <= acc <= 100 for acc in result["supernet_mean_val_acc"].values())


def test_oneshot_refuses_bad_seeds(run_benchmark: RunBenchmark) -> None:
    done = run_benchmark("oneshot.py", "--quick", "--seeds", "0,x", timeout=120)
    assert done.returncode == 2 and "--seeds: '0,x'; allowed: integers" in done.stderr
    done = run_benchmark("oneshot.py", "--quick", "--seeds", "1,1", timeout=120)
    assert done.returncode == 2 and "allowed: distinct integers" in done.stderr
