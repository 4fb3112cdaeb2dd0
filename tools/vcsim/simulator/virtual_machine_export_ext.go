package simulator

// Export leases (ExportVm here, ExportSnapshot in
// virtual_machine_snapshot_ext.go): each disk is served, as by vCenter, as
// a streamOptimized VMDK (vmdk_stream_optimized.go) of its logical bytes
// (the delta chain flattened) at the exported state.

import (
	"fmt"
	"os"
	"path"
	"path/filepath"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// ExportVm leases the disks of a powered-off VM (its running state).
func (vm *VirtualMachine) ExportVm(ctx *Context, req *types.ExportVm) soap.HasFault {
	body := &methods.ExportVmBody{}
	if vm.Runtime.PowerState == types.VirtualMachinePowerStatePoweredOn {
		body.Fault_ = Fault("the virtual machine is powered on", &types.InvalidPowerState{
			RequestedState: types.VirtualMachinePowerStatePoweredOff,
			ExistingState:  vm.Runtime.PowerState,
		})
		return body
	}
	lease, fault := exportLease(ctx, vm, vm.Self, vm.Config.Hardware.Device)
	if fault != nil {
		body.Fault_ = Fault("", fault)
		return body
	}
	body.Res = &types.ExportVmResponse{Returnval: lease.Self}
	return body
}

// exportLease makes a ready lease for entity serving each disk of devices
// as "disk-N.vmdk".
func exportLease(ctx *Context, vm *VirtualMachine, entity types.ManagedObjectReference, devices object.VirtualDeviceList) (*HttpNfcLease, types.BaseMethodFault) {
	dc := vm.dcRef()
	files := map[string]string{}
	var urls []types.HttpNfcLeaseDeviceUrl
	var capacityKB int64
	n := 0
	for _, d := range devices {
		disk, b := diskAndBacking(d)
		if b == nil {
			continue
		}
		name := fmt.Sprintf("disk-%d.vmdk", n)
		local, size, capacity, fault := streamOptimizedExport(dc, b.FileName, name, adapterOf(devices, disk))
		if fault != nil {
			for _, f := range files {
				_ = os.Remove(f)
			}
			return nil, fault
		}
		files[name] = local
		urls = append(urls, types.HttpNfcLeaseDeviceUrl{
			Key:       fmt.Sprintf("/%s/%s:%d", vm.Self.Value, devices.Name(disk), n),
			ImportKey: fmt.Sprintf("/%s/%s:%d", vm.Name, devices.Name(disk), n),
			Url:       "https://*" + nfcPrefix + "LEASE/" + name,
			Disk:      types.NewBool(true),
			TargetId:  name,
			FileSize:  size,
		})
		capacityKB += capacity / 1024
		n++
	}
	lease := NewHttpNfcLease(ctx, entity)
	lease.Info.Lease = lease.Self
	for i := range urls {
		urls[i].Url = "https://*" + nfcPrefix + path.Join(lease.Self.Value, urls[i].TargetId)
	}
	lease.Info.DeviceUrl = urls
	lease.Info.TotalDiskCapacityInKB = capacityKB
	temps := &exportTemps{lease: lease.Self}
	for name, local := range files {
		lease.files[name] = local
		temps.files = append(temps.files, local)
	}
	ctx.Session.AddHandler(temps)
	return lease, nil
}

// exportTemps removes an export lease's temporary VMDKs when the lease
// leaves its session's registry: HttpNfcLeaseComplete and HttpNfcLeaseAbort
// remove it there. Keyed by the lease, the handler goes with it. A lease
// whose session ends first keeps its files until the simulator stops.
type exportTemps struct {
	lease types.ManagedObjectReference
	files []string
}

func (e *exportTemps) Reference() types.ManagedObjectReference { return e.lease }

func (e *exportTemps) PutObject(mo.Reference) {}

func (e *exportTemps) UpdateObject(mo.Reference, []types.PropertyChange) {}

func (e *exportTemps) RemoveObject(ref types.ManagedObjectReference) {
	if ref != e.lease {
		return
	}
	for _, f := range e.files {
		_ = os.Remove(f)
	}
}

// adapterOf is the descriptor adapter type of the disk's controller.
func adapterOf(devices object.VirtualDeviceList, disk *types.VirtualDisk) string {
	switch devices.FindByKey(disk.ControllerKey).(type) {
	case *types.VirtualIDEController:
		return "ide"
	case *types.VirtualBusLogicController:
		return "buslogic"
	case *types.VirtualLsiLogicSASController:
		return "lsilogic"
	case *types.ParaVirtualSCSIController:
		return "pvscsi"
	}
	return "lsilogic"
}

// streamOptimizedExport writes the disk chain at file as a streamOptimized
// VMDK into the simulator's export directory (removed when the lease ends,
// see exportTemps, or with the simulator's state when it stops); returns
// its path, size and the disk's capacity.
func streamOptimizedExport(dc *types.ManagedObjectReference, file, name, adapter string) (string, int64, int64, types.BaseMethodFault) {
	raw, capacity, fault := flattenToTemp(dc, file)
	if fault != nil {
		return "", 0, 0, fault
	}
	defer os.Remove(raw)
	failed := &types.CannotCreateFile{FileFault: types.FileFault{File: file}}
	dir := os.TempDir()
	if topologyDatastoreRoot != "" {
		dir = filepath.Join(filepath.Dir(topologyDatastoreRoot), "exports")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return "", 0, 0, failed
		}
	}
	in, err := os.Open(raw)
	if err != nil {
		return "", 0, 0, failed
	}
	defer in.Close()
	out, err := os.CreateTemp(dir, "export-*.vmdk")
	if err != nil {
		return "", 0, 0, failed
	}
	defer out.Close()
	if err := writeStreamOptimized(out, in, capacity, name, adapter); err != nil {
		_ = os.Remove(out.Name())
		return "", 0, 0, failed
	}
	st, err := out.Stat()
	if err != nil {
		_ = os.Remove(out.Name())
		return "", 0, 0, failed
	}
	return out.Name(), st.Size(), capacity, nil
}
