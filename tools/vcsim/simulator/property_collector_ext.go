package simulator

// PropertyCollector as oslo.vmware and Cinder use it:
//   - TraversalSpecs apply only to objects of their type (or a subtype), and
//     each spec is followed at most once per object, so recursive specs such as
//     oslo.vmware's build_recursive_traversal_spec terminate;
//   - indexed paths (config.extraConfig["key"], config.hardware.device[2000]);
//   - an unknown property name faults the whole request with InvalidProperty;
//   - RetrievePropertiesEx pages by options.maxObjects over a snapshot taken at
//     the first call (ContinueRetrievePropertiesEx / CancelRetrievePropertiesEx);
//   - WaitForUpdatesEx reports versioned differences from what each filter last
//     reported (enter / modify / leave), whatever changed the inventory, in
//     work proportional to the changes (property_filter_ext.go), at most
//     options.maxObjectUpdates per call.

import (
	"context"
	"reflect"
	"strconv"
	"sync"
	"time"

	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// pcExt is the state a PropertyCollector keeps for paging and versions.
type pcExt struct {
	mu       sync.Mutex
	pages    map[string]*retrievePage
	tokenSeq int
	version  int

	waitMu sync.Mutex // serializes update reports
}

// retrievePage is what is left of a paged RetrievePropertiesEx.
type retrievePage struct {
	objects    []types.ObjectContent
	maxObjects int
}

// filterObjectState is what a filter last reported for one object.
type filterObjectState map[string]types.AnyType

// collector walks the inventory for one RetrievePropertiesEx-like request.
type collector struct {
	ctx     *Context
	rr      *retrieveResult
	specs   map[string]*types.TraversalSpec
	visited map[visitKey]bool
	refs    []types.ManagedObjectReference
	nodes   map[types.ManagedObjectReference]bool // objects traversed from, when wanted
}

type visitKey struct {
	spec *types.TraversalSpec
	obj  types.ManagedObjectReference
}

// collect replaces govmomi's: see the file comment.
func (pc *PropertyCollector) collect(ctx *Context, r *types.RetrievePropertiesEx) (*types.RetrieveResult, types.BaseMethodFault) {
	if fault := validatePropertySpecs(r.SpecSet); fault != nil {
		return nil, fault
	}
	rr := &retrieveResult{
		RetrieveResult: &types.RetrieveResult{},
		req:            r,
		collected:      make(map[types.ManagedObjectReference]bool),
		specs:          make(map[string]*types.TraversalSpec),
	}
	c := &collector{ctx: ctx, rr: rr, visited: make(map[visitKey]bool)}
	if fault := c.walk(r.SpecSet); fault != nil {
		return nil, fault
	}
	for _, ref := range c.refs {
		ctx.WithLock(ref, func() { c.collectObject(ref) })
	}
	return rr.RetrieveResult, nil
}

// walk follows the specs' traversals and lists the objects they select.
func (c *collector) walk(specSet []types.PropertyFilterSpec) types.BaseMethodFault {
	ctx := c.ctx
	for _, spec := range specSet {
		// selection spec names are scoped by the filter spec they appear in
		c.specs = make(map[string]*types.TraversalSpec)
		for _, o := range spec.ObjectSet {
			registerTraversalSpecs(o.SelectSet, c.specs)
		}
		for _, o := range spec.ObjectSet {
			if ctx.Map.Get(o.Obj) == nil && lookupObject(ctx, o.Obj) == nil {
				if isFalse(spec.ReportMissingObjectsInResults) {
					return &types.ManagedObjectNotFound{Obj: o.Obj}
				}
				continue
			}
			if isFalse(o.Skip) {
				c.refs = append(c.refs, o.Obj)
			}
			if fault := c.traverse(o.Obj, o.SelectSet); fault != nil {
				return fault
			}
		}
	}
	return nil
}

// lookupObject finds an object in the session (views, filters) or the inventory.
func lookupObject(ctx *Context, ref types.ManagedObjectReference) interface{} {
	if ctx.Session != nil {
		if obj := ctx.Session.Get(ref); obj != nil {
			return obj
		}
	}
	if obj := ctx.Map.Get(ref); obj != nil {
		return obj
	}
	return nil
}

// registerTraversalSpecs records every named TraversalSpec of a spec tree,
// so a SelectionSpec may name one defined anywhere in the filter spec.
func registerTraversalSpecs(set []types.BaseSelectionSpec, specs map[string]*types.TraversalSpec) {
	for _, ss := range set {
		ts, ok := ss.(*types.TraversalSpec)
		if !ok {
			continue
		}
		if ts.Name != "" {
			if _, seen := specs[ts.Name]; seen {
				continue
			}
			specs[ts.Name] = ts
		}
		registerTraversalSpecs(ts.SelectSet, specs)
	}
}

// traverse follows the selection specs that apply to obj's type.
func (c *collector) traverse(obj types.ManagedObjectReference, set []types.BaseSelectionSpec) types.BaseMethodFault {
	type hop struct {
		ts       *types.TraversalSpec
		children []types.ManagedObjectReference
	}
	var hops []hop
	var fault types.BaseMethodFault

	c.ctx.WithLock(obj, func() {
		refreshContainerView(c.ctx, obj)
		rval, ok := getObject(c.ctx, obj)
		if !ok {
			return
		}
		for _, ss := range set {
			ts, isTS := ss.(*types.TraversalSpec)
			if !isTS {
				ts = c.specs[ss.GetSelectionSpec().Name]
				if ts == nil {
					fault = &types.InvalidArgument{InvalidProperty: "selectSet"}
					return
				}
			}
			if !objectIsA(obj, rval.Type(), ts.Type) {
				continue
			}
			key := visitKey{ts, obj}
			if c.visited[key] {
				continue // cycle protection: each spec once per object
			}
			c.visited[key] = true
			if c.nodes != nil {
				c.nodes[obj] = true
			}
			f, _ := fieldValue(rval, ts.Path)
			refs := fieldRefs(f)
			hops = append(hops, hop{ts, append([]types.ManagedObjectReference(nil), refs...)})
		}
	})
	if fault != nil {
		return fault
	}

	for _, h := range hops {
		for _, child := range h.children {
			if isFalse(h.ts.Skip) {
				c.refs = append(c.refs, child)
			}
			if len(h.ts.SelectSet) == 0 {
				continue
			}
			if fault := c.traverse(child, h.ts.SelectSet); fault != nil {
				return fault
			}
		}
	}
	return nil
}

// objectIsA tells whether an object is of the named managed object type or
// one of its subtypes (mo types embed their supertypes).
func objectIsA(ref types.ManagedObjectReference, rtype reflect.Type, name string) bool {
	if name == "" || name == ref.Type || name == rtype.Name() {
		return true
	}
	f, ok := rtype.FieldByName(name)
	return ok && f.Anonymous
}

// collectObject gathers the requested properties of one object. Values are
// deep copies taken under the object's lock, so results stay a snapshot.
func (c *collector) collectObject(ref types.ManagedObjectReference) {
	rr := c.rr
	if rr.collected[ref] {
		return
	}
	rr.collected[ref] = true
	refreshContainerView(c.ctx, ref)
	rval, ok := getObject(c.ctx, ref)
	if !ok {
		return
	}
	rtype := rval.Type()
	content := types.ObjectContent{Obj: ref}
	match := false
	seen := make(map[string]bool)

	for _, spec := range rr.req.SpecSet {
		for _, p := range spec.PropSet {
			if !objectIsA(ref, rtype, p.Type) {
				continue
			}
			match = true
			if isTrue(p.All) {
				if !seen["*"] {
					seen["*"] = true
					rr.collectAll(c.ctx, rval, rtype, &content)
					for _, dp := range content.PropSet {
						seen[dp.Name] = true
					}
				}
				continue
			}
			for _, name := range p.PathSet {
				if seen[name] {
					continue
				}
				seen[name] = true
				steps, _ := parsePropertyPath(name)
				val, present, valid := propertyValue(rval, steps)
				if !valid {
					content.MissingSet = append(content.MissingSet, types.MissingProperty{
						Path:  name,
						Fault: types.LocalizedMethodFault{Fault: &types.InvalidProperty{Name: name}},
					})
					continue
				}
				if !present {
					val = nil // kept for update enter/modify sets; RetrievePropertiesEx drops it
				}
				rr.add(c.ctx, name, val, &content)
			}
		}
	}
	if match {
		rr.Objects = append(rr.Objects, deepCopyContent(content))
	}
}

// validatePropertySpecs faults a request naming a property its type does not
// have, as vCenter does (InvalidProperty for the whole call).
func validatePropertySpecs(specs []types.PropertyFilterSpec) types.BaseMethodFault {
	for _, spec := range specs {
		for _, p := range spec.PropSet {
			if isTrue(p.All) {
				continue
			}
			t, known := moTypeByName(p.Type)
			for _, name := range p.PathSet {
				steps, ok := parsePropertyPath(name)
				if !ok || (known && !validPathForType(t, steps)) {
					return &types.InvalidProperty{Name: name}
				}
			}
		}
	}
	return nil
}

// deepCopyContent copies an ObjectContent so later changes to the inventory
// do not show through (paging snapshots, update diffs).
func deepCopyContent(c types.ObjectContent) types.ObjectContent {
	return deepCopyValue(reflect.ValueOf(c)).Interface().(types.ObjectContent)
}

func deepCopyValue(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.Ptr:
		if v.IsNil() {
			return v
		}
		n := reflect.New(v.Type().Elem())
		n.Elem().Set(deepCopyValue(v.Elem()))
		return n
	case reflect.Interface:
		if v.IsNil() {
			return v
		}
		n := reflect.New(v.Type()).Elem()
		n.Set(deepCopyValue(v.Elem()))
		return n
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		n := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := 0; i < v.Len(); i++ {
			n.Index(i).Set(deepCopyValue(v.Index(i)))
		}
		return n
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		n := reflect.MakeMapWithSize(v.Type(), v.Len())
		iter := v.MapRange()
		for iter.Next() {
			n.SetMapIndex(iter.Key(), deepCopyValue(iter.Value()))
		}
		return n
	case reflect.Struct:
		n := reflect.New(v.Type()).Elem()
		n.Set(v) // unexported fields (time.Time) are copied as they are
		for i := 0; i < v.NumField(); i++ {
			if n.Field(i).CanSet() {
				n.Field(i).Set(deepCopyValue(v.Field(i)))
			}
		}
		return n
	}
	return v
}

// dropUnsetProperties removes properties without a value (vSphere omits them).
func dropUnsetProperties(objects []types.ObjectContent) {
	for i := range objects {
		props := objects[i].PropSet[:0]
		for _, p := range objects[i].PropSet {
			if p.Val != nil {
				props = append(props, p)
			}
		}
		objects[i].PropSet = props
	}
}

// RetrievePropertiesEx returns at most options.maxObjects objects and a token
// for the rest; no result element at all when nothing matched, as vCenter.
func (pc *PropertyCollector) RetrievePropertiesEx(ctx *Context, r *types.RetrievePropertiesEx) soap.HasFault {
	body := &methods.RetrievePropertiesExBody{}
	res, fault := pc.collect(ctx, r)
	if fault != nil {
		msg := ""
		if _, ok := fault.(*types.ManagedObjectNotFound); ok {
			msg = "The object has already been deleted or has not been completely created"
		}
		body.Fault_ = Fault(msg, fault)
		return body
	}
	dropUnsetProperties(res.Objects)
	body.Res = &types.RetrievePropertiesExResponse{}
	if len(res.Objects) != 0 {
		body.Res.Returnval = pc.firstPage(res.Objects, int(r.Options.MaxObjects))
	}
	return body
}

// firstPage keeps what does not fit under a new token.
func (pc *PropertyCollector) firstPage(objects []types.ObjectContent, max int) *types.RetrieveResult {
	if max <= 0 || len(objects) <= max {
		return &types.RetrieveResult{Objects: objects}
	}
	pc.ext.mu.Lock()
	defer pc.ext.mu.Unlock()
	if pc.ext.pages == nil {
		pc.ext.pages = make(map[string]*retrievePage)
	}
	pc.ext.tokenSeq++
	token := strconv.Itoa(pc.ext.tokenSeq)
	pc.ext.pages[token] = &retrievePage{objects: objects[max:], maxObjects: max}
	return &types.RetrieveResult{Objects: objects[:max], Token: token}
}

// ContinueRetrievePropertiesEx hands out the next page; the token expires
// with the last page.
func (pc *PropertyCollector) ContinueRetrievePropertiesEx(ctx *Context, r *types.ContinueRetrievePropertiesEx) soap.HasFault {
	body := &methods.ContinueRetrievePropertiesExBody{}
	pc.ext.mu.Lock()
	defer pc.ext.mu.Unlock()
	page, ok := pc.ext.pages[r.Token]
	if !ok {
		body.Fault_ = Fault("", &types.InvalidArgument{InvalidProperty: "token"})
		return body
	}
	res := types.RetrieveResult{Objects: page.objects}
	if len(page.objects) > page.maxObjects {
		res.Objects = page.objects[:page.maxObjects]
		page.objects = page.objects[page.maxObjects:]
		res.Token = r.Token
	} else {
		delete(pc.ext.pages, r.Token)
	}
	body.Res = &types.ContinueRetrievePropertiesExResponse{Returnval: res}
	return body
}

// CancelRetrievePropertiesEx discards the rest of a paged retrieval.
func (pc *PropertyCollector) CancelRetrievePropertiesEx(ctx *Context, r *types.CancelRetrievePropertiesEx) soap.HasFault {
	body := &methods.CancelRetrievePropertiesExBody{}
	pc.ext.mu.Lock()
	defer pc.ext.mu.Unlock()
	if _, ok := pc.ext.pages[r.Token]; !ok {
		body.Fault_ = Fault("", &types.InvalidArgument{InvalidProperty: "token"})
		return body
	}
	delete(pc.ext.pages, r.Token)
	body.Res = &types.CancelRetrievePropertiesExResponse{}
	return body
}

// RetrieveProperties (deprecated) returns every object, unpaged.
func (pc *PropertyCollector) RetrieveProperties(ctx *Context, r *types.RetrieveProperties) soap.HasFault {
	body := &methods.RetrievePropertiesBody{}
	res := pc.RetrievePropertiesEx(ctx, &types.RetrievePropertiesEx{This: r.This, SpecSet: r.SpecSet})
	if res.Fault() != nil {
		body.Fault_ = res.Fault()
		return body
	}
	body.Res = &types.RetrievePropertiesResponse{}
	if rv := res.(*methods.RetrievePropertiesExBody).Res.Returnval; rv != nil {
		body.Res.Returnval = rv.Objects
	}
	return body
}

// CreateFilter checks the property names first, as vCenter does.
func (pc *PropertyCollector) CreateFilter(ctx *Context, c *types.CreateFilter) soap.HasFault {
	if fault := validatePropertySpecs([]types.PropertyFilterSpec{c.Spec}); fault != nil {
		return &methods.CreateFilterBody{Fault_: Fault("", fault)}
	}
	for _, o := range c.Spec.ObjectSet {
		if lookupObject(ctx, o.Obj) == nil && isFalse(c.Spec.ReportMissingObjectsInResults) {
			return &methods.CreateFilterBody{Fault_: Fault("", &types.ManagedObjectNotFound{Obj: o.Obj})}
		}
	}
	ctx.Map.AddHandler(inventoryJournal) // idempotent; before the filter's first report
	return pc.createFilterUpstream(ctx, c)
}

// update used to queue registry events for govmomi's WaitForUpdatesEx; ours
// reads the change journal (change_journal.go) instead.
func (pc *PropertyCollector) update(types.ObjectUpdate) {}

// WaitForUpdatesEx: version "" reports everything the filters select; a
// version returned earlier reports what changed since (waiting up to
// options.maxWaitSeconds, 0 = check once; unset = until something changes);
// nothing changed within the wait -> no update set at all. At most
// options.maxObjectUpdates object updates per call (truncated: call again).
func (pc *PropertyCollector) WaitForUpdatesEx(ctx *Context, r *types.WaitForUpdatesEx) soap.HasFault {
	body := &methods.WaitForUpdatesExBody{}
	pc.ext.mu.Lock()
	current := strconv.Itoa(pc.ext.version)
	pc.ext.mu.Unlock()
	if r.Version != "" && r.Version != current {
		body.Fault_ = Fault("", &types.InvalidCollectorVersion{})
		return body
	}

	wait, cancel := context.WithCancel(context.Background())
	oneCheck := false
	maxUpdates := 0
	if r.Options != nil {
		maxUpdates = int(r.Options.MaxObjectUpdates)
		if r.Options.MaxWaitSeconds != nil {
			max := *r.Options.MaxWaitSeconds
			oneCheck = max <= 0
			if max > 0 {
				wait, cancel = context.WithTimeout(context.Background(), time.Duration(max)*time.Second)
			}
		}
	}
	defer cancel()
	pc.mu.Lock()
	pc.cancel = cancel
	pc.mu.Unlock()

	ctx.Map.AddHandler(inventoryJournal) // idempotent; Map is per model
	for {
		changed := inventoryJournal.changed() // before looking: no change slips by
		set, fault := pc.pendingUpdates(ctx, r.Version == "", maxUpdates)
		if fault != nil {
			body.Fault_ = Fault("", fault)
			return body
		}
		if set != nil {
			body.Res = &types.WaitForUpdatesExResponse{Returnval: set}
			return body
		}
		if oneCheck {
			body.Res = &types.WaitForUpdatesExResponse{}
			return body
		}
		select {
		case <-wait.Done():
			if wait.Err() == context.Canceled {
				body.Fault_ = Fault("", new(types.RequestCanceled))
				return body
			}
			body.Res = &types.WaitForUpdatesExResponse{}
			return body
		case <-changed:
		}
	}
}

// pendingUpdates gathers every filter's updates (property_filter_ext.go)
// and, when there are some (or initial is set), commits a new version.
func (pc *PropertyCollector) pendingUpdates(ctx *Context, initial bool, maxUpdates int) (*types.UpdateSet, types.BaseMethodFault) {
	pc.ext.waitMu.Lock() // one report at a time per collector
	defer pc.ext.waitMu.Unlock()
	var plans []*filterPlan
	changed := false
	for _, ref := range append([]types.ManagedObjectReference(nil), pc.Filter...) {
		filter, ok := ctx.Session.Get(ref).(*PropertyFilter)
		if !ok {
			continue
		}
		p, fault := pc.plan(ctx, ref, filter, initial)
		if fault != nil {
			return nil, fault
		}
		plans = append(plans, p)
		if len(p.updates) != 0 {
			changed = true
		}
	}
	if !changed && !initial {
		for _, p := range plans {
			p.commit(0) // nothing to send: only how far the journal was read
		}
		return nil, nil
	}

	pc.ext.mu.Lock()
	defer pc.ext.mu.Unlock()
	pc.ext.version++
	set := &types.UpdateSet{Version: strconv.Itoa(pc.ext.version)}
	room := maxUpdates
	for _, p := range plans {
		n := len(p.updates)
		if maxUpdates > 0 {
			if n > room {
				n = room
				set.Truncated = types.NewBool(true)
			}
			room -= n
		}
		p.commit(n)
		if n != 0 {
			set.FilterSet = append(set.FilterSet, types.PropertyFilterUpdate{
				Filter: p.ref, ObjectSet: p.updates[:n]})
		}
	}
	return set, nil
}
