package simulator

import "github.com/vmware/govmomi/vim25/types"

// refreshContainerView recomputes a ContainerView's `view` from the inventory
// before the PropertyCollector reads it. govmomi only patches the view on
// registry create/delete events, which misses objects linked into their
// parent after being registered and objects moved in or out; vCenter's view
// always reflects the current inventory. No-op for other objects.
// The caller holds the view's lock.
func refreshContainerView(ctx *Context, ref types.ManagedObjectReference) {
	if ref.Type != "ContainerView" || ctx.Session == nil {
		return
	}
	v, ok := ctx.Session.Get(ref).(*ContainerView)
	if !ok {
		return
	}
	root := Map.Get(v.Container)
	if root == nil {
		v.View = nil // the container is gone: so is everything in it
		return
	}
	v.root = root
	v.View = nil
	v.add(root, make(map[types.ManagedObjectReference]bool))
}
