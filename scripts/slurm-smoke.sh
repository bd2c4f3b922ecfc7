#!/usr/bin/env bash
# A real Slurm on this machine: a single-node cluster on localhost (munged, slurmctld, slurmd from the
# Debian packages munge, slurmctld, slurmd, slurm-client), all state in a temporary folder, stopped on
# exit. Submits a 2-task array sweep of stories260K with `quantscope-cli slurm submit`, polls
# `slurm status` until both shard files are complete, merges them, runs the same sweep unsharded and
# checks that every entry is equal; then the same for a 2-task batch of quantize + evaluate runs.
# Prints PASS or FAIL. Needs root (slurmd runs jobs as the
# submitting user; SlurmUser=root) and builds nothing: give the quantscope-cli to use.
#   scripts/slurm-smoke.sh [path/to/quantscope-cli]     (default build/app/quantscope-cli)
# Also `ninja -C build slurm_smoke`. Not part of ctest or scripts/test.sh.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cli="$(realpath "${1:-$root/build/app/quantscope-cli}")"
data="$(realpath -m "${QUANTSCOPE_DATA:-$root/../shared/data}")"
model="$data/stories260K"
eval_text="$data/wikitext-2-raw/wiki.test.raw"
calib_text="$data/kjv/train.txt"
for f in "$cli" "$model" "$eval_text" "$calib_text"; do
    [[ -e "$f" ]] || { echo "slurm-smoke: $f is missing" >&2; exit 2; }
done
for tool in munged slurmctld slurmd sbatch squeue; do
    command -v "$tool" >/dev/null || { echo "slurm-smoke: $tool is not installed (apt install munge slurmctld slurmd slurm-client)" >&2; exit 2; }
done
[[ $(id -u) == 0 ]] || { echo "slurm-smoke: run as root (the test cluster runs with SlurmUser=root)" >&2; exit 2; }

tmp="$(mktemp -d /tmp/qs-slurm-smoke.XXXXXX)"
# The results database of this run (merge records what it merges): not the user's.
export QUANTSCOPE_RUNS="$tmp/runs"
host="$(hostname -s)"
pids=()
stop() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    done
    [[ "${KEEP_SLURM_SMOKE:-0}" == 1 ]] || rm -rf "$tmp"
}
trap stop EXIT

# munge: our own key and socket, so a munged already running here is left alone.
mkdir -p "$tmp/munge" "$tmp/state" "$tmp/spool"
chmod 700 "$tmp/munge"
dd if=/dev/urandom of="$tmp/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$tmp/munge/munge.key"
munged --force --key-file="$tmp/munge/munge.key" --socket="$tmp/munge/munge.sock" \
    --pid-file="$tmp/munge/munged.pid" --log-file="$tmp/munge/munged.log" --seed-file="$tmp/munge/seed"
for _ in $(seq 50); do [[ -s "$tmp/munge/munged.pid" ]] && break; sleep 0.1; done
pids+=("$(cat "$tmp/munge/munged.pid")")

# One node, two CPUs; no cgroups (proctrack/linuxproc, task/none), no accounting database.
cpus=2
export SLURM_CONF="$tmp/slurm.conf"
cat > "$SLURM_CONF" <<CONF
ClusterName=qssmoke
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
SlurmctldPort=${SLURM_SMOKE_PORT:-16817}
SlurmdPort=$(( ${SLURM_SMOKE_PORT:-16817} + 1 ))
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$tmp/munge/munge.sock
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/slurmctld.log
SlurmdLogFile=$tmp/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
NodeName=$host CPUs=$cpus RealMemory=2048 State=UNKNOWN
PartitionName=smoke Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
slurmctld -i -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"
for _ in $(seq 100); do [[ -s "$tmp/slurmctld.pid" && -s "$tmp/slurmd.pid" ]] && break; sleep 0.1; done
pids+=("$(cat "$tmp/slurmd.pid")" "$(cat "$tmp/slurmctld.pid")")
for _ in $(seq 100); do
    sinfo -h -o '%T' 2>/dev/null | grep -qE '^(idle|mixed)' && break
    sleep 0.2
done
echo "== cluster"
sinfo

sweep=(sensitivity "$model" --schemes rtn-w3-ch,rtn-w4-g32
    --layers 'layers\.[0-4]\.(self_attn\.o_proj|mlp\.down_proj)$' --eval "$eval_text" --ctx 64 --chunks 4
    --calib "$calib_text" --samples 24 --seq-len 32)
work="$tmp/work"
echo "== submit"
"$cli" slurm submit --shards 2 --cpus 1 --mem 500M --time 00:10:00 --partition smoke --workdir "$work" \
    -- "${sweep[@]}"
echo "== sbatch script"
cat "$work/sweep.sbatch"
wait_for_array() { # WORKDIR: polls slurm status until every shard file is complete
    local status=3 shown="" now
    echo "== status of $1 (polled until every shard file is complete)"
    for _ in $(seq 600); do
        set +e
        "$cli" slurm status "$1" > "$tmp/status.txt" 2>&1
        status=$?
        set -e
        now="$(grep -v '^job ' "$tmp/status.txt")"
        [[ "$now" == "$shown" ]] || { date -u +%T; cat "$tmp/status.txt"; shown="$now"; }
        [[ $status == 3 ]] || break
        sleep 0.5
    done
    if [[ $status != 0 ]]; then
        echo "== logs"; tail -n 20 "$1"/logs/*.log "$tmp/slurmd.log" "$tmp/slurmctld.log" || true
        echo "FAIL: the array did not finish (slurm status exit $status)"; exit 1
    fi
}
wait_for_array "$work"
echo "== merge, and compare with the unsharded sweep"
"$cli" "${sweep[@]}" --threads 1 --out "$tmp/whole.json" > "$tmp/whole.txt" 2>&1
if "$cli" slurm merge "$work" --compare "$tmp/whole.json"; then
    echo "sweep: 2 Slurm array shards merged equal the unsharded sweep entry for entry"
else
    echo "FAIL: the merged sweep differs from the unsharded one"; exit 1
fi

# A batch of quantize + evaluate runs as a 2-task array, against the same batch run unsharded.
cat > "$tmp/batch.json" <<BATCH
{ "format": "quantscope-batch", "version": 1, "model": "$model",
  "eval": { "text": "$eval_text", "ctx": 64, "chunks": 4 },
  "runs": [ { "name": "rtn4", "scheme": "rtn-w4-g32" }, { "name": "rtn8", "scheme": "rtn-w8-ch" },
            { "name": "rtn3", "scheme": "rtn-w3-ch" } ] }
BATCH
echo "== submit a batch"
"$cli" slurm submit --shards 2 --cpus 1 --mem 500M --time 00:10:00 --workdir "$tmp/batchwork" -- batch "$tmp/batch.json"
wait_for_array "$tmp/batchwork"
echo "== merge the batch, and compare with the unsharded batch"
"$cli" slurm merge "$tmp/batchwork" | tee "$tmp/sharded.txt"
"$cli" batch "$tmp/batch.json" --out "$tmp/whole" > /dev/null 2>&1
"$cli" merge "$tmp/whole/batch-shard-0-of-1.json" --out "$tmp/whole.json" > "$tmp/unsharded.txt"
if diff <(awk '/ ppl /{print $1, $2, $7}' "$tmp/sharded.txt") <(awk '/ ppl /{print $1, $2, $7}' "$tmp/unsharded.txt") &&
    [[ $(grep -c ' ppl ' "$tmp/sharded.txt") == 3 ]]; then
    echo "batch: 3 runs from 2 Slurm array shards equal the unsharded batch (bpw, ppl)"
else
    echo "FAIL: the sharded batch differs from the unsharded one"; exit 1
fi
echo "PASS"
