package simulator

// Topology VMs: their disk files are written first (disk layer, with the
// test pattern), then the VM is created with CreateVM_Task on its host,
// attaching the existing disks, powered on or suspended as asked, and
// snapshotted with CreateSnapshot_Task.

import (
	"context"
	"fmt"
	"path"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/types"
)

// buildVMs creates the datacenter's VMs.
func (b *topologyBuilder) buildVMs(d *topologyDC) error {
	for _, vm := range d.spec.VMs {
		if err := b.buildVM(d, vm); err != nil {
			return fmt.Errorf("VM %q: %v", vm.Name, err)
		}
	}
	return nil
}

func (b *topologyBuilder) buildVM(d *topologyDC, spec *TopologyVM) error {
	host := b.hosts[spec.Host]
	var devices object.VirtualDeviceList
	scsi, err := devices.CreateSCSIController("lsilogic")
	if err != nil {
		return err
	}
	// vSphere's usual keys: SCSI controller 0 is 1000, its disks 2000 + unit.
	scsi.GetVirtualDevice().Key = 1000
	scsi.GetVirtualDevice().DeviceInfo = &types.Description{Label: "SCSI controller 0", Summary: "LSI Logic"}
	devices = append(devices, scsi)
	for _, disk := range spec.Disks {
		dev, err := b.createVMDisk(d, scsi.(types.BaseVirtualController), devices, disk)
		if err != nil {
			return err
		}
		dev.Key = 2000 + *dev.UnitNumber
		dev.DeviceInfo = &types.Description{Label: fmt.Sprintf("Hard disk %d", len(devices)),
			Summary: numberToString(dev.CapacityInKB, ',') + " KB"}
		devices = append(devices, dev)
	}
	vmx, err := b.vmxPath(d, spec, host)
	if err != nil {
		return err
	}
	config := types.VirtualMachineConfigSpec{
		Name:    spec.Name,
		GuestId: string(types.VirtualMachineGuestOsIdentifierOtherGuest),
		Files:   &types.VirtualMachineFileInfo{VmPathName: vmx},
	}
	// Disks attach existing files (no fileOperation): the disk layer wrote them.
	for _, dev := range devices {
		config.DeviceChange = append(config.DeviceChange, &types.VirtualDeviceConfigSpec{
			Operation: types.VirtualDeviceConfigSpecOperationAdd, Device: dev,
		})
	}
	pool := Map.Get(*hostParent(&host.HostSystem).ResourcePool).Reference()
	task, err := d.folders.VmFolder.CreateVM(b.ctx, config, object.NewResourcePool(b.client, pool),
		object.NewHostSystem(b.client, host.Self))
	if err != nil {
		return err
	}
	info, err := task.WaitForResult(b.ctx, nil)
	if err != nil {
		return err
	}
	vm := object.NewVirtualMachine(b.client, info.Result.(types.ManagedObjectReference))
	return b.finishVM(vm, spec)
}

// vmxPath puts the .vmx beside the first disk, or in <vm>/ on the first
// datastore mounted on the host when the VM has no disk.
func (b *topologyBuilder) vmxPath(d *topologyDC, spec *TopologyVM, host *HostSystem) (string, error) {
	if len(spec.Disks) > 0 {
		disk := spec.Disks[0]
		dir := path.Dir(disk.Path)
		if dir == "." {
			dir = spec.Name
		}
		return "[" + disk.Datastore + "] " + path.Join(dir, spec.Name+".vmx"), nil
	}
	for _, ds := range d.spec.Datastores {
		if datastoreMountedOn(ds, spec.Host) {
			return "[" + ds.Name + "] " + path.Join(spec.Name, spec.Name+".vmx"), nil
		}
	}
	return "", fmt.Errorf("host %q mounts no datastore to hold the VM's files", spec.Host)
}

// createVMDisk writes a disk's files and returns its VirtualDisk device.
func (b *topologyBuilder) createVMDisk(d *topologyDC, scsi types.BaseVirtualController,
	devices object.VirtualDeviceList, disk *TopologyDisk) (*types.VirtualDisk, error) {
	dsPath := "[" + disk.Datastore + "] " + disk.Path
	capacity := topoDiskBytes(disk.CapacityGB)
	uuid, err := b.createDisk(d, dsPath, capacity, disk.Thin)
	if err != nil {
		return nil, fmt.Errorf("disk %s: %v", dsPath, err)
	}
	ds := d.datastores[disk.Datastore].Self
	dev := devices.CreateDisk(scsi, ds, dsPath)
	dev.CapacityInKB = capacity / 1024
	dev.CapacityInBytes = capacity
	backing := dev.Backing.(*types.VirtualDiskFlatVer2BackingInfo)
	backing.ThinProvisioned = topoBool(disk.Thin)
	backing.EagerlyScrub = topoBool(false)
	backing.Uuid = uuid
	return dev, nil
}

// finishVM sets the power state and takes the snapshots, in order, each
// a child of the previous one.
func (b *topologyBuilder) finishVM(vm *object.VirtualMachine, spec *TopologyVM) error {
	if spec.PowerState != "poweredOff" {
		if err := topoWait(vm.PowerOn(b.ctx)); err != nil {
			return fmt.Errorf("power on: %v", err)
		}
	}
	if spec.PowerState == "suspended" {
		if err := topoWait(vm.Suspend(b.ctx)); err != nil {
			return fmt.Errorf("suspend: %v", err)
		}
	}
	for _, s := range spec.Snapshots {
		if err := topoWait(vm.CreateSnapshot(b.ctx, s.Name, s.Description, false, false)); err != nil {
			return fmt.Errorf("snapshot %q: %v", s.Name, err)
		}
	}
	return nil
}

// topoWait waits for a task started by an object method.
func topoWait(task *object.Task, err error) error {
	if err != nil {
		return err
	}
	return task.Wait(context.Background())
}
