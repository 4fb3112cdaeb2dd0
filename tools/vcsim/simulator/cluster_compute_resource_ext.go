package simulator

// ClusterComputeResource.Destroy_Task, which vcsim 0.24.2 lacks.
//
// vCenter removes a cluster together with its hosts, and removing a host
// that is connected requires it to be in maintenance mode (so no VM runs
// there). We do the same: the task fails with InvalidState, changing
// nothing, while a connected host of the cluster is not in maintenance
// mode; otherwise the hosts' VMs are unregistered, the hosts unmount their
// datastores (a datastore no host mounts any more leaves the inventory,
// its files stay) and the hosts, the resource pools and the cluster are
// removed.

import (
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// DestroyTask has the one-argument form Folder.DestroyTask looks for.
func (c *ClusterComputeResource) DestroyTask(req *types.Destroy_Task) soap.HasFault {
	task := CreateTask(c, "destroy", func(*Task) (types.AnyType, types.BaseMethodFault) {
		if fault := c.checkHostsRemovable(); fault != nil {
			return nil, fault
		}
		ctx := internalContext
		for _, ref := range append([]types.ManagedObjectReference(nil), c.Host...) {
			if host, ok := Map.Get(ref).(*HostSystem); ok {
				removeClusterHost(ctx, host)
			}
		}
		removeResourcePools(*c.ResourcePool)
		if folder, ok := asFolderMO(Map.Get(*c.Parent)); ok {
			folderRemoveChild(ctx, folder, c.Self)
		}
		return nil, nil
	})
	return &methods.Destroy_TaskBody{Res: &types.Destroy_TaskResponse{Returnval: task.Run()}}
}

// checkHostsRemovable refuses while a connected host is not in maintenance.
func (c *ClusterComputeResource) checkHostsRemovable() types.BaseMethodFault {
	for _, ref := range c.Host {
		host, ok := Map.Get(ref).(*HostSystem)
		if !ok {
			continue
		}
		if host.Runtime.ConnectionState == types.HostSystemConnectionStateConnected && !host.Runtime.InMaintenanceMode {
			return invalidState("host " + host.Name + " is connected and not in maintenance mode")
		}
	}
	return nil
}

// removeClusterHost unregisters the host's VMs, unmounts its datastores
// and removes it (and its configuration managers) from the inventory.
func removeClusterHost(ctx *Context, host *HostSystem) {
	for _, ref := range append([]types.ManagedObjectReference(nil), host.Vm...) {
		if vm, ok := Map.Get(ref).(*VirtualMachine); ok {
			unregisterVMForHostRemoval(ctx, vm)
		}
	}
	for _, ref := range append([]types.ManagedObjectReference(nil), host.Datastore...) {
		if ds, ok := Map.Get(ref).(*Datastore); ok {
			ds.unmountFrom(ctx, host)
		}
	}
	ctx.postEvent(&types.HostRemovedEvent{HostEvent: host.event()})
	for _, m := range []*types.ManagedObjectReference{host.ConfigManager.DatastoreSystem,
		host.ConfigManager.NetworkSystem, host.ConfigManager.AdvancedOption,
		host.ConfigManager.FirewallSystem, host.ConfigManager.StorageSystem} {
		if m != nil {
			Map.Remove(*m)
		}
	}
	Map.Remove(host.Self)
}

// unregisterVMForHostRemoval drops a VM from the inventory (its files
// stay), as vCenter does with the VMs of a removed host.
func unregisterVMForHostRemoval(ctx *Context, vm *VirtualMachine) {
	for _, ref := range vm.Datastore {
		if ds, ok := Map.Get(ref).(*Datastore); ok {
			removeRefFromList(ds, &ds.Vm, "vm", vm.Self)
		}
	}
	if pool, ok := Map.Get(*vm.ResourcePool).(*ResourcePool); ok {
		RemoveReference(&pool.Vm, vm.Self)
	}
	if folder, ok := asFolderMO(Map.Get(*vm.Parent)); ok {
		folderRemoveChild(ctx, folder, vm.Self)
	}
}

// removeResourcePools removes a pool and its child pools.
func removeResourcePools(ref types.ManagedObjectReference) {
	if pool, ok := Map.Get(ref).(*ResourcePool); ok {
		for _, child := range pool.ResourcePool.ResourcePool {
			removeResourcePools(child)
		}
	}
	Map.Remove(ref)
}
