#!/usr/bin/env bash
# One prepared GPU run: build fusednn with its CUDA module, run the GPU tests, the GPU tests
# under compute-sanitizer (memcheck, racecheck), the GPU benchmarks, a GPU training run and a
# profile of the slow cases (tools/gpu_profile.py), and write one markdown report plus the raw
# logs into OUTDIR.
#
#   tools/gpu-check.sh OUTDIR [--wheels DIR] [--python PY] [--arch LIST] [--budget SECONDS]
#                             [--dry-run]
#
# Made for a GPU machine that has CUDA (nvcc, cuBLAS), torch, CuPy, pybind11 and
# scikit-build-core but no package index: what fusednn needs beyond those (scipy-openblas32)
# is installed from the wheels in DIR (`pip download scipy-openblas32` on a machine with an
# index, into a folder that travels with the checkout). fusednn is built with
# --no-build-isolation against the interpreter PY (default python3) and installed into it.
#
# Every phase runs under its own time budget, cut to what is left of the total (--budget,
# default 470 s: under 8 minutes with the report), so a slow phase cannot starve the rest; a
# phase out of time is reported as such and the run goes on. Without a GPU (or with
# --dry-run) the GPU phases are listed as skipped and the CPU-side ones still run: the
# environment, the CUDA build, and the GPU tests' collection.
#
# OUTDIR receives two files, so that the whole result comes back from a remote machine in
# one piece: gpu-check.md (the report) and gpu-check.log (every phase's log, in order). Both
# are rewritten after every phase.
set -uo pipefail

usage() { sed -n '6,8p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

out="" wheels="" python="${PYTHON:-python3}" arch="90" total=470 dry=0
while [ $# -gt 0 ]; do
  case "$1" in
    --wheels) wheels="${2:?--wheels needs a folder}"; shift 2 ;;
    --python) python="${2:?--python needs an interpreter}"; shift 2 ;;
    --arch) arch="${2:?--arch needs a list such as 90 or 80;90}"; shift 2 ;;
    --budget) total="${2:?--budget needs seconds}"; shift 2 ;;
    --dry-run) dry=1; shift ;;
    -h|--help) usage ;;
    -*) echo "gpu-check: unknown option $1" >&2; usage ;;
    *) [ -z "$out" ] || usage; out="$1"; shift ;;
  esac
done
[ -n "$out" ] || usage
cd "$(dirname "$0")/.."
mkdir -p "$out" || exit 2
out="$(cd "$out" && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/gpu-check.XXXXXX")"
report="$out/gpu-check.md" log="$out/gpu-check.log"
start=$(date +%s)
export PYTHONUNBUFFERED=1 CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}"

phases=()   # "name|status|seconds|budget" rows for the table
sections="$work/sections.md"
: > "$sections"
: > "$log"

left() { echo $(( total - ($(date +%s) - start) )); }

write_report() {
  {
    echo "# fusednn GPU check"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo ' (with local changes)'), $(( $(date +%s) - start )) s of a $total s budget."
    echo
    echo "| phase | status | seconds | budget |"
    echo "|---|---|---|---|"
    for row in "${phases[@]}"; do
      IFS='|' read -r name status secs budget <<< "$row"
      echo "| $name | $status | $secs | $budget |"
    done
    echo
    cat "$sections"
  } > "$report"
}

# run_phase NAME BUDGET COMMAND...: the command's output goes to the log; its status to the
# table ("passed", "FAILED (exit N)", "OUT OF TIME", "skipped: why").
run_phase() {
  local name="$1" budget="$2"; shift 2
  local remaining; remaining=$(left)
  [ "$budget" -gt "$remaining" ] && budget=$remaining
  if [ "$budget" -lt 5 ]; then
    phases+=("$name|skipped: total budget spent|0|0"); write_report; return 1
  fi
  local plog="$work/$name.log" t0 rc status
  t0=$(date +%s)
  echo "\$ $*" > "$plog"
  # A shell function of this script runs in a child bash (timeout runs programs only); the
  # functions and settings it reads are exported below.
  if declare -F "$1" > /dev/null; then set -- bash -c "$*"; fi
  timeout --signal=TERM --kill-after=10 "$budget" "$@" >> "$plog" 2>&1
  rc=$?
  case $rc in
    0) status="passed" ;;
    124|137) status="OUT OF TIME" ;;
    *) status="FAILED (exit $rc)" ;;
  esac
  { echo "===== $name: $status after $(( $(date +%s) - t0 )) s (budget $budget s)"; cat "$plog"; echo; } >> "$log"
  phases+=("$name|$status|$(( $(date +%s) - t0 ))|$budget")
  write_report
  return $rc
}

skip_phase() {  # NAME WHY
  phases+=("$1|skipped: $2|0|0")
  write_report
}

# section TITLE FILE [LINES]: the tail of FILE (all of it without LINES) under a heading.
section() {
  [ -s "$2" ] || return 0
  { echo "## $1"; echo; echo '```'; if [ -n "${3:-}" ]; then tail -n "$3" "$2"; else cat "$2"; fi
    echo '```'; echo; } >> "$sections"
  write_report
}
table_section() {  # TITLE FILE: a markdown table written by a benchmark's --out
  [ -s "$2" ] || return 0
  { echo "## $1"; echo; cat "$2"; echo; echo; } >> "$sections"
  write_report
}

# ---- environment ----------------------------------------------------------------------------
env_info() {
  echo "host: $(uname -srm), $(nproc) cores"
  command -v nvidia-smi > /dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem --format=csv,noheader
  command -v nvcc > /dev/null && nvcc --version | tail -n 2
  command -v compute-sanitizer > /dev/null && compute-sanitizer --version | head -n 2
  "$python" - <<'EOF'
import importlib, platform
print("python", platform.python_version())
for name in ("numpy", "torch", "cupy", "pybind11", "scikit_build_core", "scipy_openblas32"):
    try:
        m = importlib.import_module(name)
        extra = ""
        if name == "torch":
            extra = f", cuda {m.version.cuda}, gpu available {m.cuda.is_available()}"
            if m.cuda.is_available():
                extra += f" ({m.cuda.get_device_name(0)}, {m.cuda.device_count()} device(s))"
        print(name, getattr(m, "__version__", "?") + extra)
    except Exception as e:  # report, do not stop: the build phase says what is missing
        print(name, "missing:", type(e).__name__, e)
EOF
}
export python wheels arch
export -f env_info
run_phase environment 30 env_info
section "Environment" "$work/environment.log"

have_gpu=0
if [ $dry -eq 0 ] && command -v nvidia-smi > /dev/null && nvidia-smi -L > /dev/null 2>&1 &&
   "$python" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2> /dev/null; then
  have_gpu=1
fi
why_no_gpu=$([ $dry -eq 1 ] && echo "dry run" || echo "no GPU here")

# ---- build ----------------------------------------------------------------------------------
build() {
  if [ -n "$wheels" ]; then
    "$python" -m pip install -q --no-index --no-deps --find-links "$wheels" "$wheels"/*.whl || return
  fi
  FUSEDNN_CUDA=ON FUSEDNN_CUDA_ARCHITECTURES="$arch" "$python" -m pip install -v \
    --no-build-isolation --no-deps --no-index --force-reinstall \
    --config-settings=build-dir=build/gpu-check . || return
  "$python" -m fusednn info
}
export -f build
if ! run_phase build 200 build; then
  section "Build (failed: the last lines)" "$work/build.log" 60
  echo "gpu-check: the build failed; see $report" >&2
  exit 1
fi
section "fusednn info" "$work/build.log" 24

# ---- tests ----------------------------------------------------------------------------------
pytest_q=("$python" -m pytest -q -rs -p no:cacheprovider)
if [ $have_gpu -eq 1 ]; then
  # Failures with short tracebacks and a summary; in parallel workers (pytest-xdist) and with a
  # per-test limit (pytest-timeout) where those plugins are installed, so that a slow or hung
  # test is named rather than eating the phase.
  extra=(-rfEs --tb=short --durations 8)
  "$python" -c "import xdist" 2> /dev/null && extra+=(-n 4)
  "$python" -c "import pytest_timeout" 2> /dev/null && extra+=(--timeout 90)
  run_phase gpu-tests 110 "${pytest_q[@]}" "${extra[@]}" tests/gpu tests/optim/test_devices.py
else
  # collected, each skipping with its reason: proves they import and parametrize (pytest's
  # exit 5, nothing collected, is what a machine without torch and CuPy gives)
  collect_gpu_tests() {
    "$python" -m pytest -q -rs -p no:cacheprovider tests/gpu
    local rc=$?
    [ $rc -eq 5 ] && { echo "(nothing collected: torch and CuPy are missing here)"; return 0; }
    return $rc
  }
  export -f collect_gpu_tests
  run_phase gpu-tests-collected 60 collect_gpu_tests
fi
section "GPU tests (summary)" "$work/$([ $have_gpu -eq 1 ] && echo gpu-tests || echo gpu-tests-collected).log" 70

# A short subset under the sanitizers: each kernel family once, small shapes.
subset=(tests/gpu/test_nn_gpu.py::test_linear tests/gpu/test_nn_gpu.py::test_conv2d
        tests/gpu/test_nn_gpu.py::test_pooling tests/gpu/test_dropout_gpu.py::test_gpu_backward_regenerates_the_cpu_mask
        tests/gpu/test_optim_gpu.py::test_functional_on_cupy_follows_the_cpu_kernels
        tests/gpu/test_optim_gpu.py::test_nonfinite_skip_is_decided_on_the_device
        tests/gpu/test_optim_gpu.py::test_vector_and_element_paths_agree_bit_for_bit
        tests/gpu/test_rnn_gpu.py::test_gpu_recurrent_dropout_matches_cpu
        tests/gpu/test_rnn_gpu.py::test_recurrent_scratch_comes_from_cupys_pool
        tests/gpu/test_layers_gpu_edges.py::test_conv_workspace_is_checked_before_anything_launches)
small='not 1024 and not 784 and not 256'
for tool in memcheck racecheck; do
  if [ $have_gpu -eq 0 ]; then
    skip_phase "sanitizer-$tool" "$why_no_gpu"
  elif ! command -v compute-sanitizer > /dev/null; then
    skip_phase "sanitizer-$tool" "compute-sanitizer not on PATH"
  else
    budget=$([ $tool = memcheck ] && echo 75 || echo 45)
    run_phase "sanitizer-$tool" "$budget" compute-sanitizer --tool "$tool" --error-exitcode 99 \
      --print-limit 20 "${pytest_q[@]}" -x -k "$small" "${subset[@]}"
    section "compute-sanitizer $tool (last lines)" "$work/sanitizer-$tool.log" 25
  fi
done

# ---- benchmarks -----------------------------------------------------------------------------
bench() {  # NAME BUDGET ARGS...: fusednn bench ARGS --out <table>
  local name="$1" budget="$2"; shift 2
  if [ $have_gpu -eq 0 ]; then skip_phase "bench-$name" "$why_no_gpu"; return; fi
  run_phase "bench-$name" "$budget" "$python" -m fusednn bench "$@" --out "$work/bench-$name.md"
  table_section "fusednn bench $*" "$work/bench-$name.md"
}
bench optim 100 optim --device cuda --repeats 7
bench nn 45 nn --device cuda
bench rnn 40 rnn --device cuda --repeats 7
bench dropout 30 dropout --device cuda --repeats 7
if [ $have_gpu -eq 1 ]; then
  run_phase train-gpu 40 "$python" -m fusednn train --model cnn --device cuda --epochs 2 \
    --out "$work/train-run"
  section "fusednn train --model cnn --device cuda (last lines)" "$work/train-gpu.log" 15
else
  skip_phase train-gpu "$why_no_gpu"
fi

# Where the GPU time goes in the cases the benchmarks find slow (kernel tables).
if [ $have_gpu -eq 1 ]; then
  run_phase profile 40 "$python" tools/gpu_profile.py
  section "tools/gpu_profile.py (fusednn's side: host time, device time, kernels)" \
    "$work/profile.log"
else
  skip_phase profile "$why_no_gpu"
fi

write_report
failed=$(printf '%s\n' "${phases[@]}" | grep -c '|FAILED\||OUT OF TIME')
echo "gpu-check: $report ($failed phase(s) failed or ran out of time)"
rm -rf "$work"
[ "$failed" -eq 0 ]
