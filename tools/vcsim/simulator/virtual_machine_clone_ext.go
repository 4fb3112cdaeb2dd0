package simulator

// CloneVM_Task on real disk files: linked clones (a delta over the source's
// snapshot file), full flattened copies and moveChildMostDiskBacking,
// placement, space checks and rollback of a half-made clone.
//
// Upstream's CloneVMTask is renamed away by
// patches/310-virtual_machine-clone-relocate-snapshot.patch so this one wins.

import (
	"fmt"
	"path"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator/esx"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

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
