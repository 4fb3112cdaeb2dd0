package simulator

// VirtualDiskManager on real disk files (vmdk_disk.go) with datastore space
// accounting. govmomi's own methods are renamed away by
// patches/*-virtual_disk_manager-*.patch so these are the ones dispatched.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
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
// documents; destSpec.diskType thin/preallocated/... is honoured. A
// streamOptimized source (a monolithic file uploaded to the datastore, as
// os-brick's restore does) is inflated into a normal disk.
func (m *VirtualDiskManager) CopyVirtualDiskTask(_ *Context, req *types.CopyVirtualDisk_Task) soap.HasFault {
	var failed types.BaseMethodFault
	var message string // failed's localizedMessage, when we know better than its type
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
		kind, fault := copySourceKind(o.srcDc, o.src)
		switch {
		case fault != nil:
		case kind == sourceSparse:
			fault, message = copyStreamOptimizedDisk(o)
		case kind == sourceNotDisk:
			fault, message = &types.FileFault{File: o.src}, o.src+" is not a virtual disk"
		default:
			fault = copyDiskOpts(o)
		}
		if fault != nil {
			failed = fault
			return nil, fault
		}
		return req.DestName, nil
	})
	ref := task.Run()
	if failed != nil && message != "" {
		setTaskErrorMessage(task, failed, message)
	}
	return &methods.CopyVirtualDisk_TaskBody{Res: &types.CopyVirtualDisk_TaskResponse{Returnval: ref}}
}

// setTaskErrorMessage replaces the localizedMessage of a failed task
// (govmomi's Task.Run puts the fault's Go type there).
func setTaskErrorMessage(task *Task, fault types.BaseMethodFault, message string) {
	Map.Update(task, []types.PropertyChange{{Name: "info.error",
		Val: types.LocalizedMethodFault{Fault: fault, LocalizedMessage: message}}})
}

// Kinds of copy sources.
const (
	sourceDescriptor = iota // a descriptor, or missing: copyDiskOpts decides
	sourceSparse            // a monolithic sparse VMDK (magic "KDMV")
	sourceNotDisk           // a file that is no virtual disk
)

// copySourceKind tells a monolithic sparse VMDK (one file starting with
// the sparse header) and plain files from disk descriptors.
func copySourceKind(dc *types.ManagedObjectReference, dsPath string) (int, types.BaseMethodFault) {
	_, local, fault := resolveDsPath(dc, dsPath)
	if fault != nil {
		return 0, fault
	}
	f, err := os.Open(local)
	if err != nil {
		return sourceDescriptor, nil
	}
	defer f.Close()
	magic := make([]byte, 4)
	if n, _ := io.ReadFull(f, magic); n == 4 && string(magic) == "KDMV" {
		return sourceSparse, nil
	}
	if _, err := readDescriptor(local); err == errNotDescriptor || errors.Is(err, bufio.ErrTooLong) {
		return sourceNotDisk, nil
	}
	return sourceDescriptor, nil
}

// copyStreamOptimizedDisk creates o.dst as a base disk (thin or thick per
// o.thin) of the stream's capacity and inflates the stream into it, as
// ESXi's disk library converts a streamOptimized extent. The destination
// is charged like a new disk; a malformed stream fails with a FileFault
// whose message says what is wrong, leaving no destination behind.
func copyStreamOptimizedDisk(o copyDiskOptions) (types.BaseMethodFault, string) {
	_, src, fault := resolveDsPath(o.srcDc, o.src)
	if fault != nil {
		return fault, ""
	}
	in, err := os.Open(src)
	if err != nil {
		return &types.CannotAccessFile{FileFault: types.FileFault{File: o.src}}, ""
	}
	defer in.Close()
	malformed := func(err error) (types.BaseMethodFault, string) {
		return &types.FileFault{File: o.src},
			fmt.Sprintf("%s is not a valid streamOptimized virtual disk: %v", o.src, err)
	}
	r := bufio.NewReaderSize(in, 1<<20)
	h, embedded, err := readStreamPrologue(r)
	if err != nil {
		return malformed(err)
	}
	dstDs, local, fault := resolveDsPath(o.dstDc, o.dst)
	if fault != nil {
		return fault, ""
	}
	if local == src {
		return &types.FileAlreadyExists{FileFault: types.FileFault{File: o.dst}}, ""
	}
	if o.force {
		if fault = removeDiskIfPresent(o.dstDc, o.dst, local); fault != nil {
			return fault, ""
		}
	}
	if fault = checkNewDisk(o.dst, local, false); fault != nil {
		return fault, ""
	}
	capacity := int64(h.Capacity) * streamSector
	thin := o.thin != nil && *o.thin
	d := newBaseDescriptor(filepath.Base(vmdkDataName(local, false)), capacity, thin, streamAdapterType(o, embedded))
	if fault = chargeDatastore(dstDs, d.Capacity(), thin); fault != nil {
		return noDiskSpace(fault, o.dst), ""
	}
	var bad error
	fill := func(f *os.File) error {
		bad = inflateStreamGrains(r, h, f, capacity)
		return bad
	}
	if err := writeDiskFiles(local, vmdkDataName(local, false), d, fill); err != nil {
		refundDatastore(dstDs, d.Capacity(), thin)
		if bad != nil {
			return malformed(bad)
		}
		return cannotCreate(o.dst), ""
	}
	return nil, ""
}

// streamAdapterType is the destination's ddb.adapterType: destSpec's, else
// the embedded descriptor's when it is one ESXi writes, else lsilogic.
func streamAdapterType(o copyDiskOptions, embedded []byte) string {
	if o.adapterType != "" {
		return o.adapterType
	}
	if d, err := parseDescriptor(bytes.NewReader(embedded)); err == nil {
		switch a := d.AdapterType(); a {
		case "ide", "buslogic", "lsilogic", "legacyESX":
			return a
		}
	}
	return "lsilogic"
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
