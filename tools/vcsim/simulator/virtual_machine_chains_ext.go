package simulator

// VM-level storage on real disk files, one file per job (as govmomi keeps
// one file per managed object type): chains (this file), clone
// (virtual_machine_clone_ext.go), relocate (virtual_machine_relocate_ext.go),
// destroy/unregister/templates (virtual_machine_destroy_ext.go) and the
// .vmx with RegisterVM (virtual_machine_vmx_ext.go). Disk files themselves
// are handled by vmdk_disk.go.
//
// This file decides which files a VM owns, shares and references. A VM's
// "chains" are its devices' disk backings (backing.parent links) plus those
// recorded by its snapshots; the small copy helpers below keep one holder's
// edits from reaching another's.

import (
	"path"
	"reflect"
	"sort"
	"strings"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/types"
)

// ---- small helpers ----------------------------------------------------

func (vm *VirtualMachine) dcRef() *types.ManagedObjectReference {
	if dc := Map.getEntityDatacenter(vm); dc != nil {
		return &dc.Self
	}
	return nil
}

func diskAndBacking(d types.BaseVirtualDevice) (*types.VirtualDisk, *types.VirtualDiskFlatVer2BackingInfo) {
	disk, ok := d.(*types.VirtualDisk)
	if !ok {
		return nil, nil
	}
	b, ok := disk.Backing.(*types.VirtualDiskFlatVer2BackingInfo)
	if !ok || b.FileName == "" {
		return disk, nil
	}
	return disk, b
}

func isIndependentDisk(b *types.VirtualDiskFlatVer2BackingInfo) bool {
	return strings.HasPrefix(b.DiskMode, "independent")
}

func trimVmdk(name string) string { return strings.TrimSuffix(name, ".vmdk") }

// copyBacking copies a backing and its parents, so edits to one VM's (or
// snapshot's) chain never reach another holder of the same pointers.
func copyBacking(b *types.VirtualDiskFlatVer2BackingInfo) *types.VirtualDiskFlatVer2BackingInfo {
	if b == nil {
		return nil
	}
	c := *b
	c.Parent = copyBacking(b.Parent)
	return &c
}

// copyDevice is a shallow copy of any device struct (a new pointer).
func copyDevice(d types.BaseVirtualDevice) types.BaseVirtualDevice {
	v := reflect.ValueOf(d).Elem()
	c := reflect.New(v.Type())
	c.Elem().Set(v)
	return c.Interface().(types.BaseVirtualDevice)
}

// copyDevices copies devices; disks get their own backing chain.
func copyDevices(devices []types.BaseVirtualDevice) []types.BaseVirtualDevice {
	out := make([]types.BaseVirtualDevice, len(devices))
	for i, d := range devices {
		out[i] = copyDevice(d)
		if disk, b := diskAndBacking(out[i]); b != nil {
			disk.Backing = copyBacking(b)
		}
	}
	return out
}

func copyVMConfig(c *types.VirtualMachineConfigInfo) types.VirtualMachineConfigInfo {
	cfg := *c
	cfg.Hardware.Device = copyDevices(c.Hardware.Device)
	cfg.ExtraConfig = append([]types.BaseOptionValue(nil), c.ExtraConfig...)
	return cfg
}

func copySnapshotTree(tree []types.VirtualMachineSnapshotTree) []types.VirtualMachineSnapshotTree {
	if tree == nil {
		return nil
	}
	out := make([]types.VirtualMachineSnapshotTree, len(tree))
	for i, n := range tree {
		out[i] = n
		out[i].ChildSnapshotList = copySnapshotTree(n.ChildSnapshotList)
	}
	return out
}

// copySnapshotInfo is a deep copy to edit and publish with Map.Update.
func copySnapshotInfo(s *types.VirtualMachineSnapshotInfo) *types.VirtualMachineSnapshotInfo {
	info := &types.VirtualMachineSnapshotInfo{}
	if s != nil {
		info.CurrentSnapshot = s.CurrentSnapshot
		info.RootSnapshotList = copySnapshotTree(s.RootSnapshotList)
	}
	return info
}

// freeDiskPath returns the first "[ds] dir/name(n)" with no files yet.
func freeDiskPath(dc *types.ManagedObjectReference, ds, dir string, name func(n int) string) (string, types.BaseMethodFault) {
	for n := 0; n < 10000; n++ {
		cand := joinDsPath(ds, path.Join(dir, name(n)))
		_, local, fault := resolveDsPath(dc, cand)
		if fault != nil {
			return "", fault
		}
		if !fileExists(local) && !fileExists(vmdkDataName(local, true)) && !fileExists(vmdkDataName(local, false)) {
			return cand, nil
		}
	}
	return "", &types.FileAlreadyExists{FileFault: types.FileFault{File: name(0)}}
}

// ---- which VM uses which disk file -----------------------------------------

func (vm *VirtualMachine) snapshots() []*VirtualMachineSnapshot {
	var out []*VirtualMachineSnapshot
	if vm.Snapshot == nil {
		return nil
	}
	for _, ref := range allSnapshotsInTree(vm.Snapshot.RootSnapshotList) {
		if s, ok := Map.Get(ref).(*VirtualMachineSnapshot); ok {
			out = append(out, s)
		}
	}
	return out
}

// chainTops returns the top backing of every chain the VM holds: its
// devices' disks and every snapshot's recorded disks.
func (vm *VirtualMachine) chainTops() []*types.VirtualDiskFlatVer2BackingInfo {
	var tops []*types.VirtualDiskFlatVer2BackingInfo
	add := func(devices []types.BaseVirtualDevice) {
		for _, d := range devices {
			if _, b := diskAndBacking(d); b != nil {
				tops = append(tops, b)
			}
		}
	}
	if vm.Config != nil {
		add(vm.Config.Hardware.Device)
	}
	for _, s := range vm.snapshots() {
		add(s.Config.Hardware.Device)
	}
	return tops
}

// diskFiles lists every disk file in the VM's chains, parents first.
func (vm *VirtualMachine) diskFiles() []string {
	depth := map[string]int{}
	for _, top := range vm.chainTops() {
		var chain []string
		for b := top; b != nil; b = b.Parent {
			chain = append(chain, b.FileName)
		}
		for i, f := range chain {
			if d := len(chain) - 1 - i; d > depth[f] || depth[f] == 0 {
				depth[f] = d
			}
		}
	}
	files := make([]string, 0, len(depth))
	for f := range depth {
		files = append(files, f)
	}
	sort.Slice(files, func(i, j int) bool { return depth[files[i]] < depth[files[j]] })
	return files
}

// diskFileInUse reports whether any chain of vm contains file.
func (vm *VirtualMachine) diskFileInUse(file string) bool {
	for _, top := range vm.chainTops() {
		for b := top; b != nil; b = b.Parent {
			if b.FileName == file {
				return true
			}
		}
	}
	return false
}

// diskFileUsedByOtherVM: a linked clone (or anything else) shares file.
func diskFileUsedByOtherVM(vm *VirtualMachine, file string) bool {
	for _, e := range Map.All("VirtualMachine") {
		other, ok := e.(*VirtualMachine)
		if !ok || other.Self == vm.Self {
			continue
		}
		if other.diskFileInUse(file) {
			return true
		}
	}
	return false
}

// childDeltas lists the files in vm's chains whose parent is file.
func (vm *VirtualMachine) childDeltas(file string) []string {
	seen := map[string]bool{}
	var out []string
	for _, top := range vm.chainTops() {
		for b := top; b != nil && b.Parent != nil; b = b.Parent {
			if b.Parent.FileName == file && !seen[b.FileName] {
				seen[b.FileName] = true
				out = append(out, b.FileName)
			}
		}
	}
	return out
}

// dropFromChain returns a copy of the chain without the link for file.
func dropFromChain(b *types.VirtualDiskFlatVer2BackingInfo, file string) *types.VirtualDiskFlatVer2BackingInfo {
	if b == nil {
		return nil
	}
	if b.FileName == file {
		return copyBacking(b.Parent)
	}
	c := *b
	c.Parent = dropFromChain(b.Parent, file)
	return &c
}

// renameInChain returns a copy of the chain with file renamed.
func renameInChain(b *types.VirtualDiskFlatVer2BackingInfo, from, to string, ds *types.ManagedObjectReference) *types.VirtualDiskFlatVer2BackingInfo {
	if b == nil {
		return nil
	}
	c := *b
	if c.FileName == from {
		c.FileName = to
		c.Datastore = ds
	}
	c.Parent = renameInChain(b.Parent, from, to, ds)
	return &c
}

// editChains rewrites every chain of vm (devices and snapshots) with edit
// and publishes the changed devices.
func (vm *VirtualMachine) editChains(edit func(*types.VirtualDiskFlatVer2BackingInfo) *types.VirtualDiskFlatVer2BackingInfo) {
	rewrite := func(devices []types.BaseVirtualDevice) []types.BaseVirtualDevice {
		out := make([]types.BaseVirtualDevice, len(devices))
		for i, d := range devices {
			out[i] = d
			if disk, b := diskAndBacking(d); b != nil {
				nd := *disk
				nd.Backing = edit(b)
				out[i] = &nd
			}
		}
		return out
	}
	Map.Update(vm, []types.PropertyChange{{Name: "config.hardware.device", Val: rewrite(vm.Config.Hardware.Device)}})
	for _, s := range vm.snapshots() {
		cfg := s.Config
		cfg.Hardware.Device = rewrite(s.Config.Hardware.Device)
		Map.Update(s, []types.PropertyChange{{Name: "config", Val: cfg}})
	}
}

// replaceInChains removes file (a merged delta) from every chain.
func (vm *VirtualMachine) replaceInChains(file string) {
	vm.editChains(func(b *types.VirtualDiskFlatVer2BackingInfo) *types.VirtualDiskFlatVer2BackingInfo {
		return dropFromChain(b, file)
	})
}

// storageChanged refreshes layouts and datastore references after disk
// files changed, publishes them and rewrites the .vmx.
func (vm *VirtualMachine) storageChanged() {
	if vm.Runtime.Host == nil {
		return
	}
	vm.pruneLayoutFiles()
	_ = vm.updateDiskLayouts()
	vm.syncDatastores()
	Map.Update(vm, []types.PropertyChange{
		{Name: "layout", Val: vm.Layout},
		{Name: "layoutEx", Val: vm.LayoutEx},
		{Name: "storage", Val: vm.Storage},
		{Name: "summary.storage", Val: vm.Summary.Storage},
		{Name: "summary.config.numVirtualDisks", Val: int32(len(object.VirtualDeviceList(vm.Config.Hardware.Device).SelectByType((*types.VirtualDisk)(nil))))},
	})
	vm.writeVmx()
}

// pruneLayoutFiles drops layoutEx entries of files that are gone. Keys
// of the others stay: snapshot layouts refer to them (and upstream's
// removeSnapshotFiles deletes by key).
func (vm *VirtualMachine) pruneLayoutFiles() {
	dc := vm.dcRef()
	var files []types.VirtualMachineFileLayoutExFileInfo
	for _, f := range vm.LayoutEx.File {
		if _, local, fault := resolveDsPath(dc, f.Name); fault == nil && fileExists(local) {
			files = append(files, f)
		}
	}
	vm.LayoutEx.File = files
}

// syncDatastores makes vm.datastore (and each datastore's vm list) match
// where the VM's home and disk files are.
func (vm *VirtualMachine) syncDatastores() {
	dc := vm.dcRef()
	want := map[types.ManagedObjectReference]bool{}
	if p, fault := parseDatastorePath(vm.Config.Files.VmPathName); fault == nil {
		if ds, fault := lookupDatastore(dc, p.Datastore); fault == nil {
			want[ds.Self] = true
		}
	}
	for _, f := range vm.diskFiles() {
		if ds, _, fault := resolveDsPath(dc, f); fault == nil {
			want[ds.Self] = true
		}
	}
	var refs []types.ManagedObjectReference
	for _, ref := range vm.Datastore {
		if !want[ref] {
			if ds, ok := Map.Get(ref).(*Datastore); ok {
				Map.RemoveReference(ds, &ds.Vm, vm.Self)
			}
		}
	}
	for ref := range want {
		refs = append(refs, ref)
		if ds, ok := Map.Get(ref).(*Datastore); ok && FindReference(ds.Vm, vm.Self) == nil {
			Map.AppendReference(ds, &ds.Vm, vm.Self)
		}
	}
	sort.Slice(refs, func(i, j int) bool { return refs[i].Value < refs[j].Value })
	Map.Update(vm, []types.PropertyChange{{Name: "datastore", Val: refs}})
}
