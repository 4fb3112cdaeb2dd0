package simulator

// HostDatastoreSystem extensions: datastore creation that records one host
// mount per host on a single Datastore object (vcsim 0.24.2 replaces the
// datastore on every call and keeps only the last host), typed VMFS and
// NAS datastores, and RemoveDatastore. The original vcsim
// CreateLocalDatastore and CreateNasDatastore are renamed away by
// patches/*-host_datastore_system-*.patch.

import (
	"fmt"
	"os"
	"path"
	"path/filepath"

	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// host returns the registered HostSystem this datastore system belongs to.
func (dss *HostDatastoreSystem) host() *HostSystem {
	return Map.Get(dss.Host.Self).(*HostSystem)
}

// datastoreFolder is the datastore folder of the host's datacenter.
func (dss *HostDatastoreSystem) datastoreFolder() *Folder {
	dc := Map.getEntityDatacenter(dss.host())
	return Map.Get(dc.DatastoreFolder).(*Folder)
}

// findInDatacenter returns the datacenter's datastore of that name, if any.
func (dss *HostDatastoreSystem) findInDatacenter(name string) *Datastore {
	dc := Map.getEntityDatacenter(dss.host())
	if e := Map.FindByName(name, dc.Datastore); e != nil {
		return e.(*Datastore)
	}
	return nil
}

// createDatastore registers a new datastore of type kind in the host's
// datacenter, backed by dir, and mounts it read-write on this host.
func (dss *HostDatastoreSystem) createDatastore(ctx *Context, name, kind, dir string, capacity int64,
	customise func(*Datastore)) (*Datastore, *soap.Fault) {
	if e := dss.findInDatacenter(name); e != nil {
		return nil, Fault("", &types.DuplicateName{Name: name, Object: e.Self})
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, Fault(dir, &types.NotFound{})
	}
	ds := newTypedDatastore(name, kind, dir, capacity)
	if customise != nil {
		customise(ds)
	}
	registerDatastore(ctx, &dss.datastoreFolder().Folder, ds)
	ds.mountOn(dss.host(), hostMountInfo(string(types.HostMountModeReadWrite)))
	return ds, nil
}

// hostMountInfo is a mounted, accessible mount in the given access mode.
func hostMountInfo(mode string) types.HostMountInfo {
	return types.HostMountInfo{AccessMode: mode, Mounted: types.NewBool(true), Accessible: types.NewBool(true)}
}

// nasLocalDir resolves a client-supplied local path to a directory: an
// existing absolute directory is used as is (vcsim's behaviour), anything
// else names a directory under the datastore root.
func nasLocalDir(p, name string) (string, error) {
	if filepath.IsAbs(p) {
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			return p, nil
		}
	}
	return topologyDatastoreDir(name)
}

// CreateLocalDatastore creates a directory-backed local datastore
// (LocalDatastoreInfo, summary.type OTHER as ESX reports for it).
func (dss *HostDatastoreSystem) CreateLocalDatastore(ctx *Context, c *types.CreateLocalDatastore) soap.HasFault {
	r := &methods.CreateLocalDatastoreBody{}
	dir, err := nasLocalDir(c.Path, c.Name)
	if err != nil {
		r.Fault_ = Fault(err.Error(), &types.HostConfigFault{})
		return r
	}
	// The same name and directory from another host shares the datastore
	// (vcsim's default model creates its LocalDS_N this way on every host).
	if e := dss.findInDatacenter(c.Name); e != nil && e.Info.GetDatastoreInfo().Url == dir {
		r.Fault_ = dss.mountExisting(e, c.Name, string(types.HostMountModeReadWrite))
		if r.Fault_ == nil {
			r.Res = &types.CreateLocalDatastoreResponse{Returnval: e.Self}
		}
		return r
	}
	ds, fault := dss.createDatastore(ctx, c.Name, "OTHER", dir, defaultDatastoreCapacity, nil)
	if fault != nil {
		r.Fault_ = fault
		return r
	}
	r.Res = &types.CreateLocalDatastoreResponse{Returnval: ds.Self}
	return r
}

// CreateVmfsDatastore creates a VMFS datastore named spec.vmfs.volumeName;
// its capacity is the partition's size when given, its extent the disk of
// spec.vmfs.extent (refused when a datastore already uses that disk).
func (dss *HostDatastoreSystem) CreateVmfsDatastore(ctx *Context, c *types.CreateVmfsDatastore) soap.HasFault {
	r := &methods.CreateVmfsDatastoreBody{}
	name := c.Spec.Vmfs.VolumeName
	if name == "" {
		r.Fault_ = Fault("", &types.InvalidArgument{InvalidProperty: "spec.vmfs.volumeName"})
		return r
	}
	capacity := defaultDatastoreCapacity
	if c.Spec.Partition.TotalSectors > 0 {
		capacity = c.Spec.Partition.TotalSectors * 512
	}
	disk := c.Spec.Vmfs.Extent.DiskName
	if disk != "" && dss.usedVmfsDisks()[disk] {
		r.Fault_ = Fault("disk "+disk+" is in use", &types.ResourceInUse{Name: disk})
		return r
	}
	dir, err := topologyDatastoreDir(name)
	if err != nil {
		r.Fault_ = Fault(err.Error(), &types.HostConfigFault{})
		return r
	}
	ds, fault := dss.createDatastore(ctx, name, "VMFS", dir, capacity, func(ds *Datastore) {
		if disk != "" {
			vmfs := ds.Info.(*types.VmfsDatastoreInfo).Vmfs
			vmfs.Extent = []types.HostScsiDiskPartition{c.Spec.Vmfs.Extent}
		}
	})
	if fault != nil {
		r.Fault_ = fault
		return r
	}
	r.Res = &types.CreateVmfsDatastoreResponse{Returnval: ds.Self}
	return r
}

// CreateNasDatastore mounts an NFS export. Mounting an export that the
// datacenter already has as a datastore (same remote host and path) adds
// this host's mount to that datastore, as vCenter does; the name must then
// match the existing datastore's.
func (dss *HostDatastoreSystem) CreateNasDatastore(ctx *Context, c *types.CreateNasDatastore) soap.HasFault {
	r := &methods.CreateNasDatastoreBody{}
	spec := c.Spec
	name := path.Base(spec.LocalPath)
	kind := spec.Type
	if kind == "" {
		kind = string(types.HostFileSystemVolumeFileSystemTypeNFS)
	}
	if kind != "NFS" && kind != "NFS41" && kind != "CIFS" {
		r.Fault_ = Fault("", &types.InvalidArgument{InvalidProperty: "spec.type"})
		return r
	}
	mode := spec.AccessMode
	if mode == "" {
		mode = string(types.HostMountModeReadWrite)
	}
	if existing := dss.findNasExport(spec); existing != nil {
		r.Fault_ = dss.mountExisting(existing, name, mode)
		if r.Fault_ == nil {
			r.Res = &types.CreateNasDatastoreResponse{Returnval: existing.Self}
		}
		return r
	}
	dir, err := nasLocalDir(spec.LocalPath, name)
	if err != nil {
		r.Fault_ = Fault(err.Error(), &types.HostConfigFault{})
		return r
	}
	ds, fault := dss.createDatastore(ctx, name, kind, dir, defaultDatastoreCapacity, func(ds *Datastore) {
		nas := ds.Info.(*types.NasDatastoreInfo).Nas
		nas.RemoteHost, nas.RemotePath, nas.UserName = spec.RemoteHost, spec.RemotePath, spec.UserName
		nas.RemoteHostNames, nas.SecurityType = spec.RemoteHostNames, spec.SecurityType
	})
	if fault != nil {
		r.Fault_ = fault
		return r
	}
	if mode != string(types.HostMountModeReadWrite) {
		ds.mountOn(dss.host(), hostMountInfo(mode))
	}
	r.Res = &types.CreateNasDatastoreResponse{Returnval: ds.Self}
	return r
}

// findNasExport returns the datacenter's NAS datastore for the export.
func (dss *HostDatastoreSystem) findNasExport(spec types.HostNasVolumeSpec) *Datastore {
	dc := Map.getEntityDatacenter(dss.host())
	for _, ref := range dc.Datastore {
		ds, ok := Map.Get(ref).(*Datastore)
		if !ok {
			continue
		}
		if info, ok := ds.Info.(*types.NasDatastoreInfo); ok && info.Nas != nil &&
			info.Nas.RemoteHost == spec.RemoteHost && info.Nas.RemotePath == spec.RemotePath {
			return ds
		}
	}
	return nil
}

// mountExisting adds this host's mount to an existing datastore.
func (dss *HostDatastoreSystem) mountExisting(ds *Datastore, name, mode string) *soap.Fault {
	if ds.Name != name {
		return Fault("the export is already mounted as "+ds.Name, &types.DuplicateName{Name: name, Object: ds.Self})
	}
	if ds.findMount(dss.Host.Self) >= 0 {
		return Fault("", &types.AlreadyExists{Name: name})
	}
	ds.mountOn(dss.host(), hostMountInfo(mode))
	return nil
}

// RemoveDatastore unmounts a datastore from this host. The datastore
// leaves the inventory when no host mounts it any more. Like ESX it
// refuses while VMs registered on this host have files there.
func (dss *HostDatastoreSystem) RemoveDatastore(ctx *Context, req *types.RemoveDatastore) soap.HasFault {
	r := &methods.RemoveDatastoreBody{}
	ds, ok := Map.Get(req.Datastore).(*Datastore)
	if !ok || ds.findMount(dss.Host.Self) < 0 {
		r.Fault_ = Fault("", &types.NotFound{})
		return r
	}
	host := dss.host()
	for _, vm := range ds.Vm {
		if FindReference(host.Vm, vm) != nil {
			r.Fault_ = Fault("", &types.ResourceInUse{Type: ds.Self.Type, Name: ds.Name})
			return r
		}
	}
	ds.unmountFrom(ctx, host)
	r.Res = &types.RemoveDatastoreResponse{}
	return r
}

// Free SAN disks for VMFS: every host sees the same vmfsDiskCount shared
// LUNs (naa.6000c2900000000000000000000000NN, vmfsDiskCapacity each);
// a disk is free while no datastore of the host's datacenter has an
// extent on it. QueryAvailableDisksForVmfs lists the free ones,
// QueryVmfsDatastoreCreateOptions gives the one "use the whole disk"
// option whose spec CreateVmfsDatastore takes, and CreateVmfsDatastore
// refuses a disk already in use.

const (
	vmfsDiskCount    = 4
	vmfsDiskCapacity = int64(100) << 30
)

// vmfsDisk is the simulated shared LUN number i (1-based).
func vmfsDisk(i int) *types.HostScsiDisk {
	id := fmt.Sprintf("6000c29000000000000000000000%04d", i)
	name := "naa." + id
	return &types.HostScsiDisk{
		ScsiLun: types.ScsiLun{
			HostDevice:    types.HostDevice{DeviceName: "/vmfs/devices/disks/" + name, DeviceType: "disk"},
			Key:           "key-vim.host.ScsiDisk-02000000" + id,
			Uuid:          "02000000" + id,
			CanonicalName: name,
			DisplayName:   "VMware Fibre Channel Disk (" + name + ")",
			LunType:       "disk",
			Vendor:        "VMware  ",
			Model:         "Virtual disk    ",
		},
		Capacity:   types.HostDiskDimensionsLba{BlockSize: 512, Block: vmfsDiskCapacity / 512},
		DevicePath: "/vmfs/devices/disks/" + name,
	}
}

// usedVmfsDisks are the disk names of the datacenter's VMFS extents.
func (dss *HostDatastoreSystem) usedVmfsDisks() map[string]bool {
	used := map[string]bool{}
	dc := Map.getEntityDatacenter(dss.host())
	for _, ref := range dc.Datastore {
		ds, ok := Map.Get(ref).(*Datastore)
		if !ok {
			continue
		}
		if info, ok := ds.Info.(*types.VmfsDatastoreInfo); ok && info.Vmfs != nil {
			for _, e := range info.Vmfs.Extent {
				used[e.DiskName] = true
			}
		}
	}
	return used
}

// vmfsDiskByPath returns the simulated disk of that device path.
func vmfsDiskByPath(p string) *types.HostScsiDisk {
	for i := 1; i <= vmfsDiskCount; i++ {
		if d := vmfsDisk(i); d.DevicePath == p {
			return d
		}
	}
	return nil
}

// QueryAvailableDisksForVmfs lists the free simulated disks.
func (dss *HostDatastoreSystem) QueryAvailableDisksForVmfs(ctx *Context, req *types.QueryAvailableDisksForVmfs) soap.HasFault {
	used := dss.usedVmfsDisks()
	var disks []types.HostScsiDisk
	for i := 1; i <= vmfsDiskCount; i++ {
		if d := vmfsDisk(i); !used[d.CanonicalName] {
			disks = append(disks, *d)
		}
	}
	return &methods.QueryAvailableDisksForVmfsBody{Res: &types.QueryAvailableDisksForVmfsResponse{Returnval: disks}}
}

// QueryVmfsDatastoreCreateOptions offers the whole free disk as one VMFS 6
// partition.
func (dss *HostDatastoreSystem) QueryVmfsDatastoreCreateOptions(ctx *Context, req *types.QueryVmfsDatastoreCreateOptions) soap.HasFault {
	r := &methods.QueryVmfsDatastoreCreateOptionsBody{}
	d := vmfsDiskByPath(req.DevicePath)
	if d == nil {
		r.Fault_ = Fault("", &types.NotFound{})
		return r
	}
	if dss.usedVmfsDisks()[d.CanonicalName] {
		r.Fault_ = Fault("disk "+d.CanonicalName+" is in use", &types.ResourceInUse{Name: d.CanonicalName})
		return r
	}
	sectors := d.Capacity.Block
	spec := &types.VmfsDatastoreCreateSpec{
		VmfsDatastoreSpec: types.VmfsDatastoreSpec{DiskUuid: d.Uuid},
		Partition: types.HostDiskPartitionSpec{
			PartitionFormat: "gpt",
			TotalSectors:    sectors,
			Partition: []types.HostDiskPartitionAttributes{{
				Partition: 1, StartSector: 2048, EndSector: sectors - 1,
				Type: "vmfs", Guid: "AA31E02A400F11DB9590000C2911D1B8",
			}},
		},
		Vmfs: types.HostVmfsSpec{
			Extent:       types.HostScsiDiskPartition{DiskName: d.CanonicalName, Partition: 1},
			MajorVersion: 6,
		},
	}
	r.Res = &types.QueryVmfsDatastoreCreateOptionsResponse{Returnval: []types.VmfsDatastoreOption{{
		Info: &types.VmfsDatastoreAllExtentOption{VmfsDatastoreSingleExtentOption: types.VmfsDatastoreSingleExtentOption{
			VmfsDatastoreBaseOption: types.VmfsDatastoreBaseOption{Layout: types.HostDiskPartitionLayout{
				Total: &d.Capacity,
				Partition: []types.HostDiskPartitionBlockRange{{Partition: 1, Type: "VMFS",
					Start: types.HostDiskDimensionsLba{BlockSize: 512, Block: 2048},
					End:   types.HostDiskDimensionsLba{BlockSize: 512, Block: sectors - 1}}},
			}},
			VmfsExtent: types.HostDiskPartitionBlockRange{Partition: 1, Type: "VMFS",
				Start: types.HostDiskDimensionsLba{BlockSize: 512, Block: 2048},
				End:   types.HostDiskDimensionsLba{BlockSize: 512, Block: sectors - 1}},
		}},
		Spec: spec,
	}}}
	return r
}
