package simulator

// VM-level storage operations on real disk files: clone, relocate,
// destroy, unregister/register (through the .vmx), template marking.
// Disk files are handled by vmdk_file.go; this file decides which files a
// VM owns, shares and references. A VM's "chains" are its devices' disk
// backings (backing.parent links) plus those recorded by its snapshots.
//
// Upstream's CloneVMTask, RelocateVMTask, DestroyTask, UnregisterVM,
// MarkAsTemplate and MarkAsVirtualMachine are renamed away by
// patches/*-virtual_machine-clone-relocate-snapshot.patch so these win.

import (
	"bufio"
	"fmt"
	"io/ioutil"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator/esx"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
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

// ---- clone -------------------------------------------------------------

func (vm *VirtualMachine) CloneVMTask(ctx *Context, req *types.CloneVM_Task) soap.HasFault {
	folder, _ := asFolderMO(Map.Get(req.Folder))
	host := Map.Get(*vm.Runtime.Host).(*HostSystem)
	event := vm.event()
	if folder != nil {
		ctx.postEvent(&types.VmBeingClonedEvent{
			VmCloneEvent: types.VmCloneEvent{VmEvent: event},
			DestFolder:   folderEventArgument(folder),
			DestName:     req.Name,
			DestHost:     *host.eventArgument(),
		})
	}
	task := CreateTask(vm, "cloneVm", func(t *Task) (types.AnyType, types.BaseMethodFault) {
		ref, fault := vm.cloneVM(ctx, req)
		if fault == nil {
			clone := Map.Get(ref).(*VirtualMachine)
			ctx.postEvent(&types.VmClonedEvent{VmCloneEvent: types.VmCloneEvent{VmEvent: clone.event()}, SourceVm: *event.Vm})
			return ref, nil
		}
		return nil, fault
	})
	return &methods.CloneVM_TaskBody{Res: &types.CloneVM_TaskResponse{Returnval: task.Run()}}
}

// clonePlan is what one source disk becomes in the clone.
type clonePlan struct {
	disk     *types.VirtualDisk
	src      *types.VirtualDiskFlatVer2BackingInfo
	ds       *Datastore
	moveType string
	thin     *bool
}

func (vm *VirtualMachine) cloneVM(ctx *Context, req *types.CloneVM_Task) (types.ManagedObjectReference, types.BaseMethodFault) {
	var none types.ManagedObjectReference
	spec := &req.Spec
	dc := vm.dcRef()
	if _, ok := Map.Get(req.Folder).(*Folder); !ok {
		return none, &types.ManagedObjectNotFound{Obj: req.Folder}
	}
	devices := vm.Config.Hardware.Device
	if spec.Snapshot != nil {
		snap, ok := Map.Get(*spec.Snapshot).(*VirtualMachineSnapshot)
		if !ok || snap.Vm != vm.Self {
			return none, &types.InvalidArgument{InvalidProperty: "spec.snapshot"}
		}
		devices = snap.Config.Hardware.Device
	}
	pool, host, fault := vm.clonePlacement(spec)
	if fault != nil {
		return none, fault
	}
	plans, fault := vm.planCloneDisks(dc, spec, devices)
	if fault != nil {
		return none, fault
	}
	if fault = checkCloneSpace(plans); fault != nil {
		return none, fault
	}
	clone, fault := vm.createCloneShell(ctx, req, devices, pool, host)
	if fault != nil {
		return none, fault
	}
	if fault = clone.attachClonedDisks(dc, plans); fault != nil {
		clone.destroyNow(ctx)
		return none, fault
	}
	if fault = clone.applyCloneConfig(vm, spec); fault != nil {
		clone.destroyNow(ctx)
		return none, fault
	}
	if spec.Template {
		clone.markTemplate(true, nil, nil)
	} else if spec.PowerOn {
		clone.PowerOnVMTask(ctx, &types.PowerOnVM_Task{This: clone.Self})
	}
	clone.storageChanged()
	return clone.Self, nil
}

// clonePlacement picks the clone's pool and host (spec, else the source's).
func (vm *VirtualMachine) clonePlacement(spec *types.VirtualMachineCloneSpec) (*types.ManagedObjectReference, *types.ManagedObjectReference, types.BaseMethodFault) {
	host := spec.Location.Host
	pool := spec.Location.Pool
	if pool == nil && !vm.Config.Template {
		pool = vm.ResourcePool
	}
	if pool == nil && host != nil {
		if h, ok := Map.Get(*host).(*HostSystem); ok {
			pool = hostParent(&h.HostSystem).ResourcePool
		}
	}
	if pool == nil && spec.Template {
		pool = hostParent(&Map.Get(*vm.Runtime.Host).(*HostSystem).HostSystem).ResourcePool
	}
	if pool == nil {
		return nil, nil, &types.InvalidArgument{InvalidProperty: "spec.location.pool"}
	}
	if host == nil && spec.Location.Pool == nil {
		host = vm.Runtime.Host
	}
	return pool, host, nil
}

// planCloneDisks decides, per source disk, its target datastore, move
// type and provisioning; disks removed by spec.config.deviceChange are
// not cloned.
func (vm *VirtualMachine) planCloneDisks(dc *types.ManagedObjectReference, spec *types.VirtualMachineCloneSpec, devices []types.BaseVirtualDevice) ([]clonePlan, types.BaseMethodFault) {
	removed := map[int32]bool{}
	if spec.Config != nil {
		for _, c := range spec.Config.DeviceChange {
			s := c.GetVirtualDeviceConfigSpec()
			if s.Operation == types.VirtualDeviceConfigSpecOperationRemove {
				removed[s.Device.GetVirtualDevice().Key] = true
			}
		}
	}
	var plans []clonePlan
	for _, d := range devices {
		disk, b := diskAndBacking(d)
		if b == nil || removed[disk.Key] {
			continue
		}
		p := clonePlan{disk: disk, src: b, moveType: spec.Location.DiskMoveType}
		dsRef := spec.Location.Datastore
		for _, l := range spec.Location.Disk {
			if l.DiskId == disk.Key {
				ref := l.Datastore
				dsRef = &ref
				if l.DiskMoveType != "" {
					p.moveType = l.DiskMoveType
				}
				if fb, ok := l.DiskBackingInfo.(*types.VirtualDiskFlatVer2BackingInfo); ok {
					p.thin = types.NewBool(locatorThin(fb))
				}
			}
		}
		if dsRef != nil {
			ds, ok := Map.Get(*dsRef).(*Datastore)
			if !ok {
				return nil, &types.ManagedObjectNotFound{Obj: *dsRef}
			}
			p.ds = ds
		} else {
			ds, _, fault := resolveDsPath(dc, b.FileName)
			if fault != nil {
				return nil, fault
			}
			p.ds = ds
		}
		if p.moveType == string(types.VirtualMachineRelocateDiskMoveOptionsCreateNewChildDiskBacking) && spec.Snapshot == nil {
			// Only a snapshot's files are read-only, so only they may be shared.
			return nil, &types.InvalidArgument{InvalidProperty: "spec.location.diskMoveType"}
		}
		plans = append(plans, p)
	}
	return plans, nil
}

func isLinked(p clonePlan) bool {
	return p.moveType == string(types.VirtualMachineRelocateDiskMoveOptionsCreateNewChildDiskBacking)
}

// childMostOnly: moveChildMostDiskBacking copies only the top delta.
func childMostOnly(p clonePlan) bool {
	return p.moveType == string(types.VirtualMachineRelocateDiskMoveOptionsMoveChildMostDiskBacking) && p.src.Parent != nil
}

// checkCloneSpace fails with NoDiskSpace before anything is created when
// the thick copies do not fit their datastores.
func checkCloneSpace(plans []clonePlan) types.BaseMethodFault {
	need := map[*Datastore]int64{}
	for _, p := range plans {
		if isLinked(p) || childMostOnly(p) {
			continue
		}
		thin := p.thin
		if thin == nil {
			thin = baseThin(p.src)
		}
		if !*thin {
			need[p.ds] += getDiskSize(p.disk)
		}
	}
	for ds, n := range need {
		if n > ds.Summary.FreeSpace {
			return &types.NoDiskSpace{FileFault: types.FileFault{File: ds.Name}, Datastore: ds.Name}
		}
	}
	return nil
}

// baseThin is the provisioning of a chain's base disk.
func baseThin(b *types.VirtualDiskFlatVer2BackingInfo) *bool {
	for b.Parent != nil {
		b = b.Parent
	}
	return types.NewBool(b.ThinProvisioned != nil && *b.ThinProvisioned)
}

// createCloneShell creates the clone VM with the source's hardware but no
// disks (they are attached from real files afterwards).
func (vm *VirtualMachine) createCloneShell(ctx *Context, req *types.CloneVM_Task, devices []types.BaseVirtualDevice, pool, host *types.ManagedObjectReference) (*VirtualMachine, types.BaseMethodFault) {
	vmx := vm.vmx(nil)
	vmx.Path = req.Name
	if ref := req.Spec.Location.Datastore; ref != nil {
		vmx.Datastore = Map.Get(*ref).(*Datastore).Name
	}
	config := types.VirtualMachineConfigSpec{
		Name:              req.Name,
		GuestId:           vm.Config.GuestId,
		Files:             &types.VirtualMachineFileInfo{VmPathName: vmx.String()},
		NumCPUs:           vm.Config.Hardware.NumCPU,
		MemoryMB:          int64(vm.Config.Hardware.MemoryMB),
		NumCoresPerSocket: vm.Config.Hardware.NumCoresPerSocket,
		Annotation:        vm.Config.Annotation,
	}
	defaults := object.VirtualDeviceList(esx.VirtualDevice)
	list := object.VirtualDeviceList(devices)
	for _, d := range devices {
		if _, ok := d.(*types.VirtualDisk); ok || defaults.Find(list.Name(d)) != nil {
			continue
		}
		config.DeviceChange = append(config.DeviceChange, &types.VirtualDeviceConfigSpec{
			Operation: types.VirtualDeviceConfigSpecOperationAdd,
			Device:    copyDevice(d),
		})
	}
	folder := Map.Get(req.Folder).(vmFolder)
	res := folder.CreateVMTask(ctx, &types.CreateVM_Task{This: req.Folder, Config: config, Pool: *pool, Host: host})
	ctask := Map.Get(res.(*methods.CreateVM_TaskBody).Res.Returnval).(*Task)
	if ctask.Info.Error != nil {
		return nil, ctask.Info.Error.Fault
	}
	return Map.Get(ctask.Info.Result.(types.ManagedObjectReference)).(*VirtualMachine), nil
}

// attachClonedDisks makes each planned disk's file(s) and adds the disk
// device on them; on failure what was made is deleted again.
func (vm *VirtualMachine) attachClonedDisks(dc *types.ManagedObjectReference, plans []clonePlan) types.BaseMethodFault {
	devices := append([]types.BaseVirtualDevice(nil), vm.Config.Hardware.Device...)
	home, _ := parseDatastorePath(vm.Config.Files.VmPathName)
	dir := path.Dir(home.Path)
	var made []string
	for i, p := range plans {
		var nb *types.VirtualDiskFlatVer2BackingInfo
		var fault types.BaseMethodFault
		switch {
		case isLinked(p):
			nb, fault = cloneLinked(dc, p, dir)
		default:
			nb, fault = cloneCopy(dc, p, dir, vm.Name, i)
		}
		if fault != nil {
			for _, f := range made {
				_ = deleteDisk(f, dc)
			}
			return fault
		}
		made = append(made, nb.FileName)
		nd := *p.disk
		nd.Backing = nb
		nd.DeviceInfo = nil
		if d := p.disk.DeviceInfo; d != nil {
			nd.DeviceInfo = &types.Description{Label: d.GetDescription().Label, Summary: d.GetDescription().Summary}
		}
		devices = append(devices, &nd)
	}
	Map.Update(vm, []types.PropertyChange{{Name: "config.hardware.device", Val: devices}})
	return nil
}

// cloneLinked: a new delta in the clone's folder over the (snapshot) file.
func cloneLinked(dc *types.ManagedObjectReference, p clonePlan, dir string) (*types.VirtualDiskFlatVer2BackingInfo, types.BaseMethodFault) {
	src, _ := parseDatastorePath(p.src.FileName)
	base := deltaSuffix.ReplaceAllString(trimVmdk(path.Base(src.Path)), "")
	delta, fault := freeDiskPath(dc, p.ds.Name, dir, func(n int) string { return fmt.Sprintf("%s-%06d.vmdk", base, n+1) })
	if fault != nil {
		return nil, fault
	}
	if fault = createDeltaDisk(delta, p.src.FileName, dc); fault != nil {
		return nil, fault
	}
	return withDeltaBacking(p.disk, p.src, delta, dc).Backing.(*types.VirtualDiskFlatVer2BackingInfo), nil
}

// cloneCopy: a full, flattened copy named after the clone (or, for
// moveChildMostDiskBacking, a copy of the top delta still sharing parents).
func cloneCopy(dc *types.ManagedObjectReference, p clonePlan, dir, name string, i int) (*types.VirtualDiskFlatVer2BackingInfo, types.BaseMethodFault) {
	dst, fault := freeDiskPath(dc, p.ds.Name, dir, func(n int) string {
		if n+i == 0 {
			return name + ".vmdk"
		}
		return fmt.Sprintf("%s_%d.vmdk", name, n+i)
	})
	if fault != nil {
		return nil, fault
	}
	flatten := !childMostOnly(p)
	fault = copyDiskOpts(copyDiskOptions{src: p.src.FileName, dst: dst, srcDc: dc, dstDc: dc, flatten: flatten, thin: p.thin})
	if fault != nil {
		return nil, fault
	}
	nb := copyBacking(p.src)
	nb.FileName = dst
	nb.Datastore = &p.ds.Self
	nb.ContentId, nb.ChangeId = "", ""
	if flatten {
		nb.Parent = nil
		nb.DeltaDiskFormat = ""
		nb.ThinProvisioned = p.thin
		if nb.ThinProvisioned == nil {
			nb.ThinProvisioned = baseThin(p.src)
		}
	}
	if df, fault := openDisk(dc, dst); fault == nil && df.d != nil {
		nb.Uuid = diskUUIDToRFC(df.d.UUID())
	}
	return nb, nil
}

// applyCloneConfig gives the clone the source's extraConfig overlaid by
// spec.config (extraConfig, instanceUuid, managedBy, annotation, ...) and
// applies spec.config's non-removal device changes.
func (vm *VirtualMachine) applyCloneConfig(src *VirtualMachine, spec *types.VirtualMachineCloneSpec) types.BaseMethodFault {
	extra := mergeExtraConfig(src.Config.ExtraConfig, nil)
	var changes []types.BaseVirtualDeviceConfigSpec
	if c := spec.Config; c != nil {
		extra = mergeExtraConfig(extra, c.ExtraConfig)
		cfg := *c
		cfg.ExtraConfig, cfg.DeviceChange, cfg.Name, cfg.Files = nil, nil, "", nil
		vm.apply(&cfg)
		if cfg.ManagedBy != nil {
			vm.Config.ManagedBy = cfg.ManagedBy
		}
		for _, ch := range c.DeviceChange {
			if ch.GetVirtualDeviceConfigSpec().Operation != types.VirtualDeviceConfigSpecOperationRemove {
				changes = append(changes, ch)
			}
		}
	}
	vm.Config.ExtraConfig = extra
	Map.Update(vm, []types.PropertyChange{{Name: "config", Val: vm.Config}, {Name: "summary.config", Val: vm.Summary.Config}})
	changes = append(changes, spec.Location.DeviceChange...)
	if len(changes) != 0 {
		return vm.configureDevices(&types.VirtualMachineConfigSpec{DeviceChange: changes})
	}
	return nil
}

// mergeExtraConfig sets (or, with an empty value, removes) keys.
func mergeExtraConfig(base, set []types.BaseOptionValue) []types.BaseOptionValue {
	out := append([]types.BaseOptionValue(nil), base...)
	for _, s := range set {
		o := s.GetOptionValue()
		idx := -1
		for i, b := range out {
			if b.GetOptionValue().Key == o.Key {
				idx = i
			}
		}
		empty := o.Value == nil || o.Value == ""
		switch {
		case idx >= 0 && empty:
			out = append(out[:idx], out[idx+1:]...)
		case idx >= 0:
			out[idx] = &types.OptionValue{Key: o.Key, Value: o.Value}
		case !empty:
			out = append(out, &types.OptionValue{Key: o.Key, Value: o.Value})
		}
	}
	return out
}

// destroyNow destroys a half-made clone (rollback).
func (vm *VirtualMachine) destroyNow(ctx *Context) {
	vm.DestroyTask(ctx, &types.Destroy_Task{This: vm.Self})
}

// ---- relocate ----------------------------------------------------------

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
	targets, fault := vm.relocateTargets(spec)
	if fault != nil {
		return fault
	}
	if fault = vm.checkRelocateSpace(dc, targets); fault != nil {
		return fault
	}
	home, _ := parseDatastorePath(vm.Config.Files.VmPathName)
	dir := path.Dir(home.Path)
	for _, f := range vm.diskFiles() {
		ds := targets[f]
		if ds == nil {
			continue
		}
		if fault = vm.moveChainFile(dc, f, ds, dir); fault != nil {
			return fault
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

// relocateTargets maps each disk file to move onto its target datastore.
func (vm *VirtualMachine) relocateTargets(spec *types.VirtualMachineRelocateSpec) (map[string]*Datastore, types.BaseMethodFault) {
	targets := map[string]*Datastore{}
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
			return nil, &types.ManagedObjectNotFound{Obj: *dsRef}
		}
		for l := b; l != nil; l = l.Parent {
			if l != b && moveType == string(types.VirtualMachineRelocateDiskMoveOptionsMoveChildMostDiskBacking) {
				break
			}
			if cur, _, fault := resolveDsPath(dc, l.FileName); fault == nil && cur.Self != ds.Self && !diskFileUsedByOtherVM(vm, l.FileName) {
				targets[l.FileName] = ds
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
	return targets, nil
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

// ---- destroy / unregister / templates --------------------------------------

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
	return vm.unregisterVM(ctx, c)
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

// ---- the .vmx --------------------------------------------------------------

var vmxEscaper = strings.NewReplacer("|", "|7C", `"`, "|22", "\n", "|0A")
var vmxUnescaper = strings.NewReplacer("|7C", "|", "|22", `"`, "|0A", "\n")

// scsiVirtualDev maps controller types to the vmx's scsiN.virtualDev.
var scsiVirtualDev = map[string]string{
	"VirtualLsiLogicController":    "lsilogic",
	"VirtualLsiLogicSASController": "lsisas1068",
	"ParaVirtualSCSIController":    "pvscsi",
	"VirtualBusLogicController":    "buslogic",
}

// writeVmx writes the VM's identity, controllers, disks and extraConfig
// to its .vmx in VMware's key = "value" format.
func (vm *VirtualMachine) writeVmx() {
	if vm.Config == nil || vm.Runtime.Host == nil {
		return
	}
	dc := vm.dcRef()
	_, local, fault := resolveDsPath(dc, vm.Config.Files.VmPathName)
	if fault != nil || !strings.HasSuffix(local, ".vmx") {
		return
	}
	var b strings.Builder
	put := func(k, v string) { fmt.Fprintf(&b, "%s = \"%s\"\n", k, vmxEscaper.Replace(v)) }
	put(".encoding", "UTF-8")
	put("config.version", "8")
	put("virtualHW.version", strings.TrimPrefix(vm.Config.Version, "vmx-"))
	put("displayName", vm.Name)
	put("guestOS", vm.Config.GuestId)
	put("memSize", strconv.Itoa(int(vm.Config.Hardware.MemoryMB)))
	put("numvcpus", strconv.Itoa(int(vm.Config.Hardware.NumCPU)))
	put("uuid.bios", vm.Config.Uuid)
	put("vc.uuid", vm.Config.InstanceUuid)
	put("annotation", vm.Config.Annotation)
	put("nvram", vm.Name+".nvram")
	if vm.Config.Template {
		put("templateVM", "TRUE")
	}
	if m := vm.Config.ManagedBy; m != nil {
		put("managedBy.extensionKey", m.ExtensionKey)
		put("managedBy.type", m.Type)
	}
	vm.writeVmxDevices(put, dc)
	for _, o := range vm.Config.ExtraConfig {
		v := o.GetOptionValue()
		put(v.Key, fmt.Sprint(v.Value))
	}
	_ = ioutil.WriteFile(local, []byte(b.String()), 0o600)
	vm.writeVmsd() // virtual_machine_vmsd_ext.go
}

// writeVmxDevices writes SCSI controllers and the disks on SCSI/IDE.
func (vm *VirtualMachine) writeVmxDevices(put func(k, v string), dc *types.ManagedObjectReference) {
	devices := object.VirtualDeviceList(vm.Config.Hardware.Device)
	prefix := map[int32]string{}
	for _, d := range devices {
		switch c := d.(type) {
		case types.BaseVirtualSCSIController:
			sc := c.GetVirtualSCSIController()
			p := fmt.Sprintf("scsi%d", sc.BusNumber)
			prefix[sc.Key] = p
			put(p+".present", "TRUE")
			put(p+".virtualDev", scsiVirtualDev[reflect.TypeOf(d).Elem().Name()])
			put(p+".sharedBus", strings.TrimSuffix(string(sc.SharedBus), "Sharing"))
		case *types.VirtualIDEController:
			prefix[c.Key] = fmt.Sprintf("ide%d", c.BusNumber)
		}
	}
	home, _ := parseDatastorePath(vm.Config.Files.VmPathName)
	for _, d := range devices {
		disk, b := diskAndBacking(d)
		if b == nil || disk.UnitNumber == nil {
			continue
		}
		p, ok := prefix[disk.ControllerKey]
		if !ok {
			continue
		}
		p = fmt.Sprintf("%s:%d", p, *disk.UnitNumber)
		put(p+".present", "TRUE")
		put(p+".fileName", vmxDiskName(home, b.FileName))
		put(p+".mode", b.DiskMode)
		if strings.HasPrefix(p, "scsi") {
			put(p+".deviceType", "scsi-hardDisk")
		}
	}
}

// vmxDiskName is relative when the disk sits beside the .vmx, else the
// ESXi absolute path /vmfs/volumes/DS/PATH.
func vmxDiskName(home *object.DatastorePath, file string) string {
	p, fault := parseDatastorePath(file)
	if fault != nil {
		return file
	}
	if p.Datastore == home.Datastore && path.Dir(p.Path) == path.Dir(home.Path) {
		return path.Base(p.Path)
	}
	return "/vmfs/volumes/" + p.Datastore + "/" + p.Path
}

// readVmx parses a .vmx into an ordered key list and a map.
func readVmx(local string) ([]string, map[string]string) {
	f, err := os.Open(local)
	if err != nil {
		return nil, nil
	}
	defer f.Close()
	var keys []string
	vals := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		i := strings.Index(line, "=")
		if i < 0 || strings.HasPrefix(line, "#") {
			continue
		}
		k := strings.TrimSpace(line[:i])
		v := strings.Trim(strings.TrimSpace(line[i+1:]), `"`)
		if _, ok := vals[k]; !ok {
			keys = append(keys, k)
		}
		vals[k] = vmxUnescaper.Replace(v)
	}
	return keys, vals
}

// prepareRegisterVM runs before RegisterVM creates the VM: the name
// defaults to the .vmx's displayName, and files vcsim insists on opening
// (nvram, vmware.log), which ESXi would recreate, are created if missing.
func prepareRegisterVM(folder *Folder, req *types.RegisterVM_Task) {
	dc := Map.getEntityDatacenter(folder)
	if dc == nil {
		return
	}
	_, local, fault := resolveDsPath(&dc.Self, req.Path)
	if fault != nil {
		return
	}
	_, vals := readVmx(local)
	if req.Name == "" && vals["displayName"] != "" {
		req.Name = vals["displayName"]
	}
	if req.Name == "" {
		return
	}
	for _, name := range []string{req.Name + ".nvram", "vmware.log"} {
		p := filepath.Join(filepath.Dir(local), name)
		if !fileExists(p) {
			if f, err := os.Create(p); err == nil {
				_ = f.Close()
			}
		}
	}
}

// registeredVM finishes RegisterVM: the VM gets back what its .vmx says
// (identity, controllers, disks with their delta chains, extraConfig).
func registeredVM(ctx *Context, req *types.RegisterVM_Task, result types.AnyType) (types.AnyType, types.BaseMethodFault) {
	ref, ok := result.(types.ManagedObjectReference)
	if !ok {
		return result, nil
	}
	vm := Map.Get(ref).(*VirtualMachine)
	dc := vm.dcRef()
	_, local, fault := resolveDsPath(dc, vm.Config.Files.VmPathName)
	if fault != nil {
		return result, nil
	}
	keys, vals := readVmx(local)
	if len(keys) == 0 {
		return result, nil
	}
	vm.applyVmxIdentity(keys, vals)
	if fault = vm.addVmxDevices(dc, vals); fault == nil {
		fault = vm.restoreVmsd(dc) // the snapshot tree
	}
	if fault != nil {
		// Unregister only: the files are the datastore's, not ours (as
		// vCenter, a failed registration never deletes disks).
		vm.unregisterVM(ctx, &types.UnregisterVM{This: vm.Self})
		return nil, fault
	}
	if req.AsTemplate || vals["templateVM"] == "TRUE" {
		vm.markTemplate(true, nil, nil)
	}
	vm.storageChanged()
	return result, nil
}

// vmxDeviceKey matches keys describing devices (handled separately).
func vmxDeviceKey(k string) bool {
	for _, p := range []string{"scsi", "ide", "sata", "nvme"} {
		if strings.HasPrefix(k, p) && len(k) > len(p) && k[len(p)] >= '0' && k[len(p)] <= '9' {
			return true
		}
	}
	return false
}

var vmxKnownKeys = map[string]bool{
	".encoding": true, "config.version": true, "virtualHW.version": true, "displayName": true,
	"guestOS": true, "memSize": true, "numvcpus": true, "uuid.bios": true, "vc.uuid": true,
	"annotation": true, "nvram": true, "templateVM": true, "managedBy.extensionKey": true,
	"managedBy.type": true, "govcsim": true,
}

func (vm *VirtualMachine) applyVmxIdentity(keys []string, vals map[string]string) {
	spec := types.VirtualMachineConfigSpec{
		GuestId:      vals["guestOS"],
		Uuid:         vals["uuid.bios"],
		InstanceUuid: vals["vc.uuid"],
		Annotation:   vals["annotation"],
	}
	if v := vals["virtualHW.version"]; v != "" {
		spec.Version = "vmx-" + v
	}
	if n, err := strconv.Atoi(vals["memSize"]); err == nil {
		spec.MemoryMB = int64(n)
	}
	if n, err := strconv.Atoi(vals["numvcpus"]); err == nil {
		spec.NumCPUs = int32(n)
	}
	vm.apply(&spec)
	if k := vals["managedBy.extensionKey"]; k != "" {
		vm.Config.ManagedBy = &types.ManagedByInfo{ExtensionKey: k, Type: vals["managedBy.type"]}
	}
	var extra []types.BaseOptionValue
	for _, k := range keys {
		if !vmxKnownKeys[k] && !vmxDeviceKey(k) {
			extra = append(extra, &types.OptionValue{Key: k, Value: vals[k]})
		}
	}
	vm.Config.ExtraConfig = mergeExtraConfig(vm.Config.ExtraConfig, extra)
	Map.Update(vm, []types.PropertyChange{{Name: "config", Val: vm.Config}, {Name: "summary.config", Val: vm.Summary.Config}})
}

// addVmxDevices adds the .vmx's SCSI controllers and disks (existing
// files, no charge: they are already on the datastore).
func (vm *VirtualMachine) addVmxDevices(dc *types.ManagedObjectReference, vals map[string]string) types.BaseMethodFault {
	devices := object.VirtualDeviceList(vm.Config.Hardware.Device)
	ctrl := map[string]int32{"ide0": 200, "ide1": 201}
	for bus := 0; bus < 4; bus++ {
		p := fmt.Sprintf("scsi%d", bus)
		if vals[p+".present"] != "TRUE" {
			continue
		}
		c, err := devices.CreateSCSIController(vmxControllerType(vals[p+".virtualDev"]))
		if err != nil {
			return &types.InvalidArgument{InvalidProperty: p + ".virtualDev"}
		}
		sc := c.(types.BaseVirtualSCSIController).GetVirtualSCSIController()
		sc.BusNumber = int32(bus)
		sc.Key = 1000 + int32(bus)
		sc.SharedBus = types.VirtualSCSISharing(vals[p+".sharedBus"] + "Sharing")
		if vals[p+".sharedBus"] == "" {
			sc.SharedBus = types.VirtualSCSISharingNoSharing
		}
		devices = append(devices, c)
		ctrl[p] = sc.Key
	}
	home, _ := parseDatastorePath(vm.Config.Files.VmPathName)
	for p, key := range ctrl {
		for unit := int32(0); unit < 16; unit++ {
			k := fmt.Sprintf("%s:%d", p, unit)
			if vals[k+".present"] != "TRUE" || vals[k+".fileName"] == "" {
				continue
			}
			disk, fault := vmxDisk(dc, home, vals[k+".fileName"], vals[k+".mode"], key, unit)
			if fault != nil {
				return fault
			}
			disk.Key = devices.NewKey()
			devices = append(devices, disk)
		}
	}
	Map.Update(vm, []types.PropertyChange{{Name: "config.hardware.device", Val: []types.BaseVirtualDevice(devices)}})
	return nil
}

func vmxControllerType(dev string) string {
	for t, d := range scsiVirtualDev {
		if d == dev {
			switch t {
			case "VirtualLsiLogicController":
				return "lsilogic"
			case "VirtualLsiLogicSASController":
				return "lsilogic-sas"
			case "ParaVirtualSCSIController":
				return "pvscsi"
			case "VirtualBusLogicController":
				return "buslogic"
			}
		}
	}
	return "lsilogic"
}

// vmxDisk builds a disk device from a .vmx fileName, reading the
// descriptor chain for capacity, provisioning, uuid and parents.
func vmxDisk(dc *types.ManagedObjectReference, home *object.DatastorePath, name, mode string, ctrl, unit int32) (*types.VirtualDisk, types.BaseMethodFault) {
	file := joinDsPath(home.Datastore, path.Join(path.Dir(home.Path), name))
	if strings.HasPrefix(name, "/vmfs/volumes/") {
		rest := strings.TrimPrefix(name, "/vmfs/volumes/")
		i := strings.Index(rest, "/")
		if i < 0 {
			return nil, &types.InvalidDatastorePath{DatastorePath: name}
		}
		file = joinDsPath(rest[:i], rest[i+1:])
	}
	chain, fault := openChain(dc, file)
	if fault != nil {
		return nil, fault
	}
	if mode == "" {
		mode = string(types.VirtualDiskModePersistent)
	}
	var backing *types.VirtualDiskFlatVer2BackingInfo
	for i := len(chain) - 1; i >= 0; i-- {
		df := chain[i]
		b := &types.VirtualDiskFlatVer2BackingInfo{
			VirtualDeviceFileBackingInfo: types.VirtualDeviceFileBackingInfo{FileName: df.dsPath, Datastore: &df.ds.Self},
			DiskMode:                     mode,
			Parent:                       backing,
			Split:                        types.NewBool(false),
			WriteThrough:                 types.NewBool(false),
			EagerlyScrub:                 types.NewBool(false),
			DigestEnabled:                types.NewBool(false),
		}
		if df.d != nil {
			b.ThinProvisioned = types.NewBool(df.d.Thin())
			b.Uuid = diskUUIDToRFC(df.d.UUID())
			if df.d.IsDelta() {
				b.DeltaDiskFormat = string(types.VirtualDiskDeltaDiskFormatRedoLogFormat)
			}
		}
		backing = b
	}
	var capacity int64
	if chain[0].d != nil {
		capacity = chain[0].d.Capacity()
	}
	u := unit
	return &types.VirtualDisk{
		VirtualDevice: types.VirtualDevice{
			Backing:       backing,
			ControllerKey: ctrl,
			UnitNumber:    &u,
			DeviceInfo:    &types.Description{Label: "Hard disk", Summary: fmt.Sprintf("%s KB", numberToString(capacity/1024, ','))},
		},
		CapacityInKB:    capacity / 1024,
		CapacityInBytes: capacity,
	}, nil
}
