# Sourced by guest-init: the contract suite on io_uring NVMe passthrough over the controller the kernel keeps (05.0).
ctrl=$(ls /sys/bus/pci/devices/0000:00:05.0/nvme 2>/dev/null | head -1)
NG=/dev/ng${ctrl#nvme}n1
if [ -z "$ctrl" ] || [ ! -c "$NG" ]; then
  fail "no NVMe generic device for 0000:00:05.0 (nvme driver bound? $ctrl)"
else
  t0=$(date +%s)
  if $JAVA -Dfsp.nvme.generic=$NG -cp "$CP" org.fsp.block.nvme.NvmeRigRunner \
      org.fsp.block.nvme.NvmePassthroughContractTest > /tmp/contract-passthru.log 2>&1; then
    echo "PASS contract suite on NVMe passthrough ($NG) in $(( $(date +%s) - t0 )) s: $(grep 'tests succeeded' /tmp/contract-passthru.log)"
  else
    cat /tmp/contract-passthru.log
    fail "contract suite on NVMe passthrough ($NG)"
  fi
fi
