package simulator

// HostSystem extensions (the vcsim originals are renamed away by
// patches/*-host_system-*.patch):
//   - Destroy_Task removes the host like vCenter: refused (InvalidState)
//     while the host is connected and not in maintenance mode; otherwise its
//     VMs are unregistered, its datastores unmounted (a datastore no host
//     mounts any more leaves the inventory) and it leaves its cluster, or,
//     for a standalone host, its ComputeResource goes too. vcsim left stale
//     datastore mounts and compute resource host lists behind.
//   - EnterMaintenanceMode_Task / ExitMaintenanceMode_Task publish
//     runtime.inMaintenanceMode through the property collector (vcsim set
//     the field directly, so WaitForUpdates clients never saw it).

import (
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

func (h *HostSystem) DestroyTask(ctx *Context, req *types.Destroy_Task) soap.HasFault {
	task := CreateTask(h, "destroy", func(*Task) (types.AnyType, types.BaseMethodFault) {
		if h.Runtime.ConnectionState == types.HostSystemConnectionStateConnected && !h.Runtime.InMaintenanceMode {
			return nil, invalidState("host " + h.Name + " is connected and not in maintenance mode")
		}
		parent := Map.Get(*h.Parent)
		removeClusterHost(internalContext, h)
		switch cr := parent.(type) {
		case *ClusterComputeResource:
			removeRefFromList(cr, &cr.Host, "host", h.Self)
			summary := cr.Summary.GetComputeResourceSummary()
			summary.NumHosts--
			summary.NumEffectiveHosts--
		case *mo.ComputeResource:
			removeResourcePools(*cr.ResourcePool)
			if folder, ok := asFolderMO(Map.Get(*cr.Parent)); ok {
				folderRemoveChild(internalContext, folder, cr.Self)
			}
		}
		return nil, nil
	})
	return &methods.Destroy_TaskBody{Res: &types.Destroy_TaskResponse{Returnval: task.Run()}}
}

func (h *HostSystem) EnterMaintenanceModeTask(req *types.EnterMaintenanceMode_Task) soap.HasFault {
	task := CreateTask(h, "enterMaintenanceMode", func(*Task) (types.AnyType, types.BaseMethodFault) {
		h.setMaintenance(true)
		return nil, nil
	})
	return &methods.EnterMaintenanceMode_TaskBody{Res: &types.EnterMaintenanceMode_TaskResponse{Returnval: task.Run()}}
}

func (h *HostSystem) ExitMaintenanceModeTask(req *types.ExitMaintenanceMode_Task) soap.HasFault {
	task := CreateTask(h, "exitMaintenanceMode", func(*Task) (types.AnyType, types.BaseMethodFault) {
		h.setMaintenance(false)
		return nil, nil
	})
	return &methods.ExitMaintenanceMode_TaskBody{Res: &types.ExitMaintenanceMode_TaskResponse{Returnval: task.Run()}}
}

// setMaintenance publishes runtime (which summary.runtime points at).
func (h *HostSystem) setMaintenance(on bool) {
	runtime := h.Runtime
	runtime.InMaintenanceMode = on
	Map.Update(h, []types.PropertyChange{{Name: "runtime", Val: runtime}})
}
