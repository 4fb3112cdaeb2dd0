package simulator

// RelocateVM_Task on real disk files: the VM's home and disk files move to
// the target datastores (per-disk locators first), provisioning converts,
// placement moves; files other VMs share stay where they are.
//
// Upstream's RelocateVMTask is renamed away by
// patches/310-virtual_machine-clone-relocate-snapshot.patch so this one wins.

import (
	"fmt"
	"io/ioutil"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

func (vm *VirtualMachine) RelocateVMTask(ctx *Context, req *types.RelocateVM_Task) soap.HasFault {
	task := CreateTask(vm, "relocateVm", func(t *Task) (types.AnyType, types.BaseMethodFault) {
		return nil, vm.relocate(ctx, &req.Spec)
	})
	return &methods.RelocateVM_TaskBody{Res: &types.RelocateVM_TaskResponse{Returnval: task.Run()}}
}

// relocate moves the VM's home and disk files to the target datastores
// (per-disk locators first), moves placement, and keeps files other VMs
// share where they are (their chains still point there).
func (vm *VirtualMachine) relocate(ctx *Context, spec *types.VirtualMachineRelocateSpec) types.BaseMethodFault {
	dc := vm.dcRef()
	targets, copies, fault := vm.relocateTargets(spec)
	if fault != nil {
		return fault
	}
	if fault = vm.checkRelocateSpace(dc, targets); fault != nil {
		return fault
	}
	home, _ := parseDatastorePath(vm.Config.Files.VmPathName)
	dir := path.Dir(home.Path)
	files := vm.diskFiles()
	for _, f := range files {
		ds := targets[f]
		if ds == nil || copies[f] {
			continue
		}
		if fault = vm.moveChainFile(dc, f, ds, dir); fault != nil {
			return fault
		}
	}
	// Shared files (moveAllDiskBackingsAndDisallowSharing): this VM gets
	// its own copies, children first so that repointing a child edits
	// this VM's copy, never the file the other VMs keep using.
	for i := len(files) - 1; i >= 0; i-- {
		f := files[i]
		if ds := targets[f]; ds != nil && copies[f] {
			if fault = vm.copyChainFile(dc, f, ds, dir); fault != nil {
				return fault
			}
		}
	}
	if spec.Datastore != nil {
		if fault = vm.moveHome(dc, Map.Get(*spec.Datastore).(*Datastore)); fault != nil {
			return fault
		}
	}
	if fault = vm.convertProvisioning(dc, spec); fault != nil {
		return fault
	}
	vm.movePlacement(ctx, spec)
	vm.storageChanged()
	return nil
}

// relocateTargets maps each disk file to move onto its target datastore;
// copies are the files other VMs share that this VM takes a copy of
// (moveAllDiskBackingsAndDisallowSharing) instead of leaving them.
func (vm *VirtualMachine) relocateTargets(spec *types.VirtualMachineRelocateSpec) (map[string]*Datastore, map[string]bool, types.BaseMethodFault) {
	targets := map[string]*Datastore{}
	copies := map[string]bool{}
	dc := vm.dcRef()
	for _, d := range vm.Config.Hardware.Device {
		disk, b := diskAndBacking(d)
		if b == nil {
			continue
		}
		dsRef, moveType := spec.Datastore, spec.DiskMoveType
		for _, l := range spec.Disk {
			if l.DiskId == disk.Key {
				ref := l.Datastore
				dsRef = &ref
				if l.DiskMoveType != "" {
					moveType = l.DiskMoveType
				}
			}
		}
		if dsRef == nil {
			continue
		}
		ds, ok := Map.Get(*dsRef).(*Datastore)
		if !ok {
			return nil, nil, &types.ManagedObjectNotFound{Obj: *dsRef}
		}
		disallow := moveType == string(types.VirtualMachineRelocateDiskMoveOptionsMoveAllDiskBackingsAndDisallowSharing)
		for l := b; l != nil; l = l.Parent {
			if l != b && moveType == string(types.VirtualMachineRelocateDiskMoveOptionsMoveChildMostDiskBacking) {
				break
			}
			cur, _, fault := resolveDsPath(dc, l.FileName)
			if fault != nil || cur.Self == ds.Self {
				continue
			}
			shared := diskFileUsedByOtherVM(vm, l.FileName)
			if !shared || disallow {
				targets[l.FileName] = ds
				copies[l.FileName] = shared
			}
		}
	}
	// Snapshot-only files (other branches) follow their datastore's move.
	for _, f := range vm.diskFiles() {
		if _, ok := targets[f]; ok || spec.Datastore == nil || diskFileUsedByOtherVM(vm, f) {
			continue
		}
		if cur, _, fault := resolveDsPath(dc, f); fault == nil && cur.Self != *spec.Datastore {
			targets[f] = Map.Get(*spec.Datastore).(*Datastore)
		}
	}
	return targets, copies, nil
}

// checkRelocateSpace fails with NoDiskSpace before moving anything.
func (vm *VirtualMachine) checkRelocateSpace(dc *types.ManagedObjectReference, targets map[string]*Datastore) types.BaseMethodFault {
	need := map[*Datastore]int64{}
	for f, ds := range targets {
		if df, fault := openDisk(dc, f); fault == nil && df.d != nil && !df.d.Thin() {
			need[ds] += df.d.Capacity()
		}
	}
	for ds, n := range need {
		if n > ds.Summary.FreeSpace {
			return &types.NoDiskSpace{FileFault: types.FileFault{File: ds.Name}, Datastore: ds.Name}
		}
	}
	return nil
}

// moveChainFile moves one disk file of the VM to "[ds] dir/" and repoints
// its child deltas and every chain of the VM at the new name.
func (vm *VirtualMachine) moveChainFile(dc *types.ManagedObjectReference, file string, ds *Datastore, dir string) types.BaseMethodFault {
	p, _ := parseDatastorePath(file)
	base := trimVmdk(path.Base(p.Path))
	dst, fault := freeDiskPath(dc, ds.Name, dir, func(n int) string {
		if n == 0 {
			return base + ".vmdk"
		}
		return fmt.Sprintf("%s_%d.vmdk", base, n)
	})
	if fault != nil {
		return fault
	}
	if _, local, fault := resolveDsPath(dc, dst); fault == nil {
		_ = os.MkdirAll(filepath.Dir(local), 0o700)
	}
	if fault = moveDisk(file, dst, dc); fault != nil {
		return fault
	}
	for _, c := range vm.childDeltas(file) {
		_ = setDiskParent(c, dst, dc)
	}
	vm.editChains(func(b *types.VirtualDiskFlatVer2BackingInfo) *types.VirtualDiskFlatVer2BackingInfo {
		return renameInChain(b, file, dst, &ds.Self)
	})
	return nil
}

// copyChainFile copies a file other VMs share to "[ds] dir/" (a delta
// stays a delta on the same parent) and points this VM's chains, and its
// own child deltas, at the copy; the other VMs keep the original.
func (vm *VirtualMachine) copyChainFile(dc *types.ManagedObjectReference, file string, ds *Datastore, dir string) types.BaseMethodFault {
	p, _ := parseDatastorePath(file)
	base := trimVmdk(path.Base(p.Path))
	dst, fault := freeDiskPath(dc, ds.Name, dir, func(n int) string {
		if n == 0 {
			return base + ".vmdk"
		}
		return fmt.Sprintf("%s_%d.vmdk", base, n)
	})
	if fault != nil {
		return fault
	}
	if _, local, fault := resolveDsPath(dc, dst); fault == nil {
		_ = os.MkdirAll(filepath.Dir(local), 0o700)
	}
	if fault = copyDisk(file, dst, dc, false); fault != nil {
		return fault
	}
	for _, c := range vm.childDeltas(file) {
		if !diskFileUsedByOtherVM(vm, c) {
			_ = setDiskParent(c, dst, dc)
		}
	}
	vm.editChains(func(b *types.VirtualDiskFlatVer2BackingInfo) *types.VirtualDiskFlatVer2BackingInfo {
		return renameInChain(b, file, dst, &ds.Self)
	})
	return nil
}

// moveHome moves the VM's non-disk files (vmx, nvram, logs, vmsn) to the
// same folder name on ds and repoints config.files.
func (vm *VirtualMachine) moveHome(dc *types.ManagedObjectReference, ds *Datastore) types.BaseMethodFault {
	home, fault := parseDatastorePath(vm.Config.Files.VmPathName)
	if fault != nil {
		return fault
	}
	if home.Datastore == ds.Name {
		return nil
	}
	dir := path.Dir(home.Path)
	_, oldDir, fault := resolveDsPath(dc, joinDsPath(home.Datastore, dir))
	if fault != nil {
		return fault
	}
	_, newDir, fault := resolveDsPath(dc, joinDsPath(ds.Name, dir))
	if fault != nil {
		return fault
	}
	if err := os.MkdirAll(newDir, 0o700); err != nil {
		return &types.CannotCreateFile{FileFault: types.FileFault{File: newDir}}
	}
	entries, _ := ioutil.ReadDir(oldDir)
	for _, e := range entries {
		if e.IsDir() || strings.HasSuffix(e.Name(), ".vmdk") {
			continue // disks moved (or deliberately kept) by moveChainFile
		}
		if err := moveFile(filepath.Join(oldDir, e.Name()), filepath.Join(newDir, e.Name())); err != nil {
			return &types.CannotAccessFile{FileFault: types.FileFault{File: e.Name()}}
		}
	}
	_ = os.Remove(oldDir) // only when nothing (e.g. a shared disk) stayed
	vm.log = filepath.Join(newDir, filepath.Base(vm.log))
	files := vm.Config.Files
	newHome := joinDsPath(ds.Name, home.Path)
	files.VmPathName = newHome
	for _, d := range []*string{&files.SnapshotDirectory, &files.SuspendDirectory, &files.LogDirectory} {
		if p, fault := parseDatastorePath(*d); fault == nil && p.Datastore == home.Datastore {
			*d = joinDsPath(ds.Name, p.Path)
		}
	}
	Map.Update(vm, []types.PropertyChange{
		{Name: "config.files", Val: files},
		{Name: "summary.config.vmPathName", Val: newHome},
	})
	return nil
}

// convertProvisioning applies the locators' diskBackingInfo thin flag to
// a disk's (base) file, recharging its datastore accordingly.
func (vm *VirtualMachine) convertProvisioning(dc *types.ManagedObjectReference, spec *types.VirtualMachineRelocateSpec) types.BaseMethodFault {
	for _, l := range spec.Disk {
		fb, ok := l.DiskBackingInfo.(*types.VirtualDiskFlatVer2BackingInfo)
		if !ok {
			continue
		}
		thin := locatorThin(fb)
		disk, b := diskAndBacking(object.VirtualDeviceList(vm.Config.Hardware.Device).FindByKey(l.DiskId))
		if b == nil || b.Parent != nil || diskFileUsedByOtherVM(vm, b.FileName) {
			continue // only a lone base disk is rewritten in place
		}
		if fault := setDiskThin(dc, b.FileName, thin); fault != nil {
			return fault
		}
		vm.editChains(func(x *types.VirtualDiskFlatVer2BackingInfo) *types.VirtualDiskFlatVer2BackingInfo {
			c := copyBacking(x)
			if c.FileName == b.FileName {
				c.ThinProvisioned = types.NewBool(thin)
				c.EagerlyScrub = fb.EagerlyScrub
			}
			return c
		})
		_ = disk
	}
	return nil
}

// locatorThin: a locator's diskBackingInfo asks for a disk type; an unset
// thinProvisioned is false (thick), as in the WSDL's default.
func locatorThin(fb *types.VirtualDiskFlatVer2BackingInfo) bool {
	return fb.ThinProvisioned != nil && *fb.ThinProvisioned
}

// setDiskThin rewrites a base disk's ddb.thinProvisioned and moves its
// charge between FreeSpace and Uncommitted.
func setDiskThin(dc *types.ManagedObjectReference, file string, thin bool) types.BaseMethodFault {
	df, fault := openDisk(dc, file)
	if fault != nil || df.d == nil || df.d.IsDelta() || df.d.Thin() == thin {
		return fault
	}
	if fault = chargeDatastore(df.ds, df.d.Capacity(), thin); fault != nil {
		return fault
	}
	refundDatastore(df.ds, df.d.Capacity(), !thin)
	d := cloneDescriptor(df.d)
	d.deleteDDB("ddb.thinProvisioned")
	if thin {
		d.SetDDB("ddb.thinProvisioned", "1")
	}
	if err := writeDescriptor(df.desc, d); err != nil {
		return &types.CannotAccessFile{FileFault: types.FileFault{File: file}}
	}
	return nil
}

// movePlacement updates pool, host and folder with both sides' lists.
func (vm *VirtualMachine) movePlacement(ctx *Context, spec *types.VirtualMachineRelocateSpec) {
	var changes []types.PropertyChange
	if ref := spec.Pool; ref != nil && (vm.ResourcePool == nil || *vm.ResourcePool != *ref) {
		if vm.ResourcePool != nil {
			if old, ok := Map.Get(*vm.ResourcePool).(*ResourcePool); ok {
				Map.RemoveReference(old, &old.Vm, vm.Self)
			}
		}
		if pool, ok := Map.Get(*ref).(*ResourcePool); ok {
			Map.AppendReference(pool, &pool.Vm, vm.Self)
		}
		changes = append(changes, types.PropertyChange{Name: "resourcePool", Val: ref})
		if spec.Host == nil {
			spec.Host = hostForPool(*ref, vm.Runtime.Host)
		}
	}
	if ref := spec.Host; ref != nil && (vm.Runtime.Host == nil || *vm.Runtime.Host != *ref) {
		if old, ok := Map.Get(*vm.Runtime.Host).(*HostSystem); ok {
			Map.RemoveReference(old, &old.Vm, vm.Self)
		}
		if host, ok := Map.Get(*ref).(*HostSystem); ok {
			Map.AppendReference(host, &host.Vm, vm.Self)
		}
		changes = append(changes,
			types.PropertyChange{Name: "runtime.host", Val: ref},
			types.PropertyChange{Name: "summary.runtime.host", Val: ref})
	}
	if len(changes) != 0 {
		Map.Update(vm, changes)
	}
	if ref := spec.Folder; ref != nil {
		if folder, ok := Map.Get(*ref).(*Folder); ok {
			folder.MoveIntoFolderTask(ctx, &types.MoveIntoFolder_Task{This: *ref, List: []types.ManagedObjectReference{vm.Self}})
		}
	}
}

// hostForPool keeps cur when it belongs to the pool's compute resource,
// else picks that compute resource's first host.
func hostForPool(pool types.ManagedObjectReference, cur *types.ManagedObjectReference) *types.ManagedObjectReference {
	e, ok := Map.Get(pool).(mo.Entity)
	if !ok {
		return nil
	}
	var hosts []types.ManagedObjectReference
	switch cr := Map.getEntityComputeResource(e).(type) {
	case *ClusterComputeResource:
		hosts = cr.Host
	case *mo.ComputeResource:
		hosts = cr.Host
	}
	if cur != nil && FindReference(hosts, *cur) != nil {
		return nil
	}
	if len(hosts) == 0 {
		return nil
	}
	return &hosts[0]
}
