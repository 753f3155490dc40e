# Sourced by guest-init: fspd on the NVMe driver: clear errors (exit 2), format on first mount, a client writes
# and fsyncs, SIGKILL, restart, the data is there; a live upgrade of block-nvme while a client runs.
D=/opt/fsp
export JAVA_HOME=/opt/jdk XDG_RUNTIME_DIR=/tmp/run
# C1 only for the daemon and the shell: under TCG emulation C2's compilations cost more than they return in a run
# this short (the benchmark, a later step, keeps the default).
export FSP_OPTS="-XX:TieredStopAtLevel=1"
mkdir -p $XDG_RUNTIME_DIR && chmod 700 $XDG_RUNTIME_DIR
if [ ! -x $D/bin/fspd ]; then
  fail "no FSP distribution in the guest"
else
  expect_exit2() { # $1: what, $2: text the message must contain, rest: fspd arguments
    what=$1 text=$2; shift 2
    $D/bin/fspd --headless "$@" > /tmp/fspd-err.log 2>&1; rc=$?
    if [ $rc -eq 2 ] && grep -q "$text" /tmp/fspd-err.log; then
      echo "PASS fspd exits 2 for $what: $(grep fspd: /tmp/fspd-err.log | head -1)"
    else
      cat /tmp/fspd-err.log; fail "fspd for $what exited $rc"
    fi
  }
  # The checks that need no device (a missing --pci, no such PCI address) are NvmePreflightTest's; these two need
  # the guest's controllers.
  expect_exit2 "a controller bound to another driver" "bound to nvme" --driver nvme --pci 0000:00:05.0
  expect_exit2 "a namespace formatted with metadata" "metadata" --driver nvme --pci $META_PCI

  # Under emulation a new block-nvme takes longer than the default 10 s to bring the controller up and register,
  # and a client JVM longer than the default 2 s from connect to its hello.
  printf 'verifyTimeoutMillis=120000\npauseWaitMillis=10000\n' > $D/conf/org.fsp.upgrade.cfg
  printf 'helloTimeoutMillis=60000\n' > $D/conf/org.fsp.ipc.shm.cfg

  # Ready once the log says the file system serves clients; under TCG emulation Felix takes a minute or two.
  # fspd names its log file on standard output ('fspd: log  PATH').
  start_fspd() {
    $D/bin/fspd --headless --driver nvme --pci $VFIO_PCI > /tmp/fspd-$1.log 2>&1 &
    fspd_pid=$!
    fspd_log=
    deadline=$(( $(date +%s) + 600 ))
    while [ $(date +%s) -lt $deadline ]; do
      [ -n "$fspd_log" ] || fspd_log=$(sed -n 's/^fspd: log *//p' /tmp/fspd-$1.log)
      if [ -n "$fspd_log" ] && grep -q -i 'block device ready' "$fspd_log" 2>/dev/null \
          && $D/bin/fsp df > /tmp/df.log 2>&1; then
        return 0
      fi
      kill -0 $fspd_pid 2>/dev/null || break
      sleep 5
    done
    echo "INFO fspd did not come up; its output and log follow"
    cat /tmp/fspd-$1.log /tmp/df.log 2>/dev/null
    [ -n "$fspd_log" ] && tail -40 "$fspd_log"
    # It must not keep the controller: the contract suite needs it next.
    kill -9 $fspd_pid 2>/dev/null; wait $fspd_pid 2>/dev/null
    return 1
  }
  t0=$(date +%s)
  if start_fspd first; then
    echo "PASS fspd --driver nvme --pci $VFIO_PCI serves clients after $(( $(date +%s) - t0 )) s: $(grep 'fspd: device' /tmp/fspd-first.log)"
    head -c 3000000 /dev/urandom > /tmp/data
    if $D/bin/fsp put /tmp/data /crash-test.bin && $D/bin/fsp get /crash-test.bin /tmp/back && cmp -s /tmp/data /tmp/back; then
      echo "PASS client wrote 3000000 bytes (put fsyncs) and read them back"
    else
      fail "client write/read on fspd --driver nvme"
    fi
    kill -9 $fspd_pid; wait $fspd_pid 2>/dev/null
    echo "INFO fspd SIGKILLed"
    rm -f /tmp/back
    if start_fspd second && $D/bin/fsp get /crash-test.bin /tmp/back && cmp -s /tmp/data /tmp/back; then
      echo "PASS after SIGKILL and restart the fsynced file is intact"
    else
      fail "fsynced data after SIGKILL and restart"
    fi
    # Live upgrade of block-nvme on the NVMe driver: the old driver shuts the controller down and lets go of
    # VFIO, the new one brings it up again, while a client writes, fsyncs and reads back without a failed request.
    mkfifo /tmp/load.in
    $JAVA -XX:TieredStopAtLevel=1 -cp "$D/lib/*:$D/lib/tools/*" org.fsp.bench.upgrade.UpgradeLoadClient \
      $XDG_RUNTIME_DIR/fsp/fsp.sock "" 1 /tmp/load.timeline < /tmp/load.in > /tmp/load.out 2>&1 &
    load_pid=$!
    exec 7> /tmp/load.in
    deadline=$(( $(date +%s) + 240 ))
    until grep -q '^ready' /tmp/load.out 2>/dev/null || [ $(date +%s) -gt $deadline ] || ! kill -0 $load_pid 2>/dev/null; do
      sleep 2
    done
    echo "phase upgrade" >&7
    t0=$(date +%s)
    $D/bin/fsp shell -c "fsp:upgrade block-nvme file:///fsp-rig/block-nvme-rig.jar" > /tmp/upgrade.out 2>&1
    sleep 3
    echo "phase after" >&7
    sleep 2
    echo stop >&7
    exec 7>&-
    wait $load_pid; load_rc=$?
    if grep -q ': upgraded in' /tmp/upgrade.out && [ $load_rc -eq 0 ] && grep -q '^RESULT .* failures 0 ' /tmp/load.out; then
      echo "PASS live upgrade of block-nvme on the NVMe driver under a client in $(( $(date +%s) - t0 )) s:" \
        "$(grep ': upgraded in' /tmp/upgrade.out | head -1); client $(grep '^RESULT' /tmp/load.out)"
    else
      cat /tmp/upgrade.out /tmp/load.out
      grep -E 'ERROR|WARN' "$fspd_log" 2>/dev/null | tail -20
      fail "live upgrade of block-nvme on the NVMe driver (client exit $load_rc)"
    fi
    kill -TERM $fspd_pid; wait $fspd_pid; rc=$?
    [ $rc -eq 0 ] && echo "PASS fspd on nvme stops cleanly on SIGTERM" || fail "fspd on nvme exited $rc on SIGTERM"
  else
    fail "fspd --driver nvme did not come up"
  fi
fi
