package simulator

// Incremental updates of one PropertyFilter (WaitForUpdatesEx): the filter
// remembers what it last reported, which objects it selects (its members),
// which objects its traversal went through (its nodes) and how far it has
// read the change journal (change_journal.go). A call then re-reads only the
// objects named by journal entries since, and walks the traversal again only
// when an entry can change membership (an object added or removed, a node or
// a container under a ContainerView changed). After an untracked change (a
// SOAP method that edits fields in place) it diffs its whole state once.

import (
	"reflect"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/vmware/govmomi/vim25/types"
)

// filterExt is a PropertyFilter's update state (field ext, patch 011).
type filterExt struct {
	primed    bool  // reported at least once
	pos       int64 // journal sequence number read up to
	untracked int64 // journal untracked count seen

	reported map[types.ManagedObjectReference]filterObjectState
	members  map[types.ManagedObjectReference]int // -> traversal order
	nodes    map[types.ManagedObjectReference]bool
	views    viewScope
	pending  map[types.ManagedObjectReference]bool // did not fit maxObjectUpdates
}

// viewScope is what ContainerView nodes of a filter can take in.
type viewScope struct {
	any      bool // the filter traverses at least one ContainerView
	allTypes bool // one of them takes every type
	types    map[string]bool
}

// containerWalkFields are the properties ContainerView follows (view_manager.go walk).
var containerWalkFields = map[string]bool{
	"childEntity": true, "vmFolder": true, "hostFolder": true, "datastoreFolder": true,
	"networkFolder": true, "host": true, "resourcePool": true, "vm": true,
}

var containerTypes = map[string]bool{
	"Datacenter": true, "Folder": true, "ComputeResource": true, "ClusterComputeResource": true,
	"ResourcePool": true, "VirtualApp": true, "HostSystem": true,
}

// planCounts counts how update reports were worked out (Go tests): whole
// diffs, incremental ones, and traversals walked again.
var planCounts struct{ full, incremental, walks int64 }

// filterPlan is one filter's part of an update set, committed only when sent.
type filterPlan struct {
	filter    *PropertyFilter
	ref       types.ManagedObjectReference
	initial   bool
	pos       int64
	untracked int64
	members   map[types.ManagedObjectReference]int // nil: unchanged
	nodes     map[types.ManagedObjectReference]bool
	views     viewScope
	updates   []types.ObjectUpdate
	states    []filterObjectState // per update; nil for leave
}

// structural tells whether a journal entry can change the filter's members.
func (e *filterExt) structural(j journalEntry) bool {
	switch j.kind {
	case changeRemove:
		_, member := e.members[j.ref]
		return member || e.nodes[j.ref]
	case changePut:
		if !e.views.any {
			return true
		}
		return e.views.allTypes || e.views.types[j.ref.Type] || containerTypes[j.ref.Type]
	}
	if e.nodes[j.ref] {
		return true
	}
	if e.views.any && containerTypes[j.ref.Type] {
		for _, name := range j.names {
			root := name
			if i := strings.IndexAny(name, ".["); i >= 0 {
				root = name[:i]
			}
			if containerWalkFields[root] {
				return true
			}
		}
	}
	return false
}

// plan works out the filter's updates since it last reported; with initial,
// everything it selects (version "").
func (pc *PropertyCollector) plan(ctx *Context, ref types.ManagedObjectReference, f *PropertyFilter, initial bool) (*filterPlan, types.BaseMethodFault) {
	e := &f.ext
	p := &filterPlan{filter: f, ref: ref, initial: initial}
	p.pos, p.untracked = inventoryJournal.position()

	reported := e.reported
	if initial {
		reported = nil
	}
	full := initial || !e.primed || p.untracked != e.untracked
	dirty := make(map[types.ManagedObjectReference]bool)
	structural := full
	if !full {
		entries, ok := inventoryJournal.between(e.pos, p.pos)
		if !ok {
			full, structural = true, true
		}
		for _, j := range entries {
			if !structural && e.structural(j) {
				structural = true
			}
			dirty[j.ref] = true
		}
		for r := range e.pending {
			dirty[r] = true
		}
	}
	if full {
		atomic.AddInt64(&planCounts.full, 1)
	} else {
		atomic.AddInt64(&planCounts.incremental, 1)
	}
	if !structural && len(dirty) == 0 {
		return p, nil
	}

	members := e.members
	if structural {
		atomic.AddInt64(&planCounts.walks, 1)
		var fault types.BaseMethodFault
		members, p.nodes, p.views, fault = pc.filterMembers(ctx, f.Spec)
		if fault != nil {
			return nil, fault
		}
		p.members = members
		if full {
			dirty = make(map[types.ManagedObjectReference]bool, len(members)+len(reported))
		}
		for r := range members {
			if _, known := reported[r]; full || !known {
				dirty[r] = true
			}
		}
		for r := range reported {
			if _, ok := members[r]; !ok {
				dirty[r] = true
			}
		}
	}

	var leaves []types.ManagedObjectReference
	var present []types.ManagedObjectReference
	for r := range dirty {
		if _, ok := members[r]; ok {
			present = append(present, r)
		} else if _, known := reported[r]; known {
			leaves = append(leaves, r)
		}
	}
	sort.Slice(present, func(a, b int) bool { return members[present[a]] < members[present[b]] })
	sort.Slice(leaves, func(a, b int) bool { return leaves[a].Value < leaves[b].Value })

	spec := f.Spec
	for _, r := range present {
		o, ok := collectOne(ctx, spec, r)
		if !ok {
			if _, known := reported[r]; known {
				leaves = append(leaves, r) // gone since the traversal
			}
			continue
		}
		now := make(filterObjectState, len(o.PropSet))
		for _, prop := range o.PropSet {
			now[prop.Name] = prop.Val
		}
		before, known := reported[r]
		if !known {
			p.add(enterUpdate(o, now), now)
		} else if changes := propertyChanges(o, before); len(changes) != 0 {
			p.add(types.ObjectUpdate{Obj: r, Kind: types.ObjectUpdateKindModify, ChangeSet: changes}, now)
		}
	}
	for _, r := range leaves {
		p.add(types.ObjectUpdate{Obj: r, Kind: types.ObjectUpdateKindLeave}, nil)
	}
	return p, nil
}

func (p *filterPlan) add(u types.ObjectUpdate, state filterObjectState) {
	p.updates = append(p.updates, u)
	p.states = append(p.states, state)
}

// commit records the first n updates as reported; the rest stay pending.
func (p *filterPlan) commit(n int) {
	e := &p.filter.ext
	if p.initial || e.reported == nil {
		e.reported = make(map[types.ManagedObjectReference]filterObjectState)
	}
	e.primed, e.pos, e.untracked = true, p.pos, p.untracked
	if p.members != nil {
		e.members, e.nodes, e.views = p.members, p.nodes, p.views
	}
	e.pending = nil
	for i, u := range p.updates {
		if i >= n {
			if e.pending == nil {
				e.pending = make(map[types.ManagedObjectReference]bool)
			}
			e.pending[u.Obj] = true
			continue
		}
		if p.states[i] == nil {
			delete(e.reported, u.Obj)
		} else {
			e.reported[u.Obj] = p.states[i]
		}
	}
}

// filterMembers walks the filter's traversal: the objects it selects (in
// traversal order), the objects it went through and its ContainerViews' scope.
func (pc *PropertyCollector) filterMembers(ctx *Context, spec types.PropertyFilterSpec) (map[types.ManagedObjectReference]int, map[types.ManagedObjectReference]bool, viewScope, types.BaseMethodFault) {
	spec.ReportMissingObjectsInResults = types.NewBool(true) // a deleted root object just leaves
	c := &collector{ctx: ctx, visited: make(map[visitKey]bool), nodes: make(map[types.ManagedObjectReference]bool)}
	if fault := c.walk([]types.PropertyFilterSpec{spec}); fault != nil {
		return nil, nil, viewScope{}, fault
	}
	var views viewScope
	for node := range c.nodes {
		v, ok := lookupObject(ctx, node).(*ContainerView)
		if !ok {
			continue
		}
		views.any = true
		if len(v.Type) == 0 {
			views.allTypes = true
		}
		if views.types == nil {
			views.types = make(map[string]bool)
		}
		for _, t := range v.Type {
			views.types[t] = true
		}
	}
	members := make(map[types.ManagedObjectReference]int, len(c.refs))
	for _, r := range c.refs {
		if _, seen := members[r]; seen {
			continue
		}
		if selectsObject(ctx, spec, r) {
			members[r] = len(members)
		}
	}
	return members, c.nodes, views, nil
}

// selectsObject tells whether some property spec applies to the object.
func selectsObject(ctx *Context, spec types.PropertyFilterSpec, ref types.ManagedObjectReference) bool {
	var found bool
	ctx.WithLock(ref, func() {
		rval, ok := getObject(ctx, ref)
		if !ok {
			return
		}
		for _, p := range spec.PropSet {
			if objectIsA(ref, rval.Type(), p.Type) {
				found = true
				return
			}
		}
	})
	return found
}

// collectOne reads one object's properties as the filter selects them.
func collectOne(ctx *Context, spec types.PropertyFilterSpec, ref types.ManagedObjectReference) (types.ObjectContent, bool) {
	rr := &retrieveResult{
		RetrieveResult: &types.RetrieveResult{},
		req:            &types.RetrievePropertiesEx{SpecSet: []types.PropertyFilterSpec{spec}},
		collected:      make(map[types.ManagedObjectReference]bool),
		specs:          make(map[string]*types.TraversalSpec),
	}
	c := &collector{ctx: ctx, rr: rr}
	ctx.WithLock(ref, func() { c.collectObject(ref) })
	if len(rr.Objects) == 0 {
		return types.ObjectContent{}, false
	}
	return rr.Objects[0], true
}

func enterUpdate(o types.ObjectContent, now filterObjectState) types.ObjectUpdate {
	u := types.ObjectUpdate{Obj: o.Obj, Kind: types.ObjectUpdateKindEnter, MissingSet: o.MissingSet}
	for _, p := range o.PropSet {
		u.ChangeSet = append(u.ChangeSet, types.PropertyChange{
			Name: p.Name, Op: types.PropertyChangeOpAssign, Val: p.Val})
	}
	return u
}

// propertyChanges lists properties whose value differs; one that became
// unset is assigned no value.
func propertyChanges(o types.ObjectContent, before filterObjectState) []types.PropertyChange {
	var changes []types.PropertyChange
	for _, p := range o.PropSet {
		if old, ok := before[p.Name]; !ok || !reflect.DeepEqual(old, p.Val) {
			changes = append(changes, types.PropertyChange{
				Name: p.Name, Op: types.PropertyChangeOpAssign, Val: p.Val})
		}
	}
	return changes
}
