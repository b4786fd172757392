#!/usr/bin/env bash
# The portable GPU check (docs/gpu.md). One script, two places:
#
#   On a build machine (has the .NET SDK), from the repository root:
#     build/gpu-check.sh [--out DIR] [--no-cpu-run]
#   publishes the tests and the bench without libtorch, adds the .NET runtime from this SDK, packs
#   DIR/gpu-check.tar.gz (checked < 60 MB), then runs the folder's CPU part here against the NuGet libtorch.
#
#   On the CUDA machine (no SDK, no network needed), inside the unpacked folder:
#     ./run.sh --libtorch /path/to/site-packages/torch/lib [--device cuda] [--no-bench] [--ckpt DIR]
#   runs the parity tests and the engine tests on that device, then the GPU bench (full-size huginn-0125 shape,
#   bf16), prints one summary line and writes results/*.json.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# ---------------------------------------------------------------------------------------------------------------
# Device part: runs inside the published folder (it has dotnet/ and tests/ beside this script).
# ---------------------------------------------------------------------------------------------------------------
device_part() {
  local libtorch="${RDSK_LIBTORCH_DIR:-}" device="cuda" bench=1 ckpt=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --libtorch) libtorch="$2"; shift 2 ;;
      --device) device="$2"; shift 2 ;;
      --no-bench) bench=0; shift ;;
      --ckpt) ckpt="$2"; shift 2 ;;
      *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
  done
  if [ -z "$libtorch" ]; then
    echo "Give the libtorch folder: --libtorch .../site-packages/torch/lib (or set RDSK_LIBTORCH_DIR)." >&2
    exit 2
  fi

  export RDSK_LIBTORCH_DIR="$libtorch"
  export DOTNET_ROOT="$here/dotnet" DOTNET_MULTILEVEL_LOOKUP=0 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
  export DOTNET_GCgen0size=0x20000000   # as tests/*/test.runsettings (TorchSharp 0.107 Scalar-finalizer hazard)
  export RDSK_TEST_DEVICE="$device"
  local dotnet="$here/dotnet/dotnet" results="$here/results"
  mkdir -p "$results"
  rm -f "$results"/*.json

  "$dotnet" "$here/tests/RecurrentDepth.Core.Tests.dll" --libtorch-probe | tee "$results/probe.txt"

  local parity_rc=0 engine_rc=0 bench_rc=0
  "$dotnet" "$here/tests/RecurrentDepth.Core.Tests.dll" --run --class RecurrentDepth.Tests.Parity --json "$results/parity.json" || parity_rc=$?
  "$dotnet" "$here/tests/RecurrentDepth.Core.Tests.dll" --run --class RecurrentDepth.Tests.Engine --json "$results/engine.json" || engine_rc=$?

  local bench_note="bench skipped"
  if [ "$bench" = 1 ]; then
    if [ "$device" = "cpu" ]; then
      # The full-size bench on a CPU is its own measurement (docs/performance.md); here: the bench runs at all.
      "$dotnet" "$here/bench/RecurrentDepth.Benchmarks.dll" forward --smoke > "$results/bench.txt" 2>&1 || bench_rc=$?
      bench_note="bench forward --smoke rc=$bench_rc"
    else
      # huginn-0125 shape in bf16 shards (~7 GB of disk), decode at r = 4, 8, 32 on one GPU.
      ckpt="${ckpt:-$here/huginn-shaped-bf16}"
      "$dotnet" "$here/bench/RecurrentDepth.Benchmarks.dll" fullsize run --dir "$ckpt" --device "$device" \
        --dtypes bfloat16 --shard-dtype bfloat16 --steps 4,8,32 --batch 1,8,64 --prefill 1024 --repeats 3 \
        | tee "$results/bench.txt" || bench_rc=$?
      grep '^JSON ' "$results/bench.txt" | sed 's/^JSON //' > "$results/bench.json" || true
      command -v nvidia-smi > /dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$results/gpu.txt" || true
      bench_note="bench fullsize rc=$bench_rc"
    fi
  fi

  count() { grep -o "\"$2\": *[0-9]*" "$1" 2> /dev/null | head -1 | grep -o '[0-9]*$' || echo 0; }
  local pp pf ep ef status=ok
  pp=$(count "$results/parity.json" passed); pf=$(count "$results/parity.json" failed)
  ep=$(count "$results/engine.json" passed); ef=$(count "$results/engine.json" failed)
  if [ "$parity_rc" != 0 ] || [ "$engine_rc" != 0 ] || [ "$bench_rc" != 0 ]; then status=FAIL; fi
  cat > "$results/summary.json" <<EOF
{"status": "$status", "device": "$device", "libtorch": "$libtorch",
 "parity": {"passed": $pp, "failed": $pf, "rc": $parity_rc},
 "engine": {"passed": $ep, "failed": $ef, "rc": $engine_rc},
 "bench": {"rc": $bench_rc, "note": "$bench_note"}}
EOF
  echo "gpu-check: $status on $device: parity $pp passed/$pf failed, engine $ep passed/$ef failed, $bench_note; results in $results"
  [ "$status" = ok ]
}

if [ -x "$here/dotnet/dotnet" ] && [ -d "$here/tests" ]; then
  device_part "$@"
  exit $?
fi

# ---------------------------------------------------------------------------------------------------------------
# Build part: runs from the repository (needs the .NET SDK).
# ---------------------------------------------------------------------------------------------------------------
repo="$(cd "$here/.." && pwd)"
out="$repo/artifacts"
cpu_run=1
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$(mkdir -p "$2" && cd "$2" && pwd)"; shift 2 ;;
    --no-cpu-run) cpu_run=0; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

folder="$out/gpu-check"
rm -rf "$folder" "$out/gpu-check.tar.gz"
mkdir -p "$folder"

# Framework-dependent, and without the libtorch package (the CUDA machine brings its own libtorch).
# linux-x64 only (no Windows/macOS native assets); the test SDK's code-coverage collector is not needed by run.sh.
publish() {
  dotnet publish "$1" -c Release -o "$2" -r linux-x64 --self-contained false \
    -p:RecurrentDepthBundleLibTorch=false -p:DebugType=none --nologo -v quiet
  rm -rf "$2/CodeCoverage" "$2/InstrumentationEngine" "$2"/Microsoft.CodeCoverage.* "$2"/Microsoft.VisualStudio.TraceDataCollector.dll
}
publish "$repo/tests/RecurrentDepth.Core.Tests/RecurrentDepth.Core.Tests.csproj" "$folder/tests"
publish "$repo/bench/RecurrentDepth.Benchmarks/RecurrentDepth.Benchmarks.csproj" "$folder/bench"
if find "$folder" -name 'libtorch_cpu.so' | grep -q .; then
  echo "gpu-check: libtorch was published although RecurrentDepthBundleLibTorch=false" >&2
  exit 1
fi

# The .NET runtime this SDK runs on: the muxer, hostfxr and Microsoft.NETCore.App, nothing of the SDK.
dotnet_root="$(dirname "$(readlink -f "$(command -v dotnet)")")"
runtime_version="$(dotnet --list-runtimes | awk '$1 == "Microsoft.NETCore.App" { v = $2 } END { print v }')"
mkdir -p "$folder/dotnet/host/fxr" "$folder/dotnet/shared/Microsoft.NETCore.App"
cp "$dotnet_root/dotnet" "$folder/dotnet/"
cp -r "$dotnet_root/host/fxr/$runtime_version" "$folder/dotnet/host/fxr/"
cp -r "$dotnet_root/shared/Microsoft.NETCore.App/$runtime_version" "$folder/dotnet/shared/Microsoft.NETCore.App/"
cp "$dotnet_root/LICENSE.txt" "$dotnet_root/ThirdPartyNotices.txt" "$folder/dotnet/" 2> /dev/null || true
cp "$0" "$folder/run.sh"
chmod +x "$folder/run.sh"

tar -C "$out" -I "gzip -9" -cf "$out/gpu-check.tar.gz" gpu-check
folder_mb=$(( $(du -sk "$folder" | cut -f1) / 1024 ))
archive_mb=$(( $(stat -c %s "$out/gpu-check.tar.gz") / 1024 / 1024 ))
echo "gpu-check: folder $folder ($folder_mb MB unpacked), archive $out/gpu-check.tar.gz ($archive_mb MB); .NET $runtime_version"
if [ "$archive_mb" -ge 60 ]; then
  echo "gpu-check: the archive is $archive_mb MB, over the 60 MB limit" >&2
  exit 1
fi

if [ "$cpu_run" = 1 ]; then
  # The CPU part, here: the same folder and runner, pointed at the NuGet CPU libtorch as "the machine's libtorch".
  packages="$(dotnet nuget locals global-packages --list | sed 's/^global-packages: //')"
  cpu_libtorch="$packages/libtorch-cpu-linux-x64/2.10.0/runtimes/linux-x64/native"
  "$folder/run.sh" --device cpu --libtorch "$cpu_libtorch"
fi
