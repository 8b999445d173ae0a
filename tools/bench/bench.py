"""graphrun against PyTorch on the same models, data, pairs, initial weights, batch sizes,
step counts and thread count: one command, the two sides run alternately, several
repetitions; prints medians, the time ratio graphrun / PyTorch and peak memory per
workload as a markdown table, and writes the raw numbers to
tools/bench/results/<date>-<host>.json.

  tools/bench/run.sh                          # everything, 3 repetitions, 2 threads
  tools/bench/run.sh --repeats 5 --threads 1
  tools/bench/run.sh --workloads r3,r3_infer --steps-scale 0.05 --repeats 1   # a smoke run

The graphrun side is build/tools/bench/graphrun_bench (cmake --build build --target
graphrun_bench); the PyTorch side is tools/bench/bench_torch.py under /usr/bin/python3,
once with jemalloc (LD_PRELOAD, decay off: the usual PyTorch CPU set-up, which the ratio
is taken against) and once out of the box. Measure on an otherwise idle machine: with 2
threads on 2 cores, any other busy process makes OpenMP threads wait for each other.
"""
import argparse
import datetime
import json
import os
import platform
import shlex
import shutil
import socket
import statistics
import sys
import tempfile

from report import print_report
from runner import base_env, log, run_json
from step_profile import STEP_GFLOP, profile_step

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
JEMALLOC = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"
JEMALLOC_CONF = "retain:true,dirty_decay_ms:-1,muzzy_decay_ms:-1"

# name: (reference workload in models.py, mode, graph, steps of an epoch, extra driver arguments, description)
WORKLOADS = {
    "r3": ("r3", "train", "graphs/r3_siamese_mlp.yaml", 469, [], "R3 MLP epoch"),
    "r4": ("r4", "train", "graphs/r4_conv_siamese.yaml", 3750, [], "R4 conv epoch"),
    "r1_classifier": ("r1_classifier", "train", "graphs/r1_digit_classifier.yaml", 469, ["--train-range", "0:60000"],
                      "R1 classifier epoch"),
    "r1_matcher": ("r1_matcher", "train", "graphs/r1_dense_matcher.yaml", 400, [], "R1 dense matcher epoch"),
    "r3_infer": ("r3", "infer", "graphs/r3_siamese_mlp.yaml", 0, [], "R3 inference, test pairs"),
    "r4_infer": ("r4", "infer", "graphs/r4_conv_siamese.yaml", 0, [], "R4 inference, test pairs"),
    # Koch et al. (R2) on the graph's own Omniglot pairs: 10 training steps of 32 pairs.
    "koch": ("koch", "train", "graphs/r2_koch_omniglot.yaml", 10, [], "Koch (R2) training steps"),
    # The same steps with graphrun in bf16 (train.precision: bf16), against PyTorch in f32.
    "koch_bf16": ("koch", "train", "graphs/r2_koch_omniglot.yaml", 10, ["--precision", "bf16"],
                  "Koch (R2) training steps, graphrun bf16 / PyTorch f32"),
}
# Workloads that read the data their graph names (not MNIST): no --data for them.
OWN_DATA = {"koch", "koch_bf16"}
SIDES = ("graphrun", "torch_jemalloc", "torch_plain")
CLASSIFIER_WEIGHTS = "runs/r1_digit_classifier/weights.safetensors"


def prepare(driver, name, graph, extra, data, work, env):
    """Runs graphrun_bench prepare once per workload graph; returns (graph path, prep folder)."""
    prep = os.path.join(work, name)
    os.makedirs(prep, exist_ok=True)
    if name.startswith("r1_matcher"):
        # The frozen tower's weights: the classifier's initial weights serve for timing.
        clf_graph, clf_prep = prepare(driver, "r1_classifier_for_matcher", os.path.join(ROOT, WORKLOADS["r1_classifier"][2]),
                                      [], data, work, env)
        with open(graph) as f:
            text = f.read()
        if CLASSIFIER_WEIGHTS not in text:
            raise RuntimeError(f"{graph}: expected the tower weights {CLASSIFIER_WEIGHTS}")
        graph = os.path.join(prep, os.path.basename(graph))
        with open(graph, "w") as f:
            f.write(text.replace(CLASSIFIER_WEIGHTS, os.path.join(clf_prep, "initial.safetensors")))
    run_json([driver, "prepare", graph, "--out", prep] + ([] if name in OWN_DATA else ["--data", data]) + extra, env)
    return graph, prep


def summarize(values):
    return statistics.median(values) if values else None


def cpu_model():
    """Model name and the widest vector ISA: oneDNN's kernels (and graphrun's own) differ
    between AVX-512 and AVX2 machines, so figures are comparable only within one."""
    model, flags = platform.processor(), set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                elif line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                if model and flags:
                    break
    except OSError:
        pass
    isa = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "SSE"
    return f"{model} ({isa})"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3, help="repetitions of every workload and side (default 3)")
    ap.add_argument("--threads", type=int, default=2, help="compute threads of both sides (default 2)")
    ap.add_argument("--workloads", default=",".join(WORKLOADS), help="comma-separated, from: " + ", ".join(WORKLOADS))
    ap.add_argument("--steps-scale", type=float, default=1.0,
                    help="fraction of each training epoch to run (a quick check: 0.05)")
    ap.add_argument("--infer-batch", type=int, default=0, help="inference batch size (default: the graph's batch size)")
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    ap.add_argument("--data", default=os.path.join(ROOT, "data", "mnist"))
    ap.add_argument("--python", default="/usr/bin/python3", help="interpreter with torch (Debian's python3-torch)")
    ap.add_argument("--no-plain", action="store_true", help="skip PyTorch without jemalloc")
    ap.add_argument("--results", default=os.path.join(HERE, "results"), help="folder for the JSON results")
    ap.add_argument("--keep", action="store_true", help="keep the working folder (weights, pairs)")
    ap.add_argument("--conv-repeats", type=int, default=3,
                    help="koch: timed repetitions of graphrun_conv_bench, the convolutions alone (0: skip)")
    args = ap.parse_args()

    names = [w.strip() for w in args.workloads.split(",") if w.strip()]
    for n in names:
        if n not in WORKLOADS:
            ap.error(f"unknown workload {n} (known: {', '.join(WORKLOADS)})")
    driver = os.path.join(args.build_dir, "tools", "bench", "graphrun_bench")
    if not os.access(driver, os.X_OK):
        ap.error(f"{driver} missing: cmake --build {args.build_dir} --target graphrun_bench")
    if any(n not in OWN_DATA for n in names) and \
            not os.path.exists(os.path.join(args.data, "train-images-idx3-ubyte")) and \
            not os.path.exists(os.path.join(args.data, "train-images-idx3-ubyte.gz")):
        ap.error(f"{args.data} has no MNIST: run tools/setup.sh")
    sides = [s for s in SIDES if not (args.no_plain and s == "torch_plain")]
    if not os.path.exists(JEMALLOC):
        log(f"warning: {JEMALLOC} missing (Debian package libjemalloc2): PyTorch runs without it")
        sides = [s for s in sides if s != "torch_jemalloc"]
    data = os.path.abspath(args.data)

    env = base_env(args.threads)
    env_jemalloc = dict(env, LD_PRELOAD=JEMALLOC, MALLOC_CONF=JEMALLOC_CONF)
    work = tempfile.mkdtemp(prefix="graphrun_bench_")
    started = datetime.datetime.now()
    load_before = os.getloadavg()
    runs, implementations, preps, breakdowns = [], {}, {}, {}
    try:
        for n in names:
            ref, mode, graph, epoch_steps, extra, _ = WORKLOADS[n]
            preps[n] = prepare(driver, n, os.path.join(ROOT, graph), extra, data, work, env)
        for rep in range(args.repeats):
            for n in names:
                ref, mode, _, epoch_steps, extra, _ = WORKLOADS[n]
                graph, prep = preps[n]
                common_g = ([] if n in OWN_DATA else ["--data", data]) + \
                    ["--threads", str(args.threads), "--weights", os.path.join(prep, "initial.safetensors")] + extra
                common_t = ["--workload", ref, "--mode", mode, "--prep", prep, "--data", data,
                            "--threads", str(args.threads)]
                if mode == "train":
                    steps = max(1, round(epoch_steps * args.steps_scale))
                    common_g += ["--steps", str(steps)]
                    common_t += ["--steps", str(steps)]
                elif args.infer_batch:
                    common_g += ["--batch", str(args.infer_batch)]
                    common_t += ["--batch", str(args.infer_batch)]
                # Alternate the sides, and reverse their order every other repetition so that
                # a slow drift of the machine does not favour one side.
                order = sides if rep % 2 == 0 else list(reversed(sides))
                for side in order:
                    if side == "graphrun":
                        r = run_json([driver, mode, graph] + common_g, env)
                        implementations.setdefault(n, r.get("primitives", []))
                        r.pop("primitives", None)
                    else:
                        e = env_jemalloc if side == "torch_jemalloc" else env
                        r = run_json([args.python, os.path.join(HERE, "bench_torch.py")] + common_t, e)
                    r.update({"workload": n, "side": side, "repeat": rep})
                    runs.append(r)
                    log(f"[{rep + 1}/{args.repeats}] {n:14s} {side:15s} {r['seconds']:9.3f} s"
                        + (f"  {r['pairs_per_second']:10.0f} pairs/s" if mode == "infer" else
                           f"  loss {r['mean_loss']:.4f}") + f"  peak {r['peak_rss_mb']:.0f} MB")
        # Where the time of one step goes: oneDNN's log of graphrun's steps, torch.profiler
        # for PyTorch (untimed runs of their own), and the convolutions alone.
        for n in names:
            if n in STEP_GFLOP:
                ref, _, _, epoch_steps, extra, _ = WORKLOADS[n]
                steps = max(1, round(epoch_steps * args.steps_scale))
                breakdowns[n] = profile_step(n, ref, preps[n], steps, extra, args, sides, data, env, env_jemalloc, driver)
    finally:
        if args.keep:
            log(f"working folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    summary = {}
    for n in names:
        ref, mode, _, _, _, desc = WORKLOADS[n]
        row = {"description": desc, "mode": mode}
        for side in sides:
            rs = [r for r in runs if r["workload"] == n and r["side"] == side]
            row[side] = {
                "seconds": summarize([r["seconds"] for r in rs]),
                "pairs_per_second": summarize([r["pairs_per_second"] for r in rs]) if mode == "infer" else None,
                "peak_rss_mb": max(r["peak_rss_mb"] for r in rs),
                "end_rss_mb": max(r.get("end_rss_mb", 0) for r in rs),
                "steps": rs[0]["steps"], "batch": rs[0]["batch"],
                "mean_loss": summarize([r["mean_loss"] for r in rs]) if mode == "train" else None,
                "mean_output": summarize([r["mean_output"] for r in rs]) if mode == "infer" else None,
            }
        if mode == "infer":  # same weights and pairs: the mean outputs must agree
            g, t = row["graphrun"]["mean_output"], row[sides[1]]["mean_output"]
            row["outputs_agree"] = abs(g - t) <= 1e-4 * max(abs(g), abs(t)) + 1e-6
            if not row["outputs_agree"]:
                log(f"warning: {n}: mean output graphrun {g} vs PyTorch {t}: the two models differ")
        peer = "torch_jemalloc" if "torch_jemalloc" in sides else "torch_plain"
        row["ratio_vs"] = peer
        row["time_ratio"] = row["graphrun"]["seconds"] / row[peer]["seconds"]
        if n in STEP_GFLOP:
            row["gflop_per_step"] = STEP_GFLOP[n]
            for side in sides:
                per_step = row[side]["seconds"] / row[side]["steps"]
                row[side]["seconds_per_step"] = per_step
                row[side]["gflops"] = STEP_GFLOP[n] / per_step
        summary[n] = row

    torch_run = next((r for r in runs if r["side"].startswith("torch")), {})
    jemalloc_run = next((r for r in runs if r["side"] == "torch_jemalloc"), {})
    host = socket.gethostname()
    command = "tools/bench/run.sh " + shlex.join(sys.argv[1:])
    result = {
        "date": started.isoformat(timespec="seconds"), "host": host, "cpu": cpu_model(), "cores": os.cpu_count(),
        "kernel": platform.release(), "command": command, "threads": args.threads, "repeats": args.repeats,
        "steps_scale": args.steps_scale, "load_average_before": load_before, "load_average_after": os.getloadavg(),
        "torch": torch_run.get("torch"), "torch_blas": torch_run.get("blas"),
        "torch_libraries": torch_run.get("libraries"), "torch_allocator_check": jemalloc_run.get("allocator"),
        "summary": summary, "implementations": implementations, "runs": runs, "step_breakdown": breakdowns,
    }
    os.makedirs(args.results, exist_ok=True)
    out = os.path.join(args.results, f"{started:%Y-%m-%d}-{host}.json")
    if os.path.exists(out):
        out = os.path.join(args.results, f"{started:%Y-%m-%d-%H%M%S}-{host}.json")
    with open(out, "w") as f:
        json.dump(result, f, indent=1)

    print_report(result, sides, out, ROOT)


if __name__ == "__main__":
    main()
