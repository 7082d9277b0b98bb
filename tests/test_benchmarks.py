"""The benchmark harness runs end to end (a smoke run: nothing here is timed or compared).
The smoke runs are background jobs (`background.py`): they run beside the rest of the suite."""

import importlib
import json
import pathlib
import sys

import numpy as np
import pytest

import background

BENCH = pathlib.Path(__file__).resolve().parent.parent / "benchmarks" / "bench_rnn.py"
HAVE_TF115 = pathlib.Path("/opt/tf115/bin/python").exists()


@background.job("bench_rnn --quick")
def _quick_rnn(folder):
    # One mode and two implementations keep this to a few TensorFlow processes (~20 s).
    return background.python(BENCH, "--quick", "--impls", "matmul", "keras", "--cells", "basic_lstm",
                             "--modes", "fwd_bwd", "--out", folder / "results.json")


@background.job("head_to_head --quick")
def _quick_head_to_head(folder):
    return background.python(BENCH.parent / "head_to_head.py", "--quick", "--cells", "lstm", "--modes", "forward",
                             "--calls-for", "2x5x3x4:forward=3", "--out", folder / "h2h.json")


@background.job("bench_seq2seq --quick")
def _quick_seq2seq(folder):
    return background.python(BENCH.parent / "bench_seq2seq.py", "--quick", "--variants", "tf.function",
                             "--out", folder / "s2s.json")


def benchmark_module(name):
    """Imports `benchmarks/<name>.py`: the folder is scripts, not a package."""
    sys.path.insert(0, str(BENCH.parent))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(BENCH.parent))


@pytest.mark.background("bench_rnn --quick")
def test_quick_run_writes_results():
    process = background.result("bench_rnn --quick").check()
    document = json.loads((process.folder / "results.json").read_text())
    assert {"started", "elapsed_s", "settings", "machine", "results", "targets", "measurements"} <= set(document)
    assert document["machine"]["cpu_count"] >= 1
    assert "tensorflow" in document["machine"]["versions"]
    variants = {(r["impl"], r["variant"]) for r in document["results"]}
    assert variants == {
        ("keras", "tf.function"), ("keras", "tf.function+xla"),
        ("matmul", "tf.function"), ("matmul", "tf.function+xla"), ("matmul", "tf.function+xla while_loop"),
        ("matmul", "numpy"), ("matmul", "numpy-1thread"),
    }
    for result in document["results"]:
        assert result["status"] == "ok", result
        assert result["size"] == "2x5x3x4" and result["mode"] == "fwd_bwd"
        assert result["median_ms"] > 0 and result["first_call_ms"] > 0
        assert result["peak_rss_mb"] >= result["rss_after_import_mb"] > 0
        assert result["vs_limit"] >= 1.0 and result["vs_keras_best"] > 0
    assert "matmul-only limit" in process.output and "keras.layers.LSTM" in process.output


def test_keras_gru_runs_both_formulations():
    """Keras' default GRU (reset_after=True) and TF1's function (reset_after=False), each in both variants."""
    bench_rnn = benchmark_module("bench_rnn")
    (group,) = bench_rnn.plan(bench_rnn.parse_args(["--impls", "keras", "--cells", "gru", "--modes", "forward", "--sizes", "2x5x3x4"]))
    assert sorted((spec["model"], spec["variant"]) for spec in group) == [
        ("GRU", "tf.function"), ("GRU", "tf.function+xla"),
        ("GRU(reset_after=False)", "tf.function"), ("GRU(reset_after=False)", "tf.function+xla"),
    ]
    assert {spec["family"] for spec in group} == {"gru"}


@pytest.mark.background("head_to_head --quick")
def test_head_to_head_quick_run():
    """tfrnn, Keras and the limit share one process per group, TF1's path and tfrnn again a second one;
    each is rated against its own group, TF1 against the tfrnn beside it."""
    process = background.result("head_to_head --quick").check()
    document = json.loads((process.folder / "h2h.json").read_text())
    assert len(document["machine"]["load_average_at_start"]) == 3  # the verdict needs a quiet machine
    assert document["machine"]["cpu_count"] >= 1
    results = document["results"]
    assert {(r["impl"], r["model"], r["variant"]) for r in results} == {
        ("tfrnn", "LSTMCell", "tf.function"), ("tfrnn", "LSTMCell", "tf.function+xla"),
        ("keras", "LSTM", "tf.function"), ("keras", "LSTM", "tf.function+xla"),
        ("matmul", "LSTM", "tf.function"), ("matmul", "LSTM", "tf.function+xla"),
        ("matmul", "LSTM", "tf.function+xla while_loop"), ("matmul", "LSTM", "numpy"),
        ("tf1", "LSTMCell", "tf.function"), ("tf1", "LSTMCell", "tf.function+xla"),
        ("tfrnn@tf1", "LSTMCell", "tf.function"), ("tfrnn@tf1", "LSTMCell", "tf.function+xla"),
    }
    best = {impl: min(r["median_ms"] for r in results if r["impl"] == impl) for impl in ("matmul", "keras", "tf1", "tfrnn@tf1")}
    tf_gemms = min(r["median_ms"] for r in results if r["impl"] == "matmul" and r["variant"] != "numpy")
    for r in results:
        assert len(r["times_ms"]) == 3 and r["median_ms"] > 0  # --calls-for, not --quick's 2
        want = [r["median_ms"] / best["matmul"], r["median_ms"] / tf_gemms, r["median_ms"] / best["keras"]]
        np.testing.assert_allclose([r["vs_limit"], r["vs_tf_gemms"], r["vs_keras_best"]], want)
        # TF1 is rated against the tfrnn in its own process, not against the group's tfrnn.
        ours = {"tfrnn": best["tfrnn@tf1"], "tfrnn@tf1": r["median_ms"]}.get(r["impl"])
        assert r["vs_tf1_best"] == (pytest.approx(ours / best["tf1"]) if ours else None)
        if r["impl"] == "tfrnn":
            for ratio in ("vs_limit", "vs_tf_gemms", "vs_keras_best", "vs_tf1_best"):
                low, high = r[f"{ratio}_ci"]
                assert 0 < low <= high
    assert "| tfrnn cell | size | mode |" in process.output and "×TF1 best" in process.output
    assert "×TF's GEMMs" in process.output and "2x5x3x4, forward, 3 interleaved calls each" in process.output


def test_head_to_head_calls_for_a_size_and_mode(capsys):
    head_to_head = benchmark_module("head_to_head")
    args = head_to_head.parse_args(
        ["--sizes", "32x100x128x256", "1x200x64x128", "--calls", "40", "--calls-for", "32x100x128x256:forward=300", "1x200x64x128=100"]
    )
    assert [head_to_head.calls_for(args, size, mode) for size, mode in [
        ("32x100x128x256", "forward"), ("32x100x128x256", "fwd_bwd"), ("1x200x64x128", "forward"), ("1x200x64x128", "fwd_bwd"),
    ]] == [300, 40, 100, 100]
    for wrong, says in [
        ("32x100x128x256:fwd=300", "expected SIZE[:MODE]=N with MODE one of forward, fwd_bwd"),
        ("32x100x128x256=0", "N >= 1"),
        ("32x100x128x256", "expected SIZE[:MODE]=N"),
        ("128x50x256x512=300", "names 128x50x256x512, not among the sizes run (32x100x128x256)"),
    ]:
        with pytest.raises(SystemExit):
            head_to_head.parse_args(["--sizes", "32x100x128x256", "--calls-for", wrong])
        assert says in capsys.readouterr().err


def test_head_to_head_gives_warm_turns_and_waits_after_numpy_calls():
    """A turn is an untimed and a timed call; after NumPy's, whose threads spin, the next contender waits."""
    head_to_head = benchmark_module("head_to_head")
    log = []
    calls = {
        ("tfrnn", "GRUCell", "tf.function"): lambda: log.append("tfrnn"),
        ("matmul", "GRU", "numpy"): lambda: log.append("numpy"),
        ("matmul", "GRU", "tf.function"): lambda: log.append("matmul"),
    }
    contenders = {key: head_to_head.local_turn(call) for key, call in calls.items()}
    times = head_to_head.interleave(contenders, calls=4, sleep=lambda seconds: log.append(seconds))

    assert {key: len(ts) for key, ts in times.items()} == dict.fromkeys(calls, 4)
    turns = [log[i : i + 3] for i in range(0, len(log), 3)]  # [untimed call, timed call, pause]
    assert len(turns) == 12 and all(untimed == timed for untimed, timed, _ in turns)
    assert sorted(turn[0] for turn in turns) == sorted(["tfrnn", "numpy", "matmul"] * 4)
    assert [pause for call, _, pause in turns if call == "numpy"] == [head_to_head.SETTLE_S["numpy"]] * 4
    assert head_to_head.SETTLE_S["numpy"] >= 0.15  # measured: the spinning ends 0.1-0.15 s after the call
    assert {pause for call, _, pause in turns if call != "numpy"} == {0.0}


def timings(*times_ms):
    return [dict(times_ms=list(ts), median_ms=float(np.median(ts))) for ts in times_ms]


def test_interval_draws_whole_rounds():
    """Rounds are paired: a machine that slows every contender alike leaves the ratio's interval a point;
    the same times out of step widen it. The best of several contenders is taken in every draw."""
    head_to_head = benchmark_module("head_to_head")
    machine = np.random.default_rng(0).uniform(1.0, 2.0, 30)  # each round's slowdown
    ours, limit, slower_limit = timings(2.4 * machine, machine, 1.5 * machine)
    assert head_to_head.interval([ours], [limit, slower_limit]) == pytest.approx((2.4, 2.4))
    shuffled = timings(np.random.default_rng(1).permutation(limit["times_ms"]))
    low, high = head_to_head.interval([ours], shuffled)
    assert low < 2.4 * 0.95 and high > 2.4 * 1.05


def test_targets_say_when_a_run_cannot_tell():
    head_to_head = benchmark_module("head_to_head")
    result = dict(vs_limit=1.16, vs_limit_ci=(1.08, 1.30), vs_keras_best=0.81, vs_keras_best_ci=(0.75, 0.91), vs_tf1_best=None)
    assert head_to_head.verdict(result, "vs_limit", 1.2) == "1.16 ok? [1.08–1.30]"
    assert head_to_head.verdict(dict(result, vs_limit=1.23), "vs_limit", 1.2) == "1.23 MISSED? [1.08–1.30]"
    assert head_to_head.verdict(result, "vs_keras_best", 1.0) == "0.81 ok [0.75–0.91]"
    assert head_to_head.verdict(result, "vs_tf1_best", 1.0) == "– (not measured)"
    assert head_to_head.with_interval(dict(vs_tf_gemms=1.02, vs_tf_gemms_ci=(0.95, 1.09)), "vs_tf_gemms") == "1.02 [0.95–1.09]"


@pytest.mark.parametrize("model, products", [("LSTM", 1), ("GRU", 2)])
def test_limit_chains_each_step_as_the_cell_must(model, products):
    """The limit's GEMMs: NumPy and TF compute the same chain, and a TF1 GRU's step is two
    dependent products (the candidate's waits for r), an LSTM's one."""
    impls = benchmark_module("impls")
    size = impls.Size(batch=3, time=4, depth=5, units=6)
    operands = impls._matmul_operands(size, model)
    assert [w.shape for w in operands["w_hs"]] == ([(6, 24)] if products == 1 else [(6, 12), (6, 6)])
    x_w = operands["x"] @ operands["w_x"]
    h = x_w[:3, :6]
    for _ in range(4):
        for w in operands["w_hs"]:
            h = (h @ w)[:, :6]
    numpy_calls = impls.build_matmul(model, size, "numpy")
    np.testing.assert_allclose(numpy_calls.forward()[1], h, rtol=1e-4, atol=1e-5)
    unrolled = impls.build_matmul(model, size, "tf.function").fwd_bwd()
    for variant in ("tf.function", "tf.function+xla", impls.LOOP_VARIANT):
        tf_calls = impls.build_matmul(model, size, variant)
        np.testing.assert_allclose(tf_calls.forward()[1], h, rtol=1e-4, atol=1e-5)
        numpy_grads, tf_grads = numpy_calls.fwd_bwd(), tf_calls.fwd_bwd()
        assert len(numpy_grads) == len(tf_grads) == 4 + products  # x_w, dh_0, dW_x, dW_h per product, dX
        for ours, theirs in zip(numpy_grads[:3] + numpy_grads[-1:], tf_grads[:3] + tf_grads[-1:]):
            np.testing.assert_allclose(ours, theirs, rtol=1e-3, atol=1e-4)
        # NumPy's dW_h reads one step off (see `_numpy_gemms`); TF's variants read the same steps.
        for ours, theirs in zip(unrolled, tf_grads):
            np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)


SEQ2SEQ_CONTENDERS = {
    ("tfrnn", "dynamic_decode, projection hoisted", "tf.function"), ("tfrnn", "dynamic_decode, projection per step", "tf.function"),
    ("tfrnn", "dynamic_rnn + projection", "tf.function"), ("tfrnn", "dynamic_decode, greedy", "tf.function"),
    ("tf1", "decoder, output layer per step", "session"), ("tf1", "decoder + projection after the loop", "session"),
    ("tf1", "decoder, greedy", "session"),
    ("matmul", "GEMMs, train", "tf.function"), ("matmul", "GEMMs, train", "numpy"),
    ("matmul", "GEMMs, greedy", "tf.function"), ("matmul", "GEMMs, greedy", "numpy"),
}


@pytest.mark.skipif(not HAVE_TF115, reason="needs TF 1.15 at /opt/tf115")
@pytest.mark.background("bench_seq2seq --quick")
def test_seq2seq_quick_run():
    """tfrnn's programs and the limit in one process, TF 1.15's in its own, the same weights by TF1 name:
    every program's loss, gradients and greedy ids agree before timing, and each ratio is against its own mode."""
    process = background.result("bench_seq2seq --quick").check()
    document = json.loads((process.folder / "s2s.json").read_text())
    results = document["results"]
    assert {(r["impl"], r["program"], r["variant"]) for r in results} == SEQ2SEQ_CONTENDERS
    train, greedy = document["agreement"]
    assert train.startswith("train: 5 programs agree") and greedy == "greedy: 2 programs give the same 12 ids and lengths"
    for r in results:
        same = [s for s in results if s["mode"] == r["mode"]]
        assert len(r["times_ms"]) == 2 and r["median_ms"] > 0
        for ratio, impl in (("vs_tf1", "tf1"), ("vs_limit", "matmul")):
            assert r[ratio] == pytest.approx(r["median_ms"] / min(s["median_ms"] for s in same if s["impl"] == impl))
    assert {(t["mode"], t["variant"]) for t in document["targets"]} == {("train", "tf.function"), ("greedy", "tf.function")}
    assert [lever["lever"] for lever in document["levers"]][::len(document["levers"]) - 1] == [
        "output projection hoisted out of the loop (decoder.py's fast path)", "by hand in TF 1.15: projection after the loop (nmt)"]
    assert len(document["machine"]["load_average_before_timing"]) == 3
    assert "×TF 1.15 best" in process.output and "What each lever bought" in process.output


def test_seq2seq_disagreement_is_found():
    """A loss 2e-4 off, a gradient 1% off, or one greedy id changed is named; float32 round-off is not."""
    bench = benchmark_module("bench_seq2seq")
    gradient = np.linspace(-1.0, 1.0, 12).reshape(3, 4)
    reference = {"loss": np.float32(9.0), "grad:decoder/output_projection/kernel": gradient}
    close = {"loss": np.float32(9.00005), "grad:decoder/output_projection/kernel": gradient + 1e-6}
    checks = {("tf1", "decoder, output layer per step", "session"): reference,
              ("tfrnn", "dynamic_decode, projection hoisted", "tf.function"): close}
    assert bench.disagreements(checks, "train") == []
    far = {"loss": np.float32(9.0002), "grad:decoder/output_projection/kernel": gradient * 1.01}
    checks[("tfrnn", "dynamic_rnn + projection", "tf.function")] = far
    problems = bench.disagreements(checks, "train")
    assert len(problems) == 2 and "loss" in problems[0] and "output_projection/kernel" in problems[1]
    ids = np.arange(6).reshape(2, 3)
    greedy = {("tf1", "decoder, greedy", "session"): {"sample_id": ids, "lengths": np.array([3, 3])},
              ("tfrnn", "dynamic_decode, greedy", "tf.function+xla"): {"sample_id": ids.clip(0, 4), "lengths": np.array([3, 3])}}
    assert bench.disagreements(greedy, "greedy") == [
        "('tfrnn', 'dynamic_decode, greedy', 'tf.function+xla') sample_id: 1 from ('tf1', 'decoder, greedy', 'session')'s (allowed 0)"]


def test_seq2seq_limit_numpy_and_tensorflow_compute_the_same_chain():
    """The limit's GEMMs for the training step and the greedy decode, NumPy against TensorFlow (weights given transposed)."""
    bench = benchmark_module("bench_seq2seq")
    size = bench.QUICK
    numpy_train, numpy_greedy = bench._numpy_gemms(size, **bench.limit_operands(size))
    expected_train, expected_greedy = numpy_train(), numpy_greedy()
    assert [a.shape for a in expected_train[-5:]] == [(14, 32), (8, 32), (8, 8), (16, 8), (8, 11)]  # dW_x, dW_h, dW_q, dW_a, dW_out
    for variant in bench.VARIANTS:
        train, greedy = bench._tf_gemms(size, variant, bench.limit_operands(size))
        for ours, theirs in zip(expected_train, train(), strict=True):
            np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)
        keys, *xah = greedy()
        np.testing.assert_allclose(expected_greedy[0], keys, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(expected_greedy[1], np.concatenate(xah, axis=1), rtol=1e-4, atol=1e-5)
