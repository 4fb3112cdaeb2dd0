package simulator

// Snapshots with real delta disks, as vSphere keeps them.
//
// Taking a snapshot freezes each disk's current file (it becomes the
// snapshot's read-only state, recorded in the snapshot's config) and moves
// the VM onto a new delta disk "NAME-00000N.vmdk" whose parent is that file.
// Reverting discards the running delta and starts a fresh one over the
// snapshot's files. Removing a snapshot consolidates: the one delta that
// sits on the snapshot's file is merged into it (its written regions
// overwrite the parent's), so every remaining state keeps its bytes, and the
// merged delta is deleted (its charge refunded). A snapshot file that other
// states branch from, or that another VM's chain uses (a linked clone), is
// kept as it is: merging into it would change what they read.
//
// Upstream's CreateSnapshotTask, RevertToCurrentSnapshotTask,
// RemoveAllSnapshotsTask and the snapshot's RevertToSnapshotTask and
// RemoveSnapshotTask are renamed away by patches/*-snapshot-* so these win.

import (
	"fmt"
	"os"
	"path"
	"regexp"
	"sync/atomic"
	"time"

	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

func (vm *VirtualMachine) CreateSnapshotTask(ctx *Context, req *types.CreateSnapshot_Task) soap.HasFault {
	task := CreateTask(vm, "createSnapshot", func(t *Task) (types.AnyType, types.BaseMethodFault) {
		return vm.createSnapshot(req)
	})
	return &methods.CreateSnapshot_TaskBody{Res: &types.CreateSnapshot_TaskResponse{Returnval: task.Run()}}
}

// createSnapshot runs with vm locked.
func (vm *VirtualMachine) createSnapshot(req *types.CreateSnapshot_Task) (types.AnyType, types.BaseMethodFault) {
	if vm.Config.Template {
		return nil, new(types.NotSupported)
	}
	dc := vm.dcRef()
	frozen := copyVMConfig(vm.Config) // the disks as of now: the snapshot's state
	devices, fault := vm.withNewDeltas(dc, vm.Config.Hardware.Device)
	if fault != nil {
		return nil, fault
	}

	snapshot := &VirtualMachineSnapshot{}
	snapshot.Vm = vm.Reference()
	snapshot.Config = frozen
	Map.Put(snapshot)

	item := types.VirtualMachineSnapshotTree{
		Snapshot:        snapshot.Self,
		Vm:              snapshot.Vm,
		Name:            req.Name,
		Description:     req.Description,
		Id:              atomic.AddInt32(&vm.sid, 1),
		CreateTime:      time.Now(),
		State:           vm.Runtime.PowerState,
		Quiesced:        req.Quiesce,
		ReplaySupported: types.NewBool(false),
	}
	info := copySnapshotInfo(vm.Snapshot)
	if cur := info.CurrentSnapshot; cur != nil {
		if parent, ok := Map.Get(*cur).(*VirtualMachineSnapshot); ok {
			Map.Update(parent, []types.PropertyChange{{Name: "childSnapshot", Val: append(parent.ChildSnapshot, snapshot.Self)}})
		}
		ss := findSnapshotInTree(info.RootSnapshotList, *cur)
		ss.ChildSnapshotList = append(ss.ChildSnapshotList, item)
	} else {
		info.RootSnapshotList = append(info.RootSnapshotList, item)
	}
	info.CurrentSnapshot = &snapshot.Self

	Map.Update(vm, []types.PropertyChange{
		{Name: "snapshot", Val: info},
		{Name: "config.hardware.device", Val: devices},
	})
	_ = snapshot.createSnapshotFiles()
	vm.storageChanged()
	return snapshot.Self, nil
}

// withNewDeltas returns a copy of devices in which every snapshot-able disk
// runs on a new delta disk over its current file.
func (vm *VirtualMachine) withNewDeltas(dc *types.ManagedObjectReference, devices []types.BaseVirtualDevice) ([]types.BaseVirtualDevice, types.BaseMethodFault) {
	out := make([]types.BaseVirtualDevice, len(devices))
	var created []string
	for i, d := range devices {
		out[i] = d
		disk, b := diskAndBacking(d)
		if b == nil || isIndependentDisk(b) {
			continue // vSphere leaves independent disks out of snapshots
		}
		delta, fault := vm.newDeltaPath(dc, b.FileName)
		if fault == nil {
			fault = createDeltaDisk(delta, b.FileName, dc)
		}
		if fault != nil {
			for _, f := range created {
				_ = deleteDisk(f, dc)
			}
			return nil, fault
		}
		created = append(created, delta)
		out[i] = withDeltaBacking(disk, b, delta, dc)
	}
	return out, nil
}

// withDeltaBacking copies disk onto a delta backing whose parent is b.
func withDeltaBacking(disk *types.VirtualDisk, b *types.VirtualDiskFlatVer2BackingInfo, delta string, dc *types.ManagedObjectReference) *types.VirtualDisk {
	nd := *disk
	nb := *b
	nb.FileName = delta
	nb.Parent = copyBacking(b)
	nb.DeltaDiskFormat = string(types.VirtualDiskDeltaDiskFormatRedoLogFormat)
	nb.ContentId = ""
	if ds, _, fault := resolveDsPath(dc, delta); fault == nil {
		nb.Datastore = &ds.Self
	}
	nd.Backing = &nb
	return &nd
}

var deltaSuffix = regexp.MustCompile(`-\d{6}$`)

// newDeltaPath names the next delta of diskFile the way ESXi does,
// "NAME-00000N.vmdk", in the VM's snapshot directory.
func (vm *VirtualMachine) newDeltaPath(dc *types.ManagedObjectReference, diskFile string) (string, types.BaseMethodFault) {
	p, fault := parseDatastorePath(diskFile)
	if fault != nil {
		return "", fault
	}
	base := deltaSuffix.ReplaceAllString(trimVmdk(path.Base(p.Path)), "")
	dir, fault := parseDatastorePath(vm.snapshotDir())
	if fault != nil {
		return "", fault
	}
	return freeDiskPath(dc, dir.Datastore, dir.Path, func(n int) string {
		return fmt.Sprintf("%s-%06d.vmdk", base, n+1)
	})
}

// snapshotDir is where deltas go: the snapshot directory, else the VM home.
func (vm *VirtualMachine) snapshotDir() string {
	if d := vm.Config.Files.SnapshotDirectory; d != "" {
		return d
	}
	return path.Dir(vm.Config.Files.VmPathName)
}

func (vm *VirtualMachine) RevertToCurrentSnapshotTask(ctx *Context, req *types.RevertToCurrentSnapshot_Task) soap.HasFault {
	body := &methods.RevertToCurrentSnapshot_TaskBody{}
	if vm.Snapshot == nil || vm.Snapshot.CurrentSnapshot == nil {
		body.Fault_ = Fault("snapshot not found", &types.NotFound{})
		return body
	}
	snap := Map.Get(*vm.Snapshot.CurrentSnapshot).(*VirtualMachineSnapshot)
	task := CreateTask(vm, "revertToCurrentSnapshot", func(t *Task) (types.AnyType, types.BaseMethodFault) {
		return nil, vm.revertToSnapshot(snap)
	})
	body.Res = &types.RevertToCurrentSnapshot_TaskResponse{Returnval: task.Run()}
	return body
}

func (v *VirtualMachineSnapshot) RevertToSnapshotTask(ctx *Context, req *types.RevertToSnapshot_Task) soap.HasFault {
	task := CreateTask(v, "revertToSnapshot", func(t *Task) (types.AnyType, types.BaseMethodFault) {
		vm := Map.Get(v.Vm).(*VirtualMachine)
		var fault types.BaseMethodFault
		Map.WithLock(vm, func() { fault = vm.revertToSnapshot(v) })
		return nil, fault
	})
	return &methods.RevertToSnapshot_TaskBody{Res: &types.RevertToSnapshot_TaskResponse{Returnval: task.Run()}}
}

// revertToSnapshot gives the VM the snapshot's devices on fresh deltas over
// the snapshot's files and discards the deltas only the running state used.
func (vm *VirtualMachine) revertToSnapshot(snap *VirtualMachineSnapshot) types.BaseMethodFault {
	if vm.Snapshot == nil || findSnapshotInTree(vm.Snapshot.RootSnapshotList, snap.Self) == nil {
		return new(types.NotFound)
	}
	dc := vm.dcRef()
	devices, fault := vm.withNewDeltas(dc, copyDevices(snap.Config.Hardware.Device))
	if fault != nil {
		return fault
	}
	running := vm.Config.Hardware.Device
	info := copySnapshotInfo(vm.Snapshot)
	info.CurrentSnapshot = &snap.Self
	changes := []types.PropertyChange{
		{Name: "snapshot", Val: info},
		{Name: "config.hardware.device", Val: devices},
	}
	if node := findSnapshotInTree(info.RootSnapshotList, snap.Self); node != nil && node.State == types.VirtualMachinePowerStatePoweredOff &&
		vm.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOff {
		// A snapshot without memory state reverts to a powered-off VM.
		changes = append(changes,
			types.PropertyChange{Name: "runtime.powerState", Val: types.VirtualMachinePowerStatePoweredOff},
			types.PropertyChange{Name: "summary.runtime.powerState", Val: types.VirtualMachinePowerStatePoweredOff})
	}
	Map.Update(vm, changes)
	vm.discardDeltas(dc, running)
	vm.storageChanged()
	return nil
}

// discardDeltas deletes, from the top of each chain in devices, the delta
// files that no state of this VM (nor another VM) still uses.
func (vm *VirtualMachine) discardDeltas(dc *types.ManagedObjectReference, devices []types.BaseVirtualDevice) {
	for _, d := range devices {
		_, b := diskAndBacking(d)
		for ; b != nil && b.Parent != nil; b = b.Parent {
			if vm.diskFileInUse(b.FileName) || diskFileUsedByOtherVM(vm, b.FileName) {
				break
			}
			_ = deleteDisk(b.FileName, dc)
		}
	}
}

func (v *VirtualMachineSnapshot) RemoveSnapshotTask(ctx *Context, req *types.RemoveSnapshot_Task) soap.HasFault {
	task := CreateTask(v, "removeSnapshot", func(t *Task) (types.AnyType, types.BaseMethodFault) {
		vm := Map.Get(v.Vm).(*VirtualMachine)
		var fault types.BaseMethodFault
		Map.WithLock(vm, func() {
			if vm.Snapshot == nil || findSnapshotInTree(vm.Snapshot.RootSnapshotList, v.Self) == nil {
				fault = new(types.NotFound)
				return
			}
			if req.RemoveChildren {
				node := findSnapshotInTree(vm.Snapshot.RootSnapshotList, v.Self)
				for _, ref := range snapshotsPostOrder(node.ChildSnapshotList) {
					vm.removeOneSnapshot(ctx, ref)
				}
			}
			vm.removeOneSnapshot(ctx, v.Self)
		})
		return nil, fault
	})
	return &methods.RemoveSnapshot_TaskBody{Res: &types.RemoveSnapshot_TaskResponse{Returnval: task.Run()}}
}

func (vm *VirtualMachine) RemoveAllSnapshotsTask(ctx *Context, req *types.RemoveAllSnapshots_Task) soap.HasFault {
	task := CreateTask(vm, "removeAllSnapshots", func(t *Task) (types.AnyType, types.BaseMethodFault) {
		if vm.Snapshot == nil {
			return nil, nil
		}
		// Leaves first, so each removal merges one delta into its parent
		// and the current state ends on the base disks.
		for _, ref := range snapshotsPostOrder(vm.Snapshot.RootSnapshotList) {
			vm.removeOneSnapshot(ctx, ref)
		}
		return nil, nil
	})
	return &methods.RemoveAllSnapshots_TaskBody{Res: &types.RemoveAllSnapshots_TaskResponse{Returnval: task.Run()}}
}

// snapshotsPostOrder lists a tree's snapshots, children before parents.
func snapshotsPostOrder(tree []types.VirtualMachineSnapshotTree) []types.ManagedObjectReference {
	var refs []types.ManagedObjectReference
	for _, node := range tree {
		refs = append(refs, snapshotsPostOrder(node.ChildSnapshotList)...)
		refs = append(refs, node.Snapshot)
	}
	return refs
}

// removeOneSnapshot drops one snapshot (its children move up to its
// parent) and consolidates its disk files. Runs with vm locked.
func (vm *VirtualMachine) removeOneSnapshot(ctx *Context, ref types.ManagedObjectReference) {
	snap, ok := Map.Get(ref).(*VirtualMachineSnapshot)
	if !ok || vm.Snapshot == nil {
		return
	}
	info := copySnapshotInfo(vm.Snapshot)
	parent := findParentSnapshotInTree(info.RootSnapshotList, ref)
	node := findSnapshotInTree(info.RootSnapshotList, ref)
	if info.CurrentSnapshot != nil && *info.CurrentSnapshot == ref {
		info.CurrentSnapshot = parent
	}
	info.RootSnapshotList = removeSnapshotInTree(info.RootSnapshotList, ref, false)
	if parent != nil {
		if p, ok := Map.Get(*parent).(*VirtualMachineSnapshot); ok {
			children := append([]types.ManagedObjectReference(nil), p.ChildSnapshot...)
			RemoveReference(&children, ref)
			if node != nil {
				for _, c := range node.ChildSnapshotList {
					children = append(children, c.Snapshot)
				}
			}
			Map.Update(p, []types.PropertyChange{{Name: "childSnapshot", Val: children}})
		}
	}
	if len(info.RootSnapshotList) == 0 {
		Map.Update(vm, []types.PropertyChange{{Name: "snapshot", Val: nil}})
	} else {
		Map.Update(vm, []types.PropertyChange{{Name: "snapshot", Val: info}})
	}

	dc := vm.dcRef()
	for _, d := range snap.Config.Hardware.Device {
		if _, b := diskAndBacking(d); b != nil {
			vm.consolidate(dc, b.FileName)
		}
	}
	_ = snap.removeSnapshotFiles(ctx)
	Map.Remove(ref)
	vm.storageChanged()
}

// consolidate handles file, the disk a removed snapshot froze: merge its
// single child delta into it, delete it when nothing uses it any more, or
// keep it when it is shared (branches, another VM's linked clone).
func (vm *VirtualMachine) consolidate(dc *types.ManagedObjectReference, file string) {
	if diskFileReadByOtherVM(vm, file) {
		return
	}
	children := vm.childDeltas(file)
	switch len(children) {
	case 0:
		if !vm.diskFileInUse(file) {
			_ = deleteDisk(file, dc)
		}
	case 1:
		child := children[0]
		if diskFileUsedByOtherVM(vm, child) {
			return
		}
		if fault := mergeDeltaInto(dc, child, file); fault != nil {
			return
		}
		for _, gc := range vm.childDeltas(child) {
			_ = setDiskParent(gc, file, dc)
		}
		vm.replaceInChains(child)
		_ = deleteDisk(child, dc)
	}
}

// diskFileReadByOtherVM: another VM reads file as a parent of its own disk
// (a linked clone) or froze it in one of its snapshots, so merging into it
// would change what that VM reads. Another VM whose current disk is file
// itself (a Cinder volume's backing VM while the volume is attached to
// vm) does not count: vCenter consolidates into the file as for any
// attached disk, and that VM then sees the merged data.
func diskFileReadByOtherVM(vm *VirtualMachine, file string) bool {
	inChain := func(devices []types.BaseVirtualDevice, below bool) bool {
		for _, d := range devices {
			_, b := diskAndBacking(d)
			if b != nil && below {
				b = b.Parent
			}
			for ; b != nil; b = b.Parent {
				if b.FileName == file {
					return true
				}
			}
		}
		return false
	}
	for _, e := range Map.All("VirtualMachine") {
		other, ok := e.(*VirtualMachine)
		if !ok || other.Self == vm.Self {
			continue
		}
		if other.Config != nil && inChain(other.Config.Hardware.Device, true) {
			return true
		}
		for _, s := range other.snapshots() {
			if inChain(s.Config.Hardware.Device, false) {
				return true
			}
		}
	}
	return false
}

// mergeDeltaInto writes the delta's data regions over its parent's data.
func mergeDeltaInto(dc *types.ManagedObjectReference, delta, parent string) types.BaseMethodFault {
	c, fault := openDisk(dc, delta)
	if fault != nil {
		return fault
	}
	p, fault := openDisk(dc, parent)
	if fault != nil {
		return fault
	}
	if c.data == "" || p.data == "" {
		return &types.FileNotFound{FileFault: types.FileFault{File: delta}}
	}
	f, err := os.OpenFile(p.data, os.O_RDWR, 0)
	if err != nil {
		return &types.CannotAccessFile{FileFault: types.FileFault{File: parent}}
	}
	defer f.Close()
	if err := copyDataRegions(f, c.data); err != nil {
		return &types.CannotAccessFile{FileFault: types.FileFault{File: parent}}
	}
	return nil
}

// RenameSnapshot changes a snapshot's name and/or description.
func (v *VirtualMachineSnapshot) RenameSnapshot(req *types.RenameSnapshot) soap.HasFault {
	body := &methods.RenameSnapshotBody{}
	vm := Map.Get(v.Vm).(*VirtualMachine)
	Map.WithLock(vm, func() {
		if vm.Snapshot == nil {
			body.Fault_ = Fault("", new(types.NotFound))
			return
		}
		info := copySnapshotInfo(vm.Snapshot)
		node := findSnapshotInTree(info.RootSnapshotList, v.Self)
		if node == nil {
			body.Fault_ = Fault("", new(types.NotFound))
			return
		}
		if req.Name != "" {
			node.Name = req.Name
		}
		if req.Description != "" {
			node.Description = req.Description
		}
		Map.Update(vm, []types.PropertyChange{{Name: "snapshot", Val: info}})
		vm.writeVmsd()
		body.Res = new(types.RenameSnapshotResponse)
	})
	return body
}

// ExportSnapshot leases the snapshot's disks for download: each deviceUrl
// serves the disk at the snapshot point as a streamOptimized VMDK
// (virtual_machine_export_ext.go).
func (v *VirtualMachineSnapshot) ExportSnapshot(ctx *Context, req *types.ExportSnapshot) soap.HasFault {
	body := &methods.ExportSnapshotBody{}
	vm := Map.Get(v.Vm).(*VirtualMachine)
	lease, fault := exportLease(ctx, vm, v.Self, v.Config.Hardware.Device)
	if fault != nil {
		body.Fault_ = Fault("", fault)
		return body
	}
	body.Res = &types.ExportSnapshotResponse{Returnval: lease.Self}
	return body
}

// flattenToTemp writes the logical bytes of the disk chain at file into a
// sparse temporary file (base first, each delta's regions on top).
func flattenToTemp(dc *types.ManagedObjectReference, file string) (string, int64, types.BaseMethodFault) {
	chain, fault := openChain(dc, file)
	if fault != nil {
		return "", 0, fault
	}
	if chain[0].d == nil {
		return "", 0, &types.FileNotFound{FileFault: types.FileFault{File: file}}
	}
	size := chain[0].d.Capacity()
	f, err := os.CreateTemp("", "vcsim-export-*.raw")
	if err != nil {
		return "", 0, &types.CannotCreateFile{FileFault: types.FileFault{File: file}}
	}
	defer f.Close()
	err = f.Truncate(size)
	for i := len(chain) - 1; i >= 0 && err == nil; i-- {
		if chain[i].data != "" {
			err = copyDataRegions(f, chain[i].data)
		}
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return "", 0, &types.CannotAccessFile{FileFault: types.FileFault{File: file}}
	}
	return f.Name(), size, nil
}
