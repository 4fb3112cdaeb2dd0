package simulator

// PropertyCollector fix: vcsim 0.24.2 follows a TraversalSpec's path on
// every object it reaches, whatever the spec's type. oslo.vmware's
// recursive traversal (rp_to_vm then rp_to_rp) then loops for ever between
// a resource pool and its VMs (VirtualMachine also has a "resourcePool"
// property) until the stack overflows. vCenter applies a spec only to
// objects of its type or a subtype; patches/*-property_collector-* calls
// this check from selectSet.

import "reflect"

// traversalTypeMatches tells whether a TraversalSpec of type kind applies
// to obj (the mo struct value): same type, or one embedding kind (for
// example ClusterComputeResource for ComputeResource).
func traversalTypeMatches(obj reflect.Value, kind string) bool {
	if kind == "" || !obj.IsValid() {
		return true
	}
	t := obj.Type()
	if t.Kind() != reflect.Struct {
		return true
	}
	if t.Name() == kind {
		return true
	}
	f, ok := t.FieldByName(kind)
	return ok && f.Anonymous
}
