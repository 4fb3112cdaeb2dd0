package simulator

// Datastore browser search results for virtual disks, as vSphere gives
// them: with a VmDiskFileQuery, a .vmdk that is a disk descriptor comes
// back as VmDiskFileInfo with its capacity, provisioning and extents read
// from the descriptor (govmomi only sets the type, and only when the
// FileType detail is asked); a .vmdk that is not a descriptor comes back
// as a plain FileInfo, so clients can tell it is not a virtual disk.

import (
	"path"
	"strings"

	"github.com/vmware/govmomi/vim25/types"
)

// describeLastDiskFile replaces the entry addFile just appended to res
// when it is a .vmdk matched by a VmDiskFileQuery.
func describeLastDiskFile(spec *types.HostDatastoreBrowserSearchSpec, dir string, res *types.HostDatastoreBrowserSearchResults) {
	n := len(res.File)
	if n == 0 || !hasDiskQuery(spec) {
		return
	}
	info := res.File[n-1].GetFileInfo()
	if path.Ext(info.Path) != ".vmdk" {
		return
	}
	desc, err := readDescriptor(path.Join(dir, info.Path))
	if err != nil || len(desc.Extents) == 0 {
		res.File[n-1] = &types.FileInfo{Path: info.Path, FileSize: info.FileSize, Modification: info.Modification}
		return
	}
	res.File[n-1] = diskFileInfo(*info, desc)
}

func hasDiskQuery(spec *types.HostDatastoreBrowserSearchSpec) bool {
	for _, q := range spec.Query {
		if _, ok := q.(*types.VmDiskFileQuery); ok {
			return true
		}
	}
	return false
}

func diskFileInfo(info types.FileInfo, desc *vmdkDescriptor) *types.VmDiskFileInfo {
	extents := make([]string, 0, len(desc.Extents))
	for _, e := range desc.Extents {
		extents = append(extents, e.File)
	}
	thin := desc.Thin()
	diskType := "VirtualDiskFlatVer2BackingInfo"
	if desc.IsDelta() {
		diskType = "VirtualDiskSparseVer2BackingInfo"
	}
	return &types.VmDiskFileInfo{
		FileInfo:        info,
		DiskType:        diskType,
		CapacityKb:      desc.Capacity() / 1024,
		HardwareVersion: 13,
		ControllerType:  controllerTypeOf(desc.AdapterType()),
		DiskExtents:     extents,
		Thin:            &thin,
	}
}

func controllerTypeOf(adapter string) string {
	switch strings.ToLower(adapter) {
	case "ide":
		return "VirtualIDEController"
	case "buslogic":
		return "VirtualBusLogicController"
	case "lsilogicsas":
		return "VirtualLsiLogicSASController"
	case "pvscsi", "paravirtual":
		return "ParaVirtualSCSIController"
	}
	return "VirtualLsiLogicController"
}
