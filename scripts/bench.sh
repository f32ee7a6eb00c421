#!/usr/bin/env bash
# Runs every benchmark behind docs/benchmarks.md and keeps the raw output.
#   scripts/bench.sh            # writes docs/bench-raw.txt
# Needs Mosquitto (and python3-paho-mqtt for the Python comparison):
#   apt-get install mosquitto mosquitto-clients python3-paho-mqtt
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-docs/bench-raw.txt}
{
  echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(go version)"
  echo "# $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
  echo "# load before: $(cut -d' ' -f1-3 /proc/loadavg)"
  # Fan-out to real agent processes, plain and signed; each -count is one fleet.
  go test ./bench -run '^$' -bench 'Fanout' -benchtime 20x -count 3 -timeout 60m
  # Publish to power command started: agents against Python subscribers, same run.
  go test ./bench -run '^$' -bench 'ToPower' -benchtime 20x -count 3 -timeout 60m
  # One idle agent against the original design's Python subscriber, same run.
  BENCH_IDLE=2m go test ./bench -run '^$' -bench 'Footprint' -benchtime 3x -timeout 30m
  # stormguard: strike to SHUTDOWN under a busy feed; memory over an hour-equivalent.
  go test ./internal/guard/ -run '^$' -bench StrikeToShutdown -benchtime 500x -count 6
  go test ./internal/guard/ -run '^$' -bench HourOfStrikesMemory -benchtime 1x -count 3
  go test ./storm/ -run '^$' -bench Observe -benchtime 1000000x -count 3
  # servicemanager: presence False to all False messages at 10,000 resources.
  go test ./cmd/servicemanager/ -run '^$' -bench DepartureEndToEnd -benchtime 1000x -count 5
  go test ./presence/ -run '^$' -bench Departure -benchtime 3000x -count 5
} 2>&1 | tee "$out"
