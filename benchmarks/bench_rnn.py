"""Time tfrnn.dynamic_rnn against Keras 3, TF1's path, PyTorch and the matmul-only limit.

    python benchmarks/bench_rnn.py                  # everything, ~12 min on 2 cores
    python benchmarks/bench_rnn.py --cells basic_lstm --impls tfrnn keras matmul --rounds 3
    python benchmarks/bench_rnn.py --quick          # smoke run on a tiny size

Each (implementation, model, size, mode, variant) runs in its own process
(benchmarks/measure.py); this driver plans the runs, interleaves them, prints markdown
tables and the target check, and saves everything as JSON. See benchmarks/README.md.
"""

import argparse
import datetime
import importlib.metadata
import json
import os
import pathlib
import platform
import random
import statistics
import subprocess
import sys
import time

from impls import IMPLEMENTATIONS, family
import report

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent
CELLS = ("basic_lstm", "lstm", "gru")
MODES = ("forward", "fwd_bwd")
# Size -> timed calls per process. The 128-batch fwd+bwd takes ~0.4 s a call on the
# TF1 path, so it gets fewer; a full run takes ~12 minutes on 2 cores.
DEFAULT_SIZES = {"32x100x128x256": 20, "128x50x256x512": 8, "1x200x64x128": 20}
QUICK_SIZES = {"2x5x3x4": 1}
WARMUP = 2  # untimed calls after the first (compiling) one


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", metavar="BxTxIxH", help="batch x time x input x hidden")
    parser.add_argument("--impls", nargs="+", choices=list(IMPLEMENTATIONS), default=list(IMPLEMENTATIONS))
    parser.add_argument("--cells", nargs="+", choices=CELLS, default=list(CELLS))
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--repeats", type=int, help="timed calls per process (default: per size)")
    parser.add_argument("--rounds", type=int, default=1, help="processes per configuration, interleaved")
    parser.add_argument("--quick", action="store_true", help="tiny size, 1 repeat, no warm-up: a smoke run")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per measurement process")
    parser.add_argument("--out", type=pathlib.Path, help="JSON file (default: benchmarks/results/<time>.json)")
    args = parser.parse_args(argv)
    args.sizes = _repeats_per_size(args)
    args.warmup = 0 if args.quick else WARMUP
    return args


def _repeats_per_size(args):
    default = QUICK_SIZES if args.quick else DEFAULT_SIZES
    sizes = args.sizes or list(default)
    for size in sizes:
        parts = size.split("x")
        if len(parts) != 4 or not all(p.isdigit() and int(p) > 0 for p in parts):
            raise SystemExit(f"--sizes: expected BxTxIxH with positive integers, like 32x100x128x256; got {size!r}")
    return {size: args.repeats or (1 if args.quick else DEFAULT_SIZES.get(size, 20)) for size in sizes}


def plan(args):
    """Groups of specs, one group per (size, mode): what gets compared runs close in time."""
    groups = []
    for size, repeats in args.sizes.items():
        for mode in args.modes:
            group = []
            for name in args.impls:
                implementation = IMPLEMENTATIONS[name]
                # Keras, torch and the GEMMs run one model for both LSTM cells: measured once.
                for model in dict.fromkeys(m for cell in args.cells for m in implementation.models_for(cell)):
                    for variant in implementation.variants:
                        group.append(dict(
                            impl=name, model=model, family=family(model), variant=variant, mode=mode,
                            size=[int(p) for p in size.split("x")], repeats=repeats, warmup=args.warmup,
                        ))
            groups.append(group)
    return groups


def base_env():
    """A measurement process's environment: this checkout's tfrnn, Keras 3, quiet TF logs."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))  # this checkout's tfrnn
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.pop("TF_USE_LEGACY_KERAS", None)
    return env


def child_env(spec):
    """The environment of one measurement process."""
    implementation = IMPLEMENTATIONS[spec["impl"]]
    env = base_env()
    if implementation.legacy_keras:
        env["TF_USE_LEGACY_KERAS"] = "1"  # must be set before TensorFlow is imported
    env.update(implementation.variant_env.get(spec["variant"], {}))
    return env


def run_one(spec, timeout):
    """Run measure.py for one spec; its result, or an error with the end of stderr."""
    command = [sys.executable, str(HERE / "measure.py"), json.dumps(spec)]
    try:
        process = subprocess.run(
            command, env=child_env(spec), cwd=REPO, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return {"status": "error", "note": f"timed out after {timeout:.0f} s"}
    result = result_of(process)
    if result is None:
        tail = " | ".join(process.stderr.strip().splitlines()[-3:])
        return {"status": "error", "note": f"exit code {process.returncode}: {tail}"}
    return result


def result_of(process):
    """The JSON of a child's last `RESULT ` line, or None if it failed or printed none."""
    lines = [line for line in process.stdout.splitlines() if line.startswith("RESULT ")]
    return None if process.returncode or not lines else json.loads(lines[-1][len("RESULT "):])


def describe(spec):
    size = "x".join(map(str, spec["size"]))
    return f"{spec['impl']} {spec['model']} {spec['variant']} {size} {spec['mode']}"


def run_rounds(groups, rounds, timeout):
    """Every spec `rounds` times, each group shuffled anew per round (no fixed order bias).

    Once an implementation reports itself unavailable (torch missing, no
    tfrnn.dynamic_rnn yet), its other specs are skipped without starting a process.
    """
    measurements, unavailable = [], {}
    total = rounds * sum(map(len, groups))
    for round_index in range(rounds):
        order = random.Random(round_index)
        for group in groups:
            for spec in order.sample(group, len(group)):
                started = time.perf_counter()
                if spec["impl"] in unavailable:
                    outcome = {"status": "skipped", "note": unavailable[spec["impl"]]}
                else:
                    outcome = run_one(spec, timeout)
                if outcome["status"] == "skipped":
                    unavailable[spec["impl"]] = outcome["note"]
                measurements.append({**spec, "round": round_index, **outcome})
                _progress(len(measurements), total, spec, outcome, time.perf_counter() - started)
    return measurements


def _progress(done, total, spec, outcome, seconds):
    if outcome["status"] == "ok":
        status = f"{outcome['median_ms']:.2f} ms"
    else:
        status = f"{outcome['status']}: {outcome['note']}"
    print(f"[{done}/{total}] {describe(spec)}: {status} ({seconds:.1f} s)", file=sys.stderr, flush=True)


def aggregate(measurements):
    """One result per configuration: the median of all its timed calls over all rounds."""
    by_config = {}
    for m in measurements:
        by_config.setdefault(describe(m), []).append(m)
    results = []
    for runs in by_config.values():
        first = runs[0]
        result = {k: first[k] for k in ("impl", "model", "family", "variant", "mode")}
        result["size"] = "x".join(map(str, first["size"]))
        ok = [m for m in runs if m["status"] == "ok"]
        if not ok:
            result.update(status=first["status"], note=first.get("note", ""))
        else:
            result.update(
                status="ok",
                median_ms=statistics.median(t for m in ok for t in m["times_ms"]),
                round_medians_ms=[m["median_ms"] for m in ok],
                first_call_ms=statistics.median(m["first_call_ms"] for m in ok),
                rss_after_import_mb=statistics.median(m["rss_after_import_mb"] for m in ok),
                rss_before_timing_mb=statistics.median(m["rss_before_timing_mb"] for m in ok),
                peak_rss_mb=max(m["peak_rss_mb"] for m in ok),
                peak_delta_mb=max(m["peak_delta_mb"] for m in ok),
            )
        results.append(result)
    return report.add_ratios(results)


def _version(package):
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            return next(line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor()


def machine_info():
    """Versions are read from package metadata: the driver itself imports no framework."""
    threads = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
               "TF_NUM_INTEROP_THREADS", "TF_ENABLE_ONEDNN_OPTS", "XLA_FLAGS")
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": {p: _version(p) for p in ("tensorflow", "keras", "tf_keras", "torch", "numpy")},
        "load_average_at_start": os.getloadavg(),
        "environment": {k: os.environ[k] for k in threads if k in os.environ},
    }


def default_out():
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return HERE / "results" / f"{stamp}.json"


def main(argv=None):
    args = parse_args(argv)
    started, started_at = time.perf_counter(), datetime.datetime.now().astimezone()
    machine = machine_info()
    measurements = run_rounds(plan(args), args.rounds, args.timeout)
    results = aggregate(measurements)
    targets = report.check_targets(results)
    elapsed = time.perf_counter() - started

    print(report.tables(results))
    print("\n" + report.targets_text(targets))
    print(f"\n{len(measurements)} measurements in {elapsed / 60:.1f} min")

    out = args.out or default_out()
    out.parent.mkdir(parents=True, exist_ok=True)
    settings = {k: v for k, v in vars(args).items() if k != "out"}
    document = {
        "started": started_at.isoformat(timespec="seconds"),
        "elapsed_s": elapsed,
        "argv": sys.argv[1:] if argv is None else list(argv),
        "settings": settings,
        "machine": machine,
        "results": results,
        "targets": targets,
        "measurements": measurements,
    }
    out.write_text(json.dumps(document, indent=1))
    print(f"saved {out}")
    return 0 if all(m["status"] != "error" for m in measurements) else 1


if __name__ == "__main__":
    sys.exit(main())
