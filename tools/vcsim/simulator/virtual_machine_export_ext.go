package simulator

// ExportVm (missing in vcsim 0.24.2): what upstream Cinder's upload to
// image and os-brick's vmdk connector (backup) read a volume through.

import (
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// ExportVm leases a powered-off VM's disks for download; each deviceUrl
// serves the disk's current logical bytes (its delta chain flattened, raw;
// a real vCenter serves streamOptimized VMDKs).
func (vm *VirtualMachine) ExportVm(ctx *Context, req *types.ExportVm) soap.HasFault {
	body := &methods.ExportVmBody{}
	if vm.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOff {
		body.Fault_ = Fault("", &types.InvalidPowerState{
			RequestedState: types.VirtualMachinePowerStatePoweredOff,
			ExistingState:  vm.Runtime.PowerState})
		return body
	}
	lease, fault := exportDisks(ctx, vm, vm.Self, vm.Config.Hardware.Device)
	if fault != nil {
		body.Fault_ = Fault("", fault)
		return body
	}
	body.Res = &types.ExportVmResponse{Returnval: lease.Self}
	return body
}
