package simulator

import (
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// FindAllByUuid (missing in vcsim 0.24.2): every VM whose BIOS uuid (or, with
// instanceUuid, vCenter instance uuid) matches when vmSearch is set, else
// every host whose hardware uuid matches; limited to one datacenter if given.
func (s *SearchIndex) FindAllByUuid(ctx *Context, req *types.FindAllByUuid) soap.HasFault {
	body := &methods.FindAllByUuidBody{Res: new(types.FindAllByUuidResponse)}
	if req.Datacenter != nil {
		if _, ok := Map.Get(*req.Datacenter).(*Datacenter); !ok {
			body.Fault_ = Fault("", &types.ManagedObjectNotFound{Obj: *req.Datacenter})
			body.Res = nil
			return body
		}
	}
	kind := "HostSystem"
	if req.VmSearch {
		kind = "VirtualMachine"
	}
	for _, e := range Map.All(kind) {
		var match bool
		ctx.WithLock(e, func() { match = uuidMatches(e, req) })
		if match && inDatacenter(e, req.Datacenter) {
			body.Res.Returnval = append(body.Res.Returnval, e.Reference())
		}
	}
	return body
}

func uuidMatches(e mo.Entity, req *types.FindAllByUuid) bool {
	if vm, ok := asVirtualMachineMO(e); ok {
		if vm.Config == nil {
			return false
		}
		if req.InstanceUuid != nil && *req.InstanceUuid {
			return vm.Config.InstanceUuid == req.Uuid
		}
		return vm.Config.Uuid == req.Uuid
	}
	if host, ok := asHostSystemMO(e); ok {
		return host.Summary.Hardware != nil && host.Summary.Hardware.Uuid == req.Uuid
	}
	return false
}

// inDatacenter walks up the parents of e to see whether dc contains it.
func inDatacenter(e mo.Entity, dc *types.ManagedObjectReference) bool {
	if dc == nil {
		return true
	}
	for parent := e.Entity().Parent; parent != nil; {
		if *parent == *dc {
			return true
		}
		p, ok := Map.Get(*parent).(mo.Entity)
		if !ok {
			return false
		}
		parent = p.Entity().Parent
	}
	return false
}
