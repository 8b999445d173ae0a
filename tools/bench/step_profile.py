"""Where the time of one training step goes, for workloads whose single step is the
subject (Koch's): its FLOPs, oneDNN's log of graphrun's steps, torch.profiler for
PyTorch, and oneDNN's convolutions alone (graphrun_conv_bench, the ceiling)."""
import json
import os
import re

from runner import log, run_json, run_text

HERE = os.path.dirname(os.path.abspath(__file__))


def koch_gflop_per_step(pairs=32):
    """Multiply-adds x 2 of one Koch training step: forward, data gradient (none for the
    first layer: its input needs none) and weight gradient of every convolution and dense
    layer, for both images of each pair (2 x pairs images)."""
    images = 2 * pairs
    convs = [(1, 64, 96, 10), (64, 128, 42, 7), (128, 128, 18, 4), (128, 256, 6, 4)]  # ic, oc, output size, kernel
    fwd = [2.0 * ic * oc * out * out * k * k for ic, oc, out, k in convs]
    dense = 2.0 * 9216 * 4096
    head = 2.0 * 4096 / 2  # per image: one Dense 1 per pair
    total = sum(3 * f for f in fwd) - fwd[0] + 3 * dense + 3 * head
    return total * images / 1e9


# Per-step figures for workloads whose single step is the subject (GFLOP/s, convolutions).
STEP_GFLOP = {"koch": koch_gflop_per_step(), "koch_bf16": koch_gflop_per_step()}
# Koch's convolutions by (input channels, output channels, kernel), as oneDNN's log names them.
KOCH_CONVS = {(1, 64, 10): "conv1", (64, 128, 7): "conv2", (128, 128, 4): "conv3", (128, 256, 4): "conv4"}


def parse_onednn_verbose(stdout, steps):
    """oneDNN's log of graphrun's timed steps (lines after the driver's marker) as
    milliseconds per step: per primitive kind, and per convolution layer and pass."""
    kinds, convs = {}, {}
    started = False
    for line in stdout.splitlines():
        if line.startswith("graphrun_bench: timed steps begin"):
            started = True
            continue
        if not started or not line.startswith(("onednn_verbose,exec,", "dnnl_verbose,exec,")):
            continue
        f = line.split(",")
        try:
            ms = float(f[-1])
        except ValueError:
            continue
        kind, impl, prop, desc = f[3], f[4], f[5], f[-2]
        kinds[kind] = kinds.get(kind, 0.0) + ms / steps
        if kind == "convolution":
            m = re.search(r"mb(\d+)_(?:g\d+)?ic(\d+)oc(\d+)_ih(\d+)oh(\d+)kh(\d+)", desc)
            if not m:
                continue
            mb, ic, oc, ih, oh, kh = map(int, m.groups())
            layer = KOCH_CONVS.get((ic, oc, kh), f"ic{ic}oc{oc}k{kh}")
            what = "forward" if prop.startswith("forward") else prop
            c = convs.setdefault(f"{layer} {what}", {"layer": layer, "pass": what, "impl": impl, "ms": 0.0,
                                                     "gflop": 2.0 * mb * oc * oh * oh * ic * kh * kh / 1e9})
            c["ms"] += ms / steps
    return {"ms_per_step_by_kind": kinds, "convolutions": convs}


def run_conv_ceiling(build_dir, threads, repeats, precision, env):
    """graphrun_conv_bench: oneDNN's convolutions alone on Koch's layers at batch 64, in the
    precision graphrun's side computes in."""
    exe = os.path.join(build_dir, "tools", "bench", "graphrun_conv_bench")
    if not os.access(exe, os.X_OK):
        log(f"note: {exe} missing: no convolution ceiling")
        return None
    return run_json([exe, "--batch", "64", "--threads", str(threads), "--repeats", str(repeats),
                     "--precision", precision], env)


def profile_step(name, ref, prep_of, steps, extra, args, sides, data, env, env_jemalloc, driver):
    """Untimed runs of their own: graphrun under ONEDNN_VERBOSE, PyTorch under its profiler."""
    graph, prep = prep_of
    cmd = [driver, "train", graph, "--threads", str(args.threads), "--weights",
           os.path.join(prep, "initial.safetensors"), "--steps", str(steps), "--onednn-verbose"] + extra
    out = run_text(cmd, env)
    r = json.loads([l for l in out.splitlines() if l.startswith("{")][-1])
    breakdown = {"graphrun": dict(parse_onednn_verbose(out, steps), step_seconds=r["seconds"] / steps)}
    log(f"[profile] {name:14s} graphrun        {r['seconds'] / steps:9.3f} s/step with ONEDNN_VERBOSE")
    peer_env = env_jemalloc if "torch_jemalloc" in sides else env
    t = run_json([args.python, os.path.join(HERE, "bench_torch.py"), "--workload", ref, "--mode", "train",
                  "--prep", prep, "--data", data, "--threads", str(args.threads), "--steps", str(steps),
                  "--profile"], peer_env)
    breakdown["torch"] = dict(t["profile"], step_seconds=t["seconds"] / steps)
    log(f"[profile] {name:14s} torch           {t['seconds'] / steps:9.3f} s/step with torch.profiler")
    if ref == "koch" and args.conv_repeats > 0:
        precision = extra[extra.index("--precision") + 1] if "--precision" in extra else "f32"
        ceiling = run_conv_ceiling(args.build_dir, args.threads, args.conv_repeats, precision, env)
        if ceiling:
            breakdown["conv_ceiling"] = ceiling
            log(f"[profile] {name:14s} conv ceiling    {ceiling['total_ms'] / 1000:9.3f} s of convolutions")
    return breakdown
