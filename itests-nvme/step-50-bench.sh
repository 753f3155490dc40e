# Sourced by guest-init: 'fsp bench device --driver nvme' on the controller the kernel keeps (05.0): io_uring on its
# block device, fio, passthrough, then (rebound to vfio-pci) the user-space driver; the table comes back as INFO lines.
if [ "$(cat /fsp-rig/bench 2>/dev/null)" = 0 ]; then
  echo "INFO benchmark left out (FSP_NVME_RIG_BENCH=0)"
elif [ ! -x /opt/fsp/bin/fsp ]; then
  fail "no FSP distribution in the guest for the benchmark"
else
  t0=$(date +%s)
  if env -u FSP_OPTS /opt/fsp/bin/fsp bench device --driver nvme --pci 0000:00:05.0 --seconds 2 \
      > /tmp/bench.log 2>&1; then
    sed 's/^/INFO bench | /' /tmp/bench.log
    echo "PASS fsp bench device --driver nvme in $(( $(date +%s) - t0 )) s"
  else
    cat /tmp/bench.log
    fail "fsp bench device --driver nvme"
  fi
fi
