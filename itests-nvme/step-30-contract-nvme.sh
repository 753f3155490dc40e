# Sourced by guest-init: the contract suite on the NVMe driver over the controller bound to vfio-pci (04.0).
t0=$(date +%s)
if $JAVA -Dfsp.nvme.pci=$VFIO_PCI -cp "$CP" org.fsp.block.nvme.NvmeRigRunner org.fsp.block.nvme.NvmePciContractTest \
    > /tmp/contract-nvme.log 2>&1; then
  echo "PASS contract suite on the NVMe driver (VFIO) in $(( $(date +%s) - t0 )) s: $(grep 'tests succeeded' /tmp/contract-nvme.log)"
else
  cat /tmp/contract-nvme.log
  fail "contract suite on the NVMe driver (VFIO)"
fi

