#!/usr/bin/env bash
# graphrun against PyTorch (tools/bench/bench.py): tools/bench/run.sh [--repeats N] [--threads N] ...
# PyTorch is Debian's python3-torch, installed for /usr/bin/python3.
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$0")/bench.py" "$@"
