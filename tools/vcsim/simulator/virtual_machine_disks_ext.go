package simulator

// The disk side of VirtualMachine device changes (ReconfigVM_Task,
// CreateVM_Task, Destroy_Task), on the real disk files of vmdk_disk.go.
// patches/*-virtual_machine-disks*.patch redirects govmomi's VirtualDisk
// cases of configureDevice/removeDevice here; govmomi's own code created
// empty files, charged thin disks as thick and charged again on every edit.
//
// Destroy_Task deletes (and refunds) the disks whose descriptor lives in
// the VM's folder or that were created with the VM (fileOperation=create);
// other attached disks (e.g. a volume attached from elsewhere) are left.

import (
	"fmt"
	"log"
	"os"
	"path"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

var vmDiskState = struct {
	sync.Mutex
	// editOld holds the device an edit replaces, between removeDevice and
	// configureDevice (govmomi edits as remove + add), by "vm/key".
	editOld map[string]*types.VirtualDisk
	// created records disks created by a VM's device changes, by VM.
	created map[string]map[string]bool
	// journal is the running configureDevices call's undo log, by VM.
	journal map[string]*diskJournal
}{editOld: map[string]*types.VirtualDisk{}, created: map[string]map[string]bool{}, journal: map[string]*diskJournal{}}

func diskEditKey(vm *VirtualMachine, key int32) string {
	return fmt.Sprintf("%s/%d", vm.Self.Value, key)
}

func mkdirAll(dir string) {
	_ = os.MkdirAll(dir, 0o700)
}

// vmDatacenterRef is the VM's datacenter, or nil when the VM is already
// detached from the inventory (lookups then search every datacenter).
func vmDatacenterRef(vm *VirtualMachine) (ref *types.ManagedObjectReference) {
	defer func() {
		if recover() != nil {
			ref = nil
		}
	}()
	if vm.Parent == nil || Map.Get(*vm.Parent) == nil {
		return nil
	}
	if dc := Map.getEntityDatacenter(vm); dc != nil {
		return &dc.Self
	}
	return nil
}

// vmDatastoreFor checks the disk's datastore is mounted on the VM's host,
// records it in vm.datastore and returns it.
func vmDatastoreFor(vm *VirtualMachine, dc *types.ManagedObjectReference, dsPath string) (*Datastore, types.BaseMethodFault) {
	ds, _, fault := resolveDsPath(dc, dsPath)
	if fault != nil {
		return nil, fault
	}
	if vm.Runtime.Host != nil {
		if host, ok := Map.Get(*vm.Runtime.Host).(*HostSystem); ok && FindReference(host.Datastore, ds.Self) == nil {
			return nil, &types.InvalidDatastore{Name: ds.Name, Datastore: &ds.Self}
		}
		vm.useDatastore(ds.Name)
	}
	return ds, nil
}

// descriptorAdapterForController maps the disk's controller to the
// ddb.adapterType ESXi writes.
func descriptorAdapterForController(devices object.VirtualDeviceList, key int32) string {
	switch devices.FindByKey(key).(type) {
	case *types.VirtualIDEController:
		return "ide"
	case *types.VirtualBusLogicController:
		return "buslogic"
	}
	return "lsilogic"
}

// configureDiskDevice handles a VirtualDisk added or edited by a device
// change: creates, attaches or extends its files.
func (vm *VirtualMachine) configureDiskDevice(devices object.VirtualDeviceList, spec *types.VirtualDeviceConfigSpec, disk *types.VirtualDisk, dcObj *Datacenter) types.BaseMethodFault {
	var dc *types.ManagedObjectReference
	if dcObj != nil {
		dc = &dcObj.Self
	}
	if disk.UnitNumber == nil {
		if c, ok := devices.FindByKey(disk.ControllerKey).(types.BaseVirtualController); ok {
			devices.AssignController(disk, c)
		}
	}
	fb, ok := disk.Backing.(types.BaseVirtualDeviceFileBackingInfo)
	if !ok {
		return vm.countDisk(spec, 1)
	}
	info := fb.GetVirtualDeviceFileBackingInfo()
	if spec.Operation == types.VirtualDeviceConfigSpecOperationEdit {
		return vm.editDisk(dc, disk, info)
	}
	var p object.DatastorePath
	p.FromString(info.FileName)
	if p.Path == "" {
		name, fault := vm.genVmdkPath(p)
		if fault != nil {
			return fault
		}
		info.FileName = name
	}
	ds, fault := vmDatastoreFor(vm, dc, info.FileName)
	if fault != nil {
		return fault
	}
	info.Datastore = &ds.Self
	flat, _ := disk.Backing.(*types.VirtualDiskFlatVer2BackingInfo)
	switch spec.FileOperation {
	case types.VirtualDeviceConfigSpecFileOperationCreate, types.VirtualDeviceConfigSpecFileOperationReplace:
		fault = vm.createDiskFiles(dc, devices, spec, disk, flat)
	default:
		fault = attachDiskFiles(dc, disk, flat)
	}
	if fault != nil {
		return fault
	}
	setDiskDefaults(disk, flat, nil)
	return vm.countDisk(spec, 1)
}

func (vm *VirtualMachine) countDisk(spec *types.VirtualDeviceConfigSpec, delta int32) types.BaseMethodFault {
	if spec.Operation == types.VirtualDeviceConfigSpecOperationEdit {
		return nil
	}
	Map.Update(vm, []types.PropertyChange{
		{Name: "summary.config.numVirtualDisks", Val: vm.Summary.Config.NumVirtualDisks + delta},
	})
	return nil
}

// createDiskFiles creates a new base disk for fileOperation create (or
// replace, which deletes an existing disk first) and charges it.
func (vm *VirtualMachine) createDiskFiles(dc *types.ManagedObjectReference, devices object.VirtualDeviceList, spec *types.VirtualDeviceConfigSpec, disk *types.VirtualDisk, flat *types.VirtualDiskFlatVer2BackingInfo) types.BaseMethodFault {
	info := disk.Backing.(types.BaseVirtualDeviceFileBackingInfo).GetVirtualDeviceFileBackingInfo()
	_, local, fault := resolveDsPath(dc, info.FileName)
	if fault != nil {
		return fault
	}
	if spec.FileOperation == types.VirtualDeviceConfigSpecFileOperationReplace && fileExists(local) {
		if fault = deleteDisk(info.FileName, dc); fault != nil {
			return fault
		}
	}
	mkdirAll(path.Dir(local)) // vSphere creates the VM's folder on a new disk's datastore
	thin, uuid := false, ""
	if flat != nil {
		thin = isTrue(flat.ThinProvisioned)
		uuid = flat.Uuid
		flat.Parent = nil
	}
	capacity := getDiskSize(disk)
	if capacity <= 0 {
		return &types.InvalidDeviceSpec{InvalidVmConfig: types.InvalidVmConfig{Property: "virtualDeviceSpec.device.capacityInKB"}}
	}
	d, fault := createBaseDiskDesc(info.FileName, dc, capacity, thin, descriptorAdapterForController(devices, disk.ControllerKey), uuid)
	if fault != nil {
		return fault
	}
	setDiskCapacity(disk, d.Capacity())
	if flat != nil {
		flat.Uuid = diskUUIDToRFC(d.UUID())
		flat.ThinProvisioned = types.NewBool(thin)
	}
	if j := vm.diskJournal(); j != nil {
		j.created = append(j.created, info.FileName)
	}
	vmDiskState.Lock()
	if vmDiskState.created[vm.Self.Value] == nil {
		vmDiskState.created[vm.Self.Value] = map[string]bool{}
	}
	vmDiskState.created[vm.Self.Value][info.FileName] = true
	vmDiskState.Unlock()
	return nil
}

// attachDiskFiles attaches an existing disk: it must exist, and capacity,
// provisioning, uuid and parent chain come from its descriptors.
func attachDiskFiles(dc *types.ManagedObjectReference, disk *types.VirtualDisk, flat *types.VirtualDiskFlatVer2BackingInfo) types.BaseMethodFault {
	info := disk.Backing.(types.BaseVirtualDeviceFileBackingInfo).GetVirtualDeviceFileBackingInfo()
	chain, fault := openChain(dc, info.FileName)
	if fault != nil {
		return fault
	}
	top := chain[0]
	if top.d == nil {
		return &types.FileNotFound{FileFault: types.FileFault{File: info.FileName}}
	}
	setDiskCapacity(disk, top.d.Capacity())
	if flat == nil {
		return nil
	}
	base := chain[len(chain)-1]
	flat.ThinProvisioned = types.NewBool(base.d != nil && base.d.Thin())
	flat.Uuid = diskUUIDToRFC(top.d.UUID())
	if flat.Parent == nil && len(chain) > 1 {
		flat.Parent = backingChain(chain[1:], flat)
	}
	if top.d.IsDelta() && flat.DeltaDiskFormat == "" {
		flat.DeltaDiskFormat = string(types.VirtualDiskDeltaDiskFormatRedoLogFormat)
	}
	return nil
}

// backingChain builds the Parent backings for the given (parent-first
// ordered from child's parent to the base) disks.
func backingChain(chain []*diskFile, like *types.VirtualDiskFlatVer2BackingInfo) *types.VirtualDiskFlatVer2BackingInfo {
	if len(chain) == 0 {
		return nil
	}
	df := chain[0]
	b := &types.VirtualDiskFlatVer2BackingInfo{
		VirtualDeviceFileBackingInfo: types.VirtualDeviceFileBackingInfo{FileName: df.dsPath, Datastore: &df.ds.Self},
		DiskMode:                     like.DiskMode,
		ThinProvisioned:              types.NewBool(df.d != nil && df.d.Thin()),
	}
	if df.d != nil {
		b.Uuid = diskUUIDToRFC(df.d.UUID())
		if df.d.IsDelta() {
			b.DeltaDiskFormat = string(types.VirtualDiskDeltaDiskFormatRedoLogFormat)
		}
	}
	b.Parent = backingChain(chain[1:], like)
	return b
}

func setDiskCapacity(disk *types.VirtualDisk, capacity int64) {
	disk.CapacityInBytes = capacity
	disk.CapacityInKB = capacity / 1024
}

// setDiskDefaults fills what vSphere reports for unset properties; old is
// the device an edit replaces (its values are kept where the edit has none).
func setDiskDefaults(disk *types.VirtualDisk, flat *types.VirtualDiskFlatVer2BackingInfo, old *types.VirtualDisk) {
	if disk.StorageIOAllocation == nil && old != nil {
		disk.StorageIOAllocation = old.StorageIOAllocation
	}
	if disk.StorageIOAllocation == nil {
		disk.StorageIOAllocation = &types.StorageIOAllocationInfo{}
	}
	io := disk.StorageIOAllocation
	if io.Limit == nil {
		io.Limit = types.NewInt64(-1)
	}
	if io.Reservation == nil {
		io.Reservation = types.NewInt32(0)
	}
	if io.Shares == nil {
		io.Shares = &types.SharesInfo{Level: types.SharesLevelNormal}
	}
	switch io.Shares.Level {
	case types.SharesLevelLow:
		io.Shares.Shares = 500
	case types.SharesLevelNormal, "":
		io.Shares.Level, io.Shares.Shares = types.SharesLevelNormal, 1000
	case types.SharesLevelHigh:
		io.Shares.Shares = 2000
	}
	if flat != nil {
		for _, prop := range []**bool{&flat.EagerlyScrub, &flat.ThinProvisioned, &flat.WriteThrough, &flat.Split, &flat.DigestEnabled} {
			if *prop == nil {
				*prop = types.NewBool(false)
			}
		}
	}
}

// editDisk applies an edit: a larger capacity extends the file (online
// extend) and charges; a smaller one is refused; other settings
// (storageIOAllocation, ...) are taken from the new device.
func (vm *VirtualMachine) editDisk(dc *types.ManagedObjectReference, disk *types.VirtualDisk, info *types.VirtualDeviceFileBackingInfo) types.BaseMethodFault {
	key := diskEditKey(vm, disk.Key)
	vmDiskState.Lock()
	old := vmDiskState.editOld[key]
	delete(vmDiskState.editOld, key)
	vmDiskState.Unlock()
	flat, _ := disk.Backing.(*types.VirtualDiskFlatVer2BackingInfo)
	if old == nil {
		setDiskDefaults(disk, flat, nil)
		return nil
	}
	oldCap := getDiskSize(old)
	newCap := oldCap
	switch {
	case disk.CapacityInBytes != 0 && disk.CapacityInBytes != old.CapacityInBytes:
		newCap = disk.CapacityInBytes
	case disk.CapacityInKB != 0 && disk.CapacityInKB*1024 != oldCap:
		newCap = disk.CapacityInKB * 1024
	}
	if newCap < oldCap {
		return &types.InvalidDeviceSpec{InvalidVmConfig: types.InvalidVmConfig{Property: "virtualDeviceSpec.device.capacityInKB"}}
	}
	if newCap > oldCap && info.FileName != "" {
		if fault := extendDisk(info.FileName, dc, newCap); fault != nil {
			return fault
		}
		if j := vm.diskJournal(); j != nil {
			if _, seen := j.extended[info.FileName]; !seen {
				j.extended[info.FileName] = oldCap
			}
		}
	}
	setDiskCapacity(disk, newCap)
	if ob, ok := old.Backing.(*types.VirtualDiskFlatVer2BackingInfo); ok && flat != nil {
		if flat.Uuid == "" {
			flat.Uuid = ob.Uuid
		}
		if flat.Parent == nil {
			flat.Parent = ob.Parent
		}
		if flat.Datastore == nil {
			flat.Datastore = ob.Datastore
		}
	}
	setDiskDefaults(disk, flat, old)
	return nil
}

// removeDiskDevice handles a VirtualDisk leaving the VM: with
// fileOperation=destroy its files (and its parents in the same folder that
// no other VM uses) are deleted and refunded; without, files are left.
func (vm *VirtualMachine) removeDiskDevice(spec *types.VirtualDeviceConfigSpec, stored types.BaseVirtualDevice) {
	disk, ok := stored.(*types.VirtualDisk) // the VM's own copy has the backing
	if !ok {
		if disk, ok = spec.Device.(*types.VirtualDisk); !ok {
			return
		}
	}
	if spec.Operation == types.VirtualDeviceConfigSpecOperationEdit {
		vmDiskState.Lock()
		vmDiskState.editOld[diskEditKey(vm, disk.Key)] = disk
		vmDiskState.Unlock()
		return
	}
	_ = vm.countDisk(spec, -1)
	fb, ok := disk.Backing.(types.BaseVirtualDeviceFileBackingInfo)
	if !ok || spec.FileOperation != types.VirtualDeviceConfigSpecFileOperationDestroy {
		return
	}
	vm.destroyDiskFiles(vmDatacenterRef(vm), fb.GetVirtualDeviceFileBackingInfo().FileName)
}

func (vm *VirtualMachine) destroyDiskFiles(dc *types.ManagedObjectReference, name string) {
	chain, fault := openChain(dc, name)
	if fault != nil {
		log.Printf("%s: destroy disk %s: %#v", vm.Self, name, fault)
		return
	}
	top, _ := parseDatastorePath(name)
	for i, df := range chain {
		if i > 0 {
			p, _ := parseDatastorePath(df.dsPath)
			if p == nil || top == nil || p.Datastore != top.Datastore || path.Dir(p.Path) != path.Dir(top.Path) || diskUsedByOtherVM(vm, df.dsPath) {
				break
			}
		}
		if fault := deleteDisk(df.dsPath, dc); fault != nil {
			log.Printf("%s: destroy disk %s: %#v", vm.Self, df.dsPath, fault)
		}
	}
	vmDiskState.Lock()
	delete(vmDiskState.created[vm.Self.Value], name)
	vmDiskState.Unlock()
}

// diskFileOpenElsewhere: vm is powered on and another powered-on VM's disk
// chain holds file open (ESXi's lock).
func diskFileOpenElsewhere(vm *VirtualMachine, file string) bool {
	if vm.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOn {
		return false
	}
	for _, e := range Map.All("VirtualMachine") {
		other, ok := e.(*VirtualMachine)
		if !ok || other.Self == vm.Self || other.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOn {
			continue
		}
		if other.diskFileInUse(file) {
			return true
		}
	}
	return false
}

// diskUsedByOtherVM reports whether another VM's disk chain uses dsPath
// (a linked clone's parent must survive the clone's destruction).
func diskUsedByOtherVM(vm *VirtualMachine, dsPath string) bool {
	for _, e := range Map.All("VirtualMachine") {
		other, ok := e.(*VirtualMachine)
		if !ok || other.Self == vm.Self || other.Config == nil {
			continue
		}
		for _, d := range object.VirtualDeviceList(other.Config.Hardware.Device).SelectByType((*types.VirtualDisk)(nil)) {
			b, _ := d.(*types.VirtualDisk).Backing.(*types.VirtualDiskFlatVer2BackingInfo)
			for ; b != nil; b = b.Parent {
				if b.FileName == dsPath {
					return true
				}
			}
		}
	}
	return false
}

// markDisksForDestroy sets fileOperation=destroy on the removal specs of
// the disks Destroy_Task deletes: as vCenter, every attached disk, wherever
// its files are (DestroyTask keeps those another VM's chain still uses).
func (vm *VirtualMachine) markDisksForDestroy(specs []types.BaseVirtualDeviceConfigSpec) {
	vmDiskState.Lock()
	delete(vmDiskState.created, vm.Self.Value)
	vmDiskState.Unlock()
	for _, s := range specs {
		spec := s.GetVirtualDeviceConfigSpec()
		disk, ok := spec.Device.(*types.VirtualDisk)
		if !ok {
			continue
		}
		fb, ok := disk.Backing.(types.BaseVirtualDeviceFileBackingInfo)
		if !ok {
			continue
		}
		spec.FileOperation = ""
		if fb.GetVirtualDeviceFileBackingInfo().FileName != "" {
			spec.FileOperation = types.VirtualDeviceConfigSpecFileOperationDestroy
		}
	}
}

// checkDeviceChanges refuses, before anything changes, what vCenter
// refuses: removing a device the VM does not have (InvalidDeviceSpec), and
// attaching a disk file the VM already has (InvalidDeviceSpec), or, to a
// powered-on VM, one a powered-on VM's disk chain holds open (FileLocked)
// unless the new disk is multi-writer. A powered-off VM's disk may be
// attached elsewhere, as vCenter allows (Nova attaches a Cinder volume's
// disk to its instance while the volume's backing VM keeps it).
func (vm *VirtualMachine) checkDeviceChanges(spec *types.VirtualMachineConfigSpec) types.BaseMethodFault {
	keys := map[int32]bool{}
	files := map[string]bool{} // top files of the VM's disks as the spec goes
	fileOfKey := map[int32]string{}
	if vm.Config != nil {
		for _, d := range vm.Config.Hardware.Device {
			key := d.GetVirtualDevice().Key
			keys[key] = true
			if _, b := diskAndBacking(d); b != nil && b.FileName != "" {
				files[b.FileName] = true
				fileOfKey[key] = b.FileName
			}
		}
	}
	for i, change := range spec.DeviceChange {
		dspec := change.GetVirtualDeviceConfigSpec()
		if dspec == nil || dspec.Device == nil {
			continue
		}
		device := dspec.Device.GetVirtualDevice()
		invalid := &types.InvalidDeviceSpec{DeviceIndex: int32(i), InvalidVmConfig: types.InvalidVmConfig{Property: "virtualDeviceSpec.device"}}
		switch dspec.Operation {
		case types.VirtualDeviceConfigSpecOperationRemove:
			if !keys[device.Key] {
				return invalid
			}
			delete(keys, device.Key)
			delete(files, fileOfKey[device.Key])
		case types.VirtualDeviceConfigSpecOperationAdd:
			keys[device.Key] = true
			_, b := diskAndBacking(dspec.Device)
			if b == nil || b.FileName == "" || dspec.FileOperation != "" {
				continue
			}
			if files[b.FileName] {
				return invalid
			}
			if b.Sharing != string(types.VirtualDiskSharingSharingMultiWriter) && diskFileOpenElsewhere(vm, b.FileName) {
				return &types.FileLocked{FileFault: types.FileFault{File: b.FileName}}
			}
			files[b.FileName] = true
			fileOfKey[device.Key] = b.FileName
		}
	}
	return nil
}

// diskJournal records the disk files one configureDevices call created or
// grew, so a failed reconfiguration can be undone as vSphere does.
type diskJournal struct {
	dc       *types.ManagedObjectReference
	created  []string
	extended map[string]int64 // dsPath -> capacity before
}

func (vm *VirtualMachine) diskJournal() *diskJournal {
	vmDiskState.Lock()
	defer vmDiskState.Unlock()
	return vmDiskState.journal[vm.Self.Value]
}

// configureDevices wraps govmomi's (renamed configureDevicesUpstream by
// the virtual_machine disks patch): on failure the disks it created are
// deleted, the ones it extended shrunk back, and the devices and
// numVirtualDisks restored.
func (vm *VirtualMachine) configureDevices(spec *types.VirtualMachineConfigSpec) types.BaseMethodFault {
	if fault := vm.checkDeviceChanges(spec); fault != nil {
		return fault
	}
	j := &diskJournal{dc: vmDatacenterRef(vm), extended: map[string]int64{}}
	vmDiskState.Lock()
	outer := vmDiskState.journal[vm.Self.Value]
	vmDiskState.journal[vm.Self.Value] = j
	vmDiskState.Unlock()
	numDisks := vm.Summary.Config.NumVirtualDisks
	// Upstream edits the device slice in place (it shares the array), so a
	// failed call would leave half-applied devices behind: keep a copy.
	var saved []types.BaseVirtualDevice
	if vm.Config != nil && vm.Config.Hardware.Device != nil {
		saved = append(saved, vm.Config.Hardware.Device...)
	}

	fault := vm.configureDevicesUpstream(spec)

	vmDiskState.Lock()
	vmDiskState.journal[vm.Self.Value] = outer
	if fault != nil {
		for k := range vmDiskState.editOld {
			if strings.HasPrefix(k, vm.Self.Value+"/") {
				delete(vmDiskState.editOld, k)
			}
		}
	}
	vmDiskState.Unlock()
	if fault != nil {
		j.undo()
		Map.Update(vm, []types.PropertyChange{
			{Name: "summary.config.numVirtualDisks", Val: numDisks},
			{Name: "config.hardware.device", Val: saved},
		})
	}
	return fault
}

func (j *diskJournal) undo() {
	for i := len(j.created) - 1; i >= 0; i-- {
		_ = deleteDisk(j.created[i], j.dc)
	}
	for name, capacity := range j.extended {
		_ = shrinkDisk(name, j.dc, capacity)
	}
}

// updateStorage replaces govmomi's (renamed updateStorageUpstream by the
// virtual_machine disks patch), which summed per-datastore figures wrongly
// (each file overwrote the last), counted thin extents at their full
// apparent size and never dropped the files of removed disks. Here:
// layoutEx keeps only current disk files, an extent's size is what it
// occupies (allocated blocks for thin and delta extents, the capacity for
// thick), and per datastore committed = all files, unshared = disk files,
// uncommitted = what thin/delta disks may still grow.
func (vm *VirtualMachine) updateStorage() types.BaseMethodFault {
	if vm.LayoutEx == nil || vm.Config == nil {
		return nil
	}
	dc := vmDatacenterRef(vm)
	current := map[string]bool{}
	type growth struct {
		ds       string
		capacity int64
		files    []string
	}
	var growing []growth
	for _, dev := range object.VirtualDeviceList(vm.Config.Hardware.Device).SelectByType((*types.VirtualDisk)(nil)) {
		disk := dev.(*types.VirtualDisk)
		b, ok := disk.Backing.(*types.VirtualDiskFlatVer2BackingInfo)
		if !ok {
			continue
		}
		g := growth{capacity: getDiskSize(disk)}
		thin := false
		for ; b != nil; b = b.Parent {
			for _, name := range vdmNames(b.FileName) {
				current[name] = true
				g.files = append(g.files, name)
			}
			thin = thin || isTrue(b.ThinProvisioned) || b.Parent != nil
		}
		if p, fault := parseDatastorePath(g.files[0]); fault == nil && thin {
			g.ds = p.Datastore
			growing = append(growing, g)
		}
	}

	files := vm.LayoutEx.File[:0]
	size := map[string]int64{}
	for _, f := range vm.LayoutEx.File {
		isDisk := f.Type == string(types.VirtualMachineFileLayoutExFileTypeDiskDescriptor) ||
			f.Type == string(types.VirtualMachineFileLayoutExFileTypeDiskExtent)
		if isDisk && !current[f.Name] {
			continue
		}
		if isDisk {
			f.Size = diskFileCommitted(dc, f.Name, f.Size)
			f.UniqueSize = f.Size
		}
		size[f.Name] = f.Size
		files = append(files, f)
	}
	vm.LayoutEx.File = files

	vmDir := vmFolderDsPath(vm)
	usage := map[string]*types.VirtualMachineUsageOnDatastore{}
	var order []string
	use := func(name string) *types.VirtualMachineUsageOnDatastore {
		if u, ok := usage[name]; ok {
			return u
		}
		ds, fault := lookupDatastore(dc, name)
		if fault != nil {
			return nil
		}
		u := &types.VirtualMachineUsageOnDatastore{Datastore: ds.Self}
		usage[name] = u
		order = append(order, name)
		return u
	}
	for _, f := range vm.LayoutEx.File {
		p, fault := parseDatastorePath(f.Name)
		if fault != nil {
			continue
		}
		if u := use(p.Datastore); u != nil {
			u.Committed += f.Size
			// A disk file outside the VM's folder is a linked clone's
			// parent (or a volume) and may be shared with other VMs.
			if !current[f.Name] || dsPathDir(f.Name) == vmDir {
				u.Unshared += f.Size
			}
		}
	}
	for _, g := range growing {
		var used int64
		for _, name := range g.files {
			used += size[name]
		}
		if u := use(g.ds); u != nil && g.capacity > used {
			u.Uncommitted += g.capacity - used
		}
	}

	now := time.Now()
	summary := &types.VirtualMachineStorageSummary{Timestamp: now}
	var per []types.VirtualMachineUsageOnDatastore
	for _, name := range order {
		u := usage[name]
		per = append(per, *u)
		summary.Committed += u.Committed
		summary.Uncommitted += u.Uncommitted
		summary.Unshared += u.Unshared
	}
	vm.Storage = &types.VirtualMachineStorageInfo{PerDatastoreUsage: per, Timestamp: now}
	vm.Summary.Storage = summary
	vm.LayoutEx.Timestamp = now
	Map.Update(vm, []types.PropertyChange{
		{Name: "layoutEx", Val: vm.LayoutEx},
		{Name: "storage", Val: vm.Storage},
		{Name: "summary.storage", Val: vm.Summary.Storage},
	})
	return nil
}

// diskFileCommitted is the space a disk file occupies: allocated blocks
// for a thin or delta extent, the apparent size otherwise.
func diskFileCommitted(dc *types.ManagedObjectReference, dsPath string, fallback int64) int64 {
	_, local, fault := resolveDsPath(dc, dsPath)
	if fault != nil {
		return fallback
	}
	st, err := os.Stat(local)
	if err != nil {
		return 0
	}
	size := st.Size()
	sparse := strings.HasSuffix(local, "-delta.vmdk")
	if strings.HasSuffix(local, "-flat.vmdk") {
		if d, err := readDescriptor(strings.TrimSuffix(local, "-flat.vmdk") + ".vmdk"); err == nil && d.Thin() {
			sparse = true
		}
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && sparse {
		if alloc := sys.Blocks * 512; alloc < size {
			return alloc
		}
	}
	return size
}

// vmFolderDsPath is "[ds] folder" of the VM's .vmx ("" when unknown).
func vmFolderDsPath(vm *VirtualMachine) string {
	p, fault := parseDatastorePath(vm.Config.Files.VmPathName)
	if fault != nil {
		return ""
	}
	if path.Ext(p.Path) != ".vmx" {
		return joinDsPath(p.Datastore, p.Path)
	}
	return joinDsPath(p.Datastore, path.Dir(p.Path))
}

// RefreshStorageInfo replaces govmomi's (renamed by the virtual_machine
// disks patch), which stat'ed "[ds] path" strings (so dropped every file)
// and re-added folder files without their folder ("[ds] name.vmx").
func (vm *VirtualMachine) RefreshStorageInfo(ctx *Context, req *types.RefreshStorageInfo) soap.HasFault {
	body := new(methods.RefreshStorageInfoBody)
	if vm.Runtime.Host == nil || vm.LayoutEx == nil {
		return body // VM not fully created
	}
	dc := vmDatacenterRef(vm)
	kept := vm.LayoutEx.File[:0]
	for _, f := range vm.LayoutEx.File {
		if _, local, fault := resolveDsPath(dc, f.Name); fault == nil && fileExists(local) {
			kept = append(kept, f)
		}
	}
	vm.LayoutEx.File = kept
	seen := map[string]bool{}
	for _, dir := range []string{vmFolderDsPath(vm), vm.Config.Files.SnapshotDirectory,
		vm.Config.Files.LogDirectory, vm.Config.Files.SuspendDirectory} {
		if dir == "" || seen[dir] {
			continue
		}
		seen[dir] = true
		p, fault := parseDatastorePath(dir)
		if fault != nil {
			continue
		}
		_, local, fault := resolveDsPath(dc, dir)
		if fault != nil {
			continue
		}
		entries, err := os.ReadDir(local)
		if err != nil {
			continue
		}
		for _, e := range entries {
			info, err := e.Info()
			if err != nil || e.IsDir() || strings.HasSuffix(e.Name(), ".tmp-desc") {
				continue
			}
			vm.addFileLayoutEx(object.DatastorePath{Datastore: p.Datastore, Path: path.Join(p.Path, e.Name())}, info.Size())
		}
	}
	if fault := vm.updateDiskLayouts(); fault != nil {
		body.Fault_ = Fault("", fault)
		return body
	}
	body.Res = new(types.RefreshStorageInfoResponse)
	return body
}

// syncAttachedDiskCapacity shows an extended disk's new size on every VM
// it is attached to (top of the disk chain), as vCenter does after
// VirtualDiskManager.ExtendVirtualDisk_Task.
func syncAttachedDiskCapacity(dsPath string, capacity int64) {
	for _, e := range Map.All("VirtualMachine") {
		vm, ok := e.(*VirtualMachine)
		if !ok {
			continue
		}
		Map.WithLock(vm, func() {
			if vm.Config == nil {
				return
			}
			changed := false
			for _, d := range object.VirtualDeviceList(vm.Config.Hardware.Device).SelectByType((*types.VirtualDisk)(nil)) {
				disk := d.(*types.VirtualDisk)
				if b, ok := disk.Backing.(*types.VirtualDiskFlatVer2BackingInfo); ok && b.FileName == dsPath {
					setDiskCapacity(disk, capacity)
					changed = true
				}
			}
			if changed {
				Map.Update(vm, []types.PropertyChange{{Name: "config.hardware.device", Val: vm.Config.Hardware.Device}})
			}
		})
	}
}
