#!/usr/bin/env bash
# Starts a one-node Slurm cluster for photoseal's tests and prints its SLURM_CONF path.
#
# Debian's `slurmctld`, `slurmd`, `slurm-client` and `munge` (scripts/install-deps.sh installs
# them), run as the current user (root in CI's container) with no systemd: everything they write
# (slurm.conf, the munge key and socket, controller state, the node's spool, logs, pid files) is in
# one temporary directory, and they listen on free loopback ports only. The node is this machine,
# named `localhost`, with 4 CPUs declared whatever the hardware (SlurmdParameters=config_overrides),
# so a 4-task job array runs its tasks at once. No cgroups (a container rarely delegates them):
# processes are tracked through /proc (proctrack/linuxproc), no task binding, no accounting
# daemon, so `sacct` has nothing; read job states with `squeue` and `scontrol show job`
# (finished jobs stay there for MinJobAge, 600 s here).
#
# Clients (sbatch, squeue, scancel, scontrol) find the cluster through SLURM_CONF: the munge
# socket's path is in the file (AuthInfo), so no /run/munge is needed.
#
# Usage:
#   scripts/slurm-test-server.sh start [options]       start munged, slurmctld and slurmd; SLURM_CONF on stdout
#   scripts/slurm-test-server.sh stop  --pid-file F    stop all three and any job left running, delete the directory
# Options:
#   --pid-file F      where `start` writes the pid of slurmctld (default /tmp/photoseal-slurm.pid);
#                     F.dir holds the cluster's directory, and the pids of the others are in it
#   --watch-pid PID   the cluster stops by itself once process PID has ended
#
# Example (CI):
#   export PHOTOSEAL_TEST_SLURM_CONF="$(scripts/slurm-test-server.sh start --pid-file /tmp/slurm.pid)"
#   SLURM_CONF="$PHOTOSEAL_TEST_SLURM_CONF" sbatch --wait --array=0-3 deploy/slurm/photoseal-array.sbatch
#   scripts/slurm-test-server.sh stop --pid-file /tmp/slurm.pid
set -euo pipefail

die() { echo "slurm-test-server: $*" >&2; exit 1; }
. "$(dirname "$0")/lib/test-server.sh"

command="${1:-}"
[ $# -gt 0 ] && shift
pid_file="/tmp/photoseal-slurm.pid"
watch_pid=""
while [ $# -gt 0 ]; do
    case "$1" in
        --pid-file) pid_file="${2:?--pid-file needs a value}"; shift 2 ;;
        --watch-pid) watch_pid="${2:?--watch-pid needs a value}"; shift 2 ;;
        *) die "unknown option $1 (see the comment at the top of this script)" ;;
    esac
done

# stop_cluster DIR: cancels every job (slurmd leaves running jobs alone when it stops), stops
# slurmd, slurmctld and munged (TERM, then KILL after 10 s), kills any step daemon or job process
# still left (those whose environment names this cluster's slurm.conf), then removes DIR.
stop_cluster() {
    local dir="$1" pid name pids=()
    if [ -f "$dir/slurm.conf" ]; then
        SLURM_CONF="$dir/slurm.conf" timeout 10 scancel --user="$(id -un)" >/dev/null 2>&1 || true
        for _ in $(seq 1 50); do
            [ -z "$(SLURM_CONF="$dir/slurm.conf" timeout 5 squeue -h -o %i 2>/dev/null)" ] && break
            sleep 0.1
        done
    fi
    for name in slurmd slurmctld munged; do
        pid="$(cat "$dir/run/$name.pid" 2>/dev/null || true)"
        if [ -n "$pid" ] && kill "$pid" 2>/dev/null; then pids+=("$pid"); fi
    done
    for pid in "${pids[@]}"; do
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    done
    local environ
    for environ in $(grep -lsxzF "SLURM_CONF=$dir/slurm.conf" /proc/[0-9]*/environ || true); do
        pid="${environ#/proc/}"
        pid="${pid%/environ}"
        { [ "$pid" = $$ ] || [ "$pid" = "$BASHPID" ]; } && continue
        if grep -qsz '^SLURM_JOB_ID=' "$environ" || grep -qsz '^slurmstepd' "/proc/$pid/cmdline"; then
            kill -9 "$pid" 2>/dev/null || true
        fi
    done
    case "$dir" in /tmp/photoseal-slurm-*) rm -rf "$dir" ;; esac
}

case "$command" in
    start)
        for program in slurmctld slurmd munged sbatch; do
            command -v "$program" >/dev/null || die "$program not found; run scripts/install-deps.sh (Debian slurmctld slurmd slurm-client munge)"
        done
        mkdir -p "$(dirname "$pid_file")"
        dir="$(mktemp -d /tmp/photoseal-slurm-XXXXXX)"
        # Whatever fails below, nothing started is left running.
        trap 'stop_cluster "$dir"; rm -f "$pid_file" "$pid_file.dir"' EXIT
        # munged refuses a socket whose directories are not searchable by all, and a key others can read.
        chmod 755 "$dir"
        mkdir -p "$dir/munge" "$dir/state" "$dir/spool" "$dir/log" "$dir/run"
        chmod 755 "$dir/munge"
        (umask 077; head -c 1024 /dev/urandom >"$dir/munge/munge.key")
        echo "$dir" >"$pid_file.dir"
        ctld_port="$(free_port)"
        slurmd_port="$(free_port)"
        [ "$slurmd_port" != "$ctld_port" ] || slurmd_port="$(free_port)"
        user="$(id -un)"
        cat >"$dir/slurm.conf" <<EOF
# A one-node test cluster made by scripts/slurm-test-server.sh.
ClusterName=photoseal-test
SlurmctldHost=$(hostname -s)(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=$user
SlurmdUser=$user
AuthType=auth/munge
CredType=cred/munge
# cred_expire is also how long a requeued job waits before it starts again (default 120 s).
AuthInfo=socket=$dir/munge/munge.socket.2,cred_expire=10
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/run/slurmctld.slurm.pid
SlurmdPidFile=$dir/run/slurmd.slurm.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
SchedulerType=sched/backfill
# A requeued task becomes eligible with no event to wake the scheduler: look every 2 s, not 60.
SchedulerParameters=sched_interval=2,bf_interval=2
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
MinJobAge=600
KillWait=5
SlurmctldDebug=info
SlurmdDebug=info
NodeName=localhost NodeAddr=127.0.0.1 CPUs=4 State=UNKNOWN
PartitionName=test Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
        export SLURM_CONF="$dir/slurm.conf"
        # Each daemon in the foreground of its own subshell, so $! is the daemon itself.
        (close_inherited_fds; exec munged --foreground --socket="$dir/munge/munge.socket.2" \
            --key-file="$dir/munge/munge.key" --pid-file="$dir/munge/munged.pid" \
            --log-file="$dir/log/munged.log" --seed-file="$dir/munge/munged.seed") \
            >"$dir/log/munged.out" 2>&1 </dev/null &
        echo $! >"$dir/run/munged.pid"
        await_server "$(cat "$dir/run/munged.pid")" "$dir/run/munged.pid" "$dir/log/munged.out" 30 \
            test -S "$dir/munge/munge.socket.2"
        (close_inherited_fds; cd "$dir"; exec slurmctld -D) >"$dir/log/slurmctld.out" 2>&1 </dev/null &
        echo $! >"$dir/run/slurmctld.pid"
        cp "$dir/run/slurmctld.pid" "$pid_file"
        await_server "$(cat "$pid_file")" "$dir/run/slurmctld.pid" "$dir/log/slurmctld.out" 60 port_open "$ctld_port"
        (close_inherited_fds; cd "$dir"; exec slurmd -D -N localhost) >"$dir/log/slurmd.out" 2>&1 </dev/null &
        echo $! >"$dir/run/slurmd.pid"
        # Ready when the controller sees the node idle (it has registered).
        node_idle() { sinfo -h -n localhost -o '%t' 2>/dev/null | grep -qx idle; }
        await_server "$(cat "$dir/run/slurmd.pid")" "$dir/run/slurmd.pid" "$dir/log/slurmd.out" 60 node_idle
        trap - EXIT
        if [ -n "$watch_pid" ]; then
            (close_inherited_fds
             while kill -0 "$watch_pid" 2>/dev/null && kill -0 "$(cat "$dir/run/slurmctld.pid")" 2>/dev/null; do
                 sleep 1
             done
             stop_cluster "$dir"
             rm -f "$pid_file" "$pid_file.dir") >/dev/null 2>&1 </dev/null &
        fi
        echo "$dir/slurm.conf"
        ;;
    stop)
        [ -f "$pid_file.dir" ] || die "no cluster recorded at $pid_file.dir; nothing to stop"
        stop_cluster "$(cat "$pid_file.dir")"
        rm -f "$pid_file" "$pid_file.dir"
        ;;
    *)
        die "unknown command ${command:-(none)}; use start or stop"
        ;;
esac
