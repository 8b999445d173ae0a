"""Running the two sides' processes: their environment, their JSON output, progress lines."""
import json
import os
import shlex
import subprocess
import sys


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def run_json(cmd, env):
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"command failed ({proc.returncode}): {shlex.join(cmd)}\n{proc.stderr.strip()}")
    lines = [l for l in proc.stdout.splitlines() if l.startswith("{")]
    if not lines:
        raise RuntimeError(f"no JSON output from: {shlex.join(cmd)}\n{proc.stdout}\n{proc.stderr}")
    return json.loads(lines[-1])


def base_env(threads):
    env = dict(os.environ)
    for k in ("LD_PRELOAD", "MALLOC_CONF"):
        env.pop(k, None)
    env["OMP_NUM_THREADS"] = str(threads)
    return env


def run_text(cmd, env):
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"command failed ({proc.returncode}): {shlex.join(cmd)}\n{proc.stderr.strip()}")
    return proc.stdout
