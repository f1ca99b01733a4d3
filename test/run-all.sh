#!/usr/bin/env bash
# `npm test` after the build: two node --test processes side by side.
# - the lab's: the e2e suites and the integration tests that use the machine-wide lab or its Docker
#   engine, one file at a time (one lab at a time per machine);
# - the rest: unit tests, the loopback sshd integration tests and the Ansible oracle, one file at a time.
# The rest's TAP output is kept in a file and printed after the lab's, so the two never interleave.
# Exits non-zero when either fails. --test-force-exit: a handle a test left open (a request loop of a
# failed scenario, say) must not keep a finished test file, and so CI, waiting forever; the preload
# keeps that exit from dropping a file's last results (test/helpers/blocking-test-report.ts).
set -uo pipefail
cd "$(dirname "$0")/.."
runner=(node --import ./dist/test/helpers/blocking-test-report.js --test --test-force-exit --test-concurrency=1)
lab=(dist/test/e2e dist/test/integration/lab-nodes.test.js dist/test/integration/lab-artifacts.test.js dist/test/integration/facts-local.test.js)
rest=(dist/test/unit)
for file in dist/test/integration/*.test.js; do
  case " ${lab[*]} " in *" $file "*) ;; *) rest+=("$file") ;; esac
done
log="$(mktemp "${TMPDIR:-/tmp}/bootstrap-tests.XXXXXX")"
trap 'rm -f "$log"' EXIT
# The lab's suites are the longer chain, so the rest yields the CPU to them. nice alone does not:
# the lab's nodes run in the cgroup Docker gives them, which the scheduler weighs as one task
# against each of the rest's (ansible-playbook forks, loopback sshd hosts); with the rest beside
# it, a first bootstrap of the 3-node lab took 107 s instead of 36. So the rest runs in a CPU
# cgroup of its own with a small share, where the machine lets us make one (cgroup v1 or v2).
rest_cgroup=""
if [ -w /sys/fs/cgroup/cpu/cgroup.procs ] && mkdir -p /sys/fs/cgroup/cpu/bootstrap-tests-rest 2>/dev/null; then
  rest_cgroup=/sys/fs/cgroup/cpu/bootstrap-tests-rest
  echo 128 >"$rest_cgroup/cpu.shares"
elif grep -qw cpu /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null && mkdir -p /sys/fs/cgroup/bootstrap-tests-rest 2>/dev/null; then
  rest_cgroup=/sys/fs/cgroup/bootstrap-tests-rest
  echo 12 >"$rest_cgroup/cpu.weight"
else
  echo "# no CPU cgroup can be made here: the unit, loopback and oracle tests run beside the lab's only niced"
fi
(
  [ -z "$rest_cgroup" ] || echo "$BASHPID" >"$rest_cgroup/cgroup.procs"
  exec nice -n 10 "${runner[@]}" "${rest[@]}"
) >"$log" 2>&1 &
rest_pid=$!
trap 'kill "$rest_pid" 2>/dev/null; rm -f "$log"; [ -z "$rest_cgroup" ] || rmdir "$rest_cgroup" 2>/dev/null' EXIT
"${runner[@]}" "${lab[@]}"
lab_rc=$?
wait "$rest_pid"
rest_rc=$?
echo "# --- unit, loopback integration and oracle tests (ran beside the lab's) ---"
cat "$log"
echo "# lab tests: exit $lab_rc; the rest: exit $rest_rc"
[ "$lab_rc" -eq 0 ] && [ "$rest_rc" -eq 0 ]
