package simulator

// Destroy_Task, UnregisterVM and template marking on real disk files:
// which disk files and folders a destroy deletes, and which it keeps
// (those another VM's chain still uses).
//
// Upstream's DestroyTask, UnregisterVM, MarkAsTemplate and
// MarkAsVirtualMachine are renamed away by
// patches/310-virtual_machine-clone-relocate-snapshot.patch so these win.

import (
	"io/ioutil"
	"os"
	"path"
	"path/filepath"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// DestroyTask deletes the VM's files. As on vCenter, every attached disk
// goes, wherever its files are (virtual_machine_disks_ext.go
// markDisksForDestroy); with them go their chain parents and the snapshot
// deltas in the VM's folder. A file another
// VM's chain uses (the base of a linked clone) is never deleted, as vCenter
// keeps disks shared within a linked-VM group (the group's last VM takes
// them); the home folder goes unless such a file lives in it.
func (vm *VirtualMachine) DestroyTask(ctx *Context, req *types.Destroy_Task) soap.HasFault {
	dc := vm.dcRef()
	task := CreateTask(vm, "destroy", func(t *Task) (types.AnyType, types.BaseMethodFault) {
		if dc == nil {
			return nil, &types.ManagedObjectNotFound{Obj: vm.Self}
		}
		doomed := vm.filesToDestroy()
		files := vm.diskFiles()
		dirs := vm.homeDirs(dc)
		snaps := vm.snapshots()
		r := vm.UnregisterVM(ctx, &types.UnregisterVM{This: req.This})
		if r.Fault() != nil {
			return nil, r.Fault().VimFault().(types.BaseMethodFault)
		}
		kept := map[string]bool{}
		for i := len(files) - 1; i >= 0; i-- { // children before parents
			f := files[i]
			if !doomed[f] || diskFileUsedByOtherVM(vm, f) {
				kept[f] = true
				continue
			}
			_ = deleteDisk(f, dc)
		}
		for _, s := range snaps {
			Map.Remove(s.Self)
		}
		removeHomeDirs(dc, dirs, kept)
		vm.run.remove(vm)
		return nil, nil
	})
	return &methods.Destroy_TaskBody{Res: &types.Destroy_TaskResponse{Returnval: task.Run()}}
}

// filesToDestroy picks the disk files Destroy_Task deletes (see above).
func (vm *VirtualMachine) filesToDestroy() map[string]bool {
	devices := object.VirtualDeviceList(vm.Config.Hardware.Device)
	specs, _ := devices.ConfigSpec(types.VirtualDeviceConfigSpecOperationRemove)
	vm.markDisksForDestroy(specs)
	home := dsPathDir(vm.Config.Files.VmPathName)
	doomed := map[string]bool{}
	for _, s := range specs {
		spec := s.GetVirtualDeviceConfigSpec()
		_, b := diskAndBacking(spec.Device)
		if b == nil || spec.FileOperation != types.VirtualDeviceConfigSpecFileOperationDestroy {
			continue
		}
		// Parents go too unless shared: the last VM of a linked group
		// takes the group's base with it.
		for l := b; l != nil; l = l.Parent {
			doomed[l.FileName] = true
		}
	}
	for _, f := range vm.diskFiles() { // snapshot deltas and branches
		if dsPathDir(f) == home && !vm.inRunningChain(f) {
			doomed[f] = true
		}
	}
	return doomed
}

// inRunningChain reports whether a device's chain (not a snapshot's) has f.
func (vm *VirtualMachine) inRunningChain(f string) bool {
	for _, d := range vm.Config.Hardware.Device {
		for _, b := diskAndBacking(d); b != nil; b = b.Parent {
			if b.FileName == f {
				return true
			}
		}
	}
	return false
}

// homeDirs lists the local folders of the VM's home and snapshot/log dirs.
func (vm *VirtualMachine) homeDirs(dc *types.ManagedObjectReference) []string {
	seen := map[string]bool{}
	var dirs []string
	for _, d := range []string{path.Dir(vm.Config.Files.VmPathName), vm.Config.Files.SnapshotDirectory, vm.Config.Files.LogDirectory, vm.Config.Files.SuspendDirectory} {
		if _, local, fault := resolveDsPath(dc, d); fault == nil && d != "" && !seen[local] {
			seen[local] = true
			dirs = append(dirs, local)
		}
	}
	return dirs
}

// removeHomeDirs deletes the folders, keeping the files of kept disks.
func removeHomeDirs(dc *types.ManagedObjectReference, dirs []string, kept map[string]bool) {
	keep := map[string]bool{}
	for f := range kept {
		if df, fault := openDisk(dc, f); fault == nil {
			keep[df.desc] = true
			keep[df.data] = true
		}
	}
	for _, dir := range dirs {
		if len(keep) == 0 {
			_ = os.RemoveAll(dir)
			continue
		}
		entries, _ := ioutil.ReadDir(dir)
		for _, e := range entries {
			if p := filepath.Join(dir, e.Name()); !keep[p] {
				_ = os.RemoveAll(p)
			}
		}
		_ = os.Remove(dir)
	}
}

// UnregisterVM writes the .vmx first, so RegisterVM can bring the VM
// (with its disks) back, as the .vmx on a real datastore always allows.
func (vm *VirtualMachine) UnregisterVM(ctx *Context, c *types.UnregisterVM) soap.HasFault {
	if vm.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOn {
		vm.writeVmx()
	}
	return vm.unregisterVMUpstream(ctx, c)
}

func (vm *VirtualMachine) MarkAsTemplate(req *types.MarkAsTemplate) soap.HasFault {
	r := &methods.MarkAsTemplateBody{}
	if fault := vm.markTemplate(true, nil, nil); fault != nil {
		r.Fault_ = Fault("", fault)
		return r
	}
	r.Res = new(types.MarkAsTemplateResponse)
	return r
}

func (vm *VirtualMachine) MarkAsVirtualMachine(req *types.MarkAsVirtualMachine) soap.HasFault {
	r := &methods.MarkAsVirtualMachineBody{}
	if fault := vm.markTemplate(false, &req.Pool, req.Host); fault != nil {
		r.Fault_ = Fault("", fault)
		return r
	}
	r.Res = new(types.MarkAsVirtualMachineResponse)
	return r
}

// markTemplate flips config.template (published), leaving or joining a pool.
func (vm *VirtualMachine) markTemplate(template bool, pool, host *types.ManagedObjectReference) types.BaseMethodFault {
	if vm.Config.Template == template {
		return new(types.NotSupported)
	}
	if vm.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOff {
		return &types.InvalidPowerState{RequestedState: types.VirtualMachinePowerStatePoweredOff, ExistingState: vm.Runtime.PowerState}
	}
	if vm.ResourcePool != nil {
		if old, ok := Map.Get(*vm.ResourcePool).(*ResourcePool); ok {
			Map.RemoveReference(old, &old.Vm, vm.Self)
		}
	}
	changes := []types.PropertyChange{
		{Name: "config.template", Val: template},
		{Name: "summary.config.template", Val: template},
	}
	if pool != nil {
		if p, ok := Map.Get(*pool).(*ResourcePool); ok {
			Map.AppendReference(p, &p.Vm, vm.Self)
		}
		changes = append(changes, types.PropertyChange{Name: "resourcePool", Val: pool})
	} else {
		changes = append(changes, types.PropertyChange{Name: "resourcePool", Val: nil})
	}
	if host != nil {
		changes = append(changes, types.PropertyChange{Name: "runtime.host", Val: host}, types.PropertyChange{Name: "summary.runtime.host", Val: host})
	}
	Map.Update(vm, changes)
	vm.writeVmx()
	return nil
}
