package simulator

// Datastore extensions: typed datastore construction, one host mount per
// mounting host (vcsim 0.24.2 keeps only the last one), capacity figures
// that come from the inventory rather than statfs, renames and datastore
// maintenance mode.

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/google/uuid"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// topologyDatastoreRoot is where datastores created at run time (for
// example by CreateNasDatastore) get their local directory:
// <root>/<datastore name>/. Set by LoadTopology.
var topologyDatastoreRoot string

// defaultDatastoreCapacity is what a datastore created at run time reports
// (capacity and free space), since nothing reads statfs.
const defaultDatastoreCapacity = int64(1) << 40

// datastoreTypes are the summary.type values a datastore may have.
var datastoreTypes = map[string]bool{
	"VMFS": true, "NFS": true, "NFS41": true, "vsan": true, "VVOL": true, "OTHER": true,
}

// newTypedDatastore builds an unregistered Datastore of the given
// summary.type whose files live in dir, with the matching info type.
func newTypedDatastore(name, kind, dir string, capacity int64) *Datastore {
	ds := &Datastore{}
	ds.Name = name
	ds.Info = newDatastoreInfo(name, kind, dir, capacity)
	ds.Summary = types.DatastoreSummary{
		Name:               name,
		Url:                dir,
		Capacity:           capacity,
		FreeSpace:          capacity,
		Accessible:         true,
		MultipleHostAccess: types.NewBool(false),
		Type:               kind,
		MaintenanceMode:    string(types.DatastoreSummaryMaintenanceModeStateNormal),
	}
	ds.Capability = types.DatastoreCapability{
		DirectoryHierarchySupported:      true,
		RawDiskMappingsSupported:         kind == "VMFS",
		PerFileThinProvisioningSupported: true,
		StorageIORMSupported:             types.NewBool(kind != "vsan"),
		NativeSnapshotSupported:          types.NewBool(kind == "VVOL"),
		TopLevelDirectoryCreateSupported: types.NewBool(kind != "vsan" && kind != "VVOL"),
		SeSparseSupported:                types.NewBool(kind == "VMFS"),
	}
	ds.IormConfiguration = defaultIORMInfo()
	return ds
}

// newDatastoreInfo returns the DatastoreInfo subtype vSphere uses for kind.
func newDatastoreInfo(name, kind, dir string, capacity int64) types.BaseDatastoreInfo {
	now := time.Now()
	base := types.DatastoreInfo{
		Name:                   name,
		Url:                    dir,
		FreeSpace:              capacity,
		MaxFileSize:            capacity,
		MaxVirtualDiskCapacity: capacity,
		MaxMemoryFileSize:      capacity,
		Timestamp:              &now,
		ContainerId:            uuid.NewSHA1(uuid.NameSpaceURL, []byte(dir)).String(),
	}
	volume := types.HostFileSystemVolume{Type: kind, Name: name, Capacity: capacity}
	switch kind {
	case "VMFS":
		return &types.VmfsDatastoreInfo{DatastoreInfo: base, Vmfs: &types.HostVmfsVolume{
			HostFileSystemVolume: volume, BlockSizeMb: 1, MaxBlocks: 63963136,
			MajorVersion: 6, Version: "6.82", Uuid: base.ContainerId, Local: types.NewBool(false),
		}}
	case "NFS", "NFS41":
		return &types.NasDatastoreInfo{DatastoreInfo: base, Nas: &types.HostNasVolume{
			HostFileSystemVolume: volume, RemoteHost: "nfs.example.com", RemotePath: "/exports/" + name,
		}}
	case "vsan":
		return &types.VsanDatastoreInfo{DatastoreInfo: base, MembershipUuid: base.ContainerId}
	case "VVOL":
		return &types.VvolDatastoreInfo{DatastoreInfo: base, VvolDS: &types.HostVvolVolume{
			HostFileSystemVolume: volume, ScId: base.ContainerId,
		}}
	default:
		return &types.LocalDatastoreInfo{DatastoreInfo: base, Path: dir}
	}
}

// registerDatastore puts ds into a datastore folder, with a browser of its
// own (the browser finds datastores by name in its datastore list).
func registerDatastore(ctx *Context, folder *mo.Folder, ds *Datastore) {
	folderPutChild(ctx, folder, ds)
	ds.Summary.Datastore = &ds.Self
	browser := &HostDatastoreBrowser{}
	browser.Datastore = []types.ManagedObjectReference{ds.Self}
	ds.Browser = Map.Put(browser).Reference()
}

// datastoreDir creates (if needed) and returns <root>/<name>.
func topologyDatastoreDir(name string) (string, error) {
	if topologyDatastoreRoot == "" {
		return "", fmt.Errorf("no datastore root configured")
	}
	dir := filepath.Join(topologyDatastoreRoot, name)
	return dir, os.MkdirAll(dir, 0o755)
}

// findMount returns the index of host's mount in ds.Host, or -1.
func (ds *Datastore) findMount(host types.ManagedObjectReference) int {
	for i := range ds.Host {
		if ds.Host[i].Key == host {
			return i
		}
	}
	return -1
}

// mountOn records a mount of ds on host and lists ds in the host's, its
// datastore system's and its compute resource's datastore properties.
func (ds *Datastore) mountOn(host *HostSystem, info types.HostMountInfo) {
	if info.Path == "" {
		info.Path = ds.Info.GetDatastoreInfo().Url
	}
	mounts := append([]types.DatastoreHostMount(nil), ds.Host...)
	if i := ds.findMount(host.Self); i >= 0 {
		mounts[i].MountInfo = info
	} else {
		mounts = append(mounts, types.DatastoreHostMount{Key: host.Self, MountInfo: info})
	}
	ds.publishMounts(mounts)
	addRefToList(host, &host.Datastore, "datastore", ds.Self)
	if hds, ok := Map.Get(*host.ConfigManager.DatastoreSystem).(*HostDatastoreSystem); ok {
		addRefToList(hds, &hds.Datastore, "datastore", ds.Self)
	}
	if cr := hostParent(&host.HostSystem); cr != nil {
		addRefToList(Map.Get(cr.Self), &cr.Datastore, "datastore", ds.Self)
	}
}

// unmountFrom removes host's mount of ds; when no mount remains the
// datastore is removed from the inventory, as vCenter does for NAS
// datastores unmounted from their last host.
func (ds *Datastore) unmountFrom(ctx *Context, host *HostSystem) {
	mounts := append([]types.DatastoreHostMount(nil), ds.Host...)
	if i := ds.findMount(host.Self); i >= 0 {
		mounts = append(mounts[:i], mounts[i+1:]...)
	}
	ds.publishMounts(mounts)
	removeRefFromList(host, &host.Datastore, "datastore", ds.Self)
	if hds, ok := Map.Get(*host.ConfigManager.DatastoreSystem).(*HostDatastoreSystem); ok {
		removeRefFromList(hds, &hds.Datastore, "datastore", ds.Self)
	}
	if cr := hostParent(&host.HostSystem); cr != nil && !ds.mountedOnAny(cr.Host) {
		removeRefFromList(Map.Get(cr.Self), &cr.Datastore, "datastore", ds.Self)
	}
	if len(mounts) == 0 {
		ds.removeFromInventory(ctx)
	}
}

// publishMounts sets the host mounts and summary.multipleHostAccess.
// (Pointer-valued properties are set here and published whole: the
// registry cannot assign a bool into a *bool by property path.)
func (ds *Datastore) publishMounts(mounts []types.DatastoreHostMount) {
	ds.Summary.MultipleHostAccess = types.NewBool(len(mounts) > 1)
	Map.Update(ds, []types.PropertyChange{
		{Name: "host", Val: mounts},
		{Name: "summary", Val: ds.Summary},
	})
}

// mountedOnAny tells whether ds is mounted on one of hosts.
func (ds *Datastore) mountedOnAny(hosts []types.ManagedObjectReference) bool {
	for _, h := range hosts {
		if ds.findMount(h) >= 0 {
			return true
		}
	}
	return false
}

// removeFromInventory drops ds from its folder (and so its datacenter)
// and removes its browser. Its files are left alone, as on a real NAS.
func (ds *Datastore) removeFromInventory(ctx *Context) {
	if folder, ok := asFolderMO(Map.Get(*ds.Parent)); ok {
		folderRemoveChild(ctx, folder, ds.Self)
	}
	Map.Remove(ds.Browser)
}

// addRefToList appends ref to a MOR list property (named name) and publishes it.
func addRefToList(obj mo.Reference, field *[]types.ManagedObjectReference, name string, ref types.ManagedObjectReference) {
	if FindReference(*field, ref) != nil {
		return
	}
	list := append(append([]types.ManagedObjectReference(nil), *field...), ref)
	Map.Update(obj, []types.PropertyChange{{Name: name, Val: list}})
}

// removeRefFromList removes ref from a MOR list property and publishes it.
func removeRefFromList(obj mo.Reference, field *[]types.ManagedObjectReference, name string, ref types.ManagedObjectReference) {
	var list []types.ManagedObjectReference
	for _, r := range *field {
		if r != ref {
			list = append(list, r)
		}
	}
	Map.Update(obj, []types.PropertyChange{{Name: name, Val: list}})
}

// setSpace publishes the datastore's capacity figures (bytes); info
// mirrors freeSpace, and the per-file limits follow the free space.
func (ds *Datastore) setSpace(capacity, free, uncommitted int64) {
	info := ds.Info.GetDatastoreInfo()
	info.FreeSpace = free
	info.MaxFileSize = free
	info.MaxMemoryFileSize = free
	info.MaxVirtualDiskCapacity = capacity
	ds.Summary.Capacity, ds.Summary.FreeSpace, ds.Summary.Uncommitted = capacity, free, uncommitted
	Map.Update(ds, []types.PropertyChange{
		{Name: "summary", Val: ds.Summary},
		{Name: "info", Val: ds.Info},
	})
}

// stat refreshes info from the summary figures: the simulator's space
// accounting lives in the inventory, never in the host file system
// (os_unix.go's statfs-based stat is renamed away by a patch).
func (ds *Datastore) stat() error {
	info := ds.Info.GetDatastoreInfo()
	if _, err := os.Stat(info.Url); err != nil {
		return err
	}
	info.FreeSpace = ds.Summary.FreeSpace
	return nil
}

// DestroyTask removes the datastore (Destroy_Task): refused with
// ResourceInUse while VMs have files there, otherwise it is unmounted from
// every host, which takes it out of the inventory. vcsim's version (renamed
// away by patches/*-datastore-*) left it in the host datastore systems'
// lists and kept its browser.
func (ds *Datastore) DestroyTask(ctx *Context, req *types.Destroy_Task) soap.HasFault {
	task := CreateTask(ds, "destroy", func(*Task) (types.AnyType, types.BaseMethodFault) {
		if len(ds.Vm) != 0 {
			return nil, &types.ResourceInUse{Type: ds.Self.Type, Name: ds.Name}
		}
		for _, mount := range append([]types.DatastoreHostMount(nil), ds.Host...) {
			if host, ok := Map.Get(mount.Key).(*HostSystem); ok {
				ds.unmountFrom(ctx, host)
			}
		}
		if Map.Get(ds.Self) != nil {
			ds.removeFromInventory(ctx)
		}
		return nil, nil
	})
	return &methods.Destroy_TaskBody{Res: &types.Destroy_TaskResponse{Returnval: task.Run()}}
}

// RenameTask renames the datastore (Rename_Task). Its files stay where
// they are: info.url does not depend on the name, as on vSphere.
func (ds *Datastore) RenameTask(ctx *Context, req *types.Rename_Task) soap.HasFault {
	task := CreateTask(ds, "rename", func(*Task) (types.AnyType, types.BaseMethodFault) {
		return nil, ds.rename(req.NewName)
	})
	return &methods.Rename_TaskBody{Res: &types.Rename_TaskResponse{Returnval: task.Run()}}
}

// RenameDatastore is the older, synchronous rename method.
func (ds *Datastore) RenameDatastore(ctx *Context, req *types.RenameDatastore) soap.HasFault {
	body := &methods.RenameDatastoreBody{}
	if fault := ds.rename(req.NewName); fault != nil {
		body.Fault_ = Fault("", fault)
		return body
	}
	body.Res = &types.RenameDatastoreResponse{}
	return body
}

// rename checks the new name is free in the datacenter and publishes it
// in name, summary.name and info.name.
func (ds *Datastore) rename(name string) types.BaseMethodFault {
	if name == "" || len(name) > 80 {
		return &types.InvalidName{Name: name}
	}
	dc := Map.getEntityDatacenter(ds)
	if e := Map.FindByName(name, dc.Datastore); e != nil && e.Reference() != ds.Self {
		return &types.DuplicateName{Name: name, Object: e.Reference()}
	}
	ds.Info.GetDatastoreInfo().Name = name
	Map.Update(ds, []types.PropertyChange{
		{Name: "name", Val: name},
		{Name: "summary.name", Val: name},
		{Name: "info", Val: ds.Info},
	})
	return nil
}

// DatastoreEnterMaintenanceMode puts the datastore in maintenance mode.
// Like vCenter without Storage DRS it refuses while powered-on VMs use it
// and returns no recommendations.
func (ds *Datastore) DatastoreEnterMaintenanceMode(ctx *Context, req *types.DatastoreEnterMaintenanceMode) soap.HasFault {
	body := &methods.DatastoreEnterMaintenanceModeBody{}
	if ds.Summary.MaintenanceMode == string(types.DatastoreSummaryMaintenanceModeStateInMaintenance) {
		body.Fault_ = Fault("", invalidState("the datastore is already in maintenance mode"))
		return body
	}
	for _, ref := range ds.Vm {
		vm, ok := Map.Get(ref).(*VirtualMachine)
		if ok && vm.Runtime.PowerState == types.VirtualMachinePowerStatePoweredOn {
			body.Fault_ = Fault("", invalidState("powered-on VM "+vm.Name+" uses the datastore"))
			return body
		}
	}
	Map.Update(ds, []types.PropertyChange{{Name: "summary.maintenanceMode",
		Val: string(types.DatastoreSummaryMaintenanceModeStateInMaintenance)}})
	body.Res = &types.DatastoreEnterMaintenanceModeResponse{}
	return body
}

// DatastoreExitMaintenanceModeTask takes the datastore out of maintenance.
func (ds *Datastore) DatastoreExitMaintenanceModeTask(ctx *Context, req *types.DatastoreExitMaintenanceMode_Task) soap.HasFault {
	task := CreateTask(ds, "datastoreExitMaintenanceMode", func(*Task) (types.AnyType, types.BaseMethodFault) {
		if ds.Summary.MaintenanceMode == string(types.DatastoreSummaryMaintenanceModeStateNormal) {
			return nil, invalidState("the datastore is not in maintenance mode")
		}
		Map.Update(ds, []types.PropertyChange{{Name: "summary.maintenanceMode",
			Val: string(types.DatastoreSummaryMaintenanceModeStateNormal)}})
		return nil, nil
	})
	return &methods.DatastoreExitMaintenanceMode_TaskBody{
		Res: &types.DatastoreExitMaintenanceMode_TaskResponse{Returnval: task.Run()},
	}
}

// invalidState is an InvalidState fault that says why. (An empty fault
// inside a task's info.error reaches suds clients as untyped text.)
func invalidState(why string) *types.InvalidState {
	f := &types.InvalidState{}
	f.FaultMessage = []types.LocalizableMessage{{Key: "com.vmware.vcsim.invalidState", Message: why}}
	return f
}
