package simulator

// VirtualDiskManager on real disk files (vmdk_file.go) with datastore space
// accounting. govmomi's own methods are renamed away by
// patches/*-virtual_disk_manager-*.patch so these are the ones dispatched.

import (
	"strings"

	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// diskTypeThin maps a VirtualDiskType to thin/thick. Only the types a VMFS
// or NFS datastore of vCenter creates are accepted; hosted formats
// (sparse2Gb, ...), raw/rdm and unknown names are an InvalidArgument.
func diskTypeThin(diskType string) (bool, types.BaseMethodFault) {
	switch diskType {
	case string(types.VirtualDiskTypeThin):
		return true, nil
	case string(types.VirtualDiskTypePreallocated), string(types.VirtualDiskTypeThick),
		string(types.VirtualDiskTypeEagerZeroedThick):
		return false, nil
	}
	return false, &types.InvalidArgument{InvalidProperty: "spec.diskType"}
}

// descriptorAdapterType maps a VirtualDiskAdapterType to what ESXi writes
// in ddb.adapterType; unknown adapter types are an InvalidArgument.
func descriptorAdapterType(adapterType string) (string, types.BaseMethodFault) {
	switch adapterType {
	case string(types.VirtualDiskAdapterTypeIde):
		return "ide", nil
	case string(types.VirtualDiskAdapterTypeBusLogic):
		return "buslogic", nil
	case string(types.VirtualDiskAdapterTypeLsiLogic):
		return "lsilogic", nil
	}
	return "", &types.InvalidArgument{InvalidProperty: "spec.adapterType"}
}

func (m *VirtualDiskManager) CreateVirtualDiskTask(_ *Context, req *types.CreateVirtualDisk_Task) soap.HasFault {
	task := CreateTask(m, "createVirtualDisk", func(*Task) (types.AnyType, types.BaseMethodFault) {
		spec, ok := req.Spec.(*types.FileBackedVirtualDiskSpec)
		if !ok {
			return nil, &types.NotSupported{}
		}
		thin, fault := diskTypeThin(spec.DiskType)
		if fault != nil {
			return nil, fault
		}
		adapter, fault := descriptorAdapterType(spec.AdapterType)
		if fault != nil {
			return nil, fault
		}
		if spec.CapacityKb <= 0 {
			return nil, &types.InvalidArgument{InvalidProperty: "spec.capacityKb"}
		}
		if fault = createBaseDisk(req.Name, req.Datacenter, spec.CapacityKb*1024, thin, adapter); fault != nil {
			return nil, fault
		}
		return req.Name, nil
	})
	return &methods.CreateVirtualDisk_TaskBody{Res: &types.CreateVirtualDisk_TaskResponse{Returnval: task.Run()}}
}

func (m *VirtualDiskManager) DeleteVirtualDiskTask(_ *Context, req *types.DeleteVirtualDisk_Task) soap.HasFault {
	task := CreateTask(m, "deleteVirtualDisk", func(*Task) (types.AnyType, types.BaseMethodFault) {
		return nil, deleteDisk(req.Name, req.Datacenter)
	})
	return &methods.DeleteVirtualDisk_TaskBody{Res: &types.DeleteVirtualDisk_TaskResponse{Returnval: task.Run()}}
}

// MoveVirtualDiskTask moves a disk; force replaces an existing destination.
func (m *VirtualDiskManager) MoveVirtualDiskTask(_ *Context, req *types.MoveVirtualDisk_Task) soap.HasFault {
	task := CreateTask(m, "moveVirtualDisk", func(*Task) (types.AnyType, types.BaseMethodFault) {
		dstDc := req.DestDatacenter
		if dstDc == nil {
			dstDc = req.SourceDatacenter
		}
		return nil, moveDiskOpts(req.SourceName, req.SourceDatacenter, req.DestName, dstDc, isTrue(req.Force))
	})
	return &methods.MoveVirtualDisk_TaskBody{Res: &types.MoveVirtualDisk_TaskResponse{Returnval: task.Run()}}
}

// CopyVirtualDiskTask copies a disk, flattening a delta chain into a base
// disk. Without destSpec the copy is preallocated, as the API reference
// documents; destSpec.diskType thin/preallocated/... is honoured.
func (m *VirtualDiskManager) CopyVirtualDiskTask(_ *Context, req *types.CopyVirtualDisk_Task) soap.HasFault {
	task := CreateTask(m, "copyVirtualDisk", func(*Task) (types.AnyType, types.BaseMethodFault) {
		o := copyDiskOptions{
			src: req.SourceName, dst: req.DestName,
			srcDc: req.SourceDatacenter, dstDc: req.DestDatacenter,
			flatten: true, force: isTrue(req.Force),
		}
		if o.dstDc == nil {
			o.dstDc = o.srcDc
		}
		thin := false
		if req.DestSpec != nil {
			spec := req.DestSpec.GetVirtualDiskSpec()
			var fault types.BaseMethodFault
			if spec.DiskType != "" { // an empty type keeps the default
				if thin, fault = diskTypeThin(spec.DiskType); fault != nil {
					return nil, fault
				}
			}
			if spec.AdapterType != "" {
				if o.adapterType, fault = descriptorAdapterType(spec.AdapterType); fault != nil {
					return nil, fault
				}
			}
		}
		o.thin = &thin
		if fault := copyDiskOpts(o); fault != nil {
			return nil, fault
		}
		return req.DestName, nil
	})
	return &methods.CopyVirtualDisk_TaskBody{Res: &types.CopyVirtualDisk_TaskResponse{Returnval: task.Run()}}
}

// ExtendVirtualDiskTask grows a disk; shrinking is refused.
func (m *VirtualDiskManager) ExtendVirtualDiskTask(_ *Context, req *types.ExtendVirtualDisk_Task) soap.HasFault {
	task := CreateTask(m, "extendVirtualDisk", func(*Task) (types.AnyType, types.BaseMethodFault) {
		if fault := extendDisk(req.Name, req.Datacenter, req.NewCapacityKb*1024); fault != nil {
			return nil, fault
		}
		syncAttachedDiskCapacity(req.Name, req.NewCapacityKb*1024)
		return nil, nil
	})
	return &methods.ExtendVirtualDisk_TaskBody{Res: &types.ExtendVirtualDisk_TaskResponse{Returnval: task.Run()}}
}

// QueryVirtualDiskUuid returns the descriptor's ddb.uuid
// ("60 00 C2 9x ...-..." as ESXi reports it).
func (m *VirtualDiskManager) QueryVirtualDiskUuid(_ *Context, req *types.QueryVirtualDiskUuid) soap.HasFault {
	body := new(methods.QueryVirtualDiskUuidBody)
	df, fault := openDisk(req.Datacenter, req.Name)
	if fault == nil && (df.d == nil || df.d.UUID() == "") {
		fault = &types.FileNotFound{FileFault: types.FileFault{File: req.Name}}
	}
	if fault != nil {
		body.Fault_ = Fault("", fault)
		return body
	}
	body.Res = &types.QueryVirtualDiskUuidResponse{Returnval: df.d.UUID()}
	return body
}

// SetVirtualDiskUuid persists a uuid (descriptor or RFC 4122 form).
func (m *VirtualDiskManager) SetVirtualDiskUuid(_ *Context, req *types.SetVirtualDiskUuid) soap.HasFault {
	body := new(methods.SetVirtualDiskUuidBody)
	if fault := setDiskUUID(req.Name, req.Datacenter, req.Uuid); fault != nil {
		body.Fault_ = Fault("", fault)
		return body
	}
	body.Res = new(types.SetVirtualDiskUuidResponse)
	return body
}

// diskPathIsVMDK reports whether a datastore path names a disk descriptor
// (not one of its -flat/-delta extents).
func diskPathIsVMDK(dsPath string) bool {
	return strings.HasSuffix(dsPath, ".vmdk") && !strings.HasSuffix(dsPath, "-flat.vmdk") &&
		!strings.HasSuffix(dsPath, "-delta.vmdk")
}
