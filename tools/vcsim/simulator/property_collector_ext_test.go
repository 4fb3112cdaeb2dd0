package simulator

// Go tests of WaitForUpdatesEx's incremental reports (property_filter_ext.go,
// change_journal.go) through a govmomi client: registry events are read in
// work proportional to them, SOAP methods that edit in place cause one whole
// diff, and the answers are the same either way.

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/types"
)

type pcEnv struct {
	t   *testing.T
	ctx context.Context
	c   *vim25.Client
}

func pcRun(t *testing.T, f func(e *pcEnv)) {
	m := VPX()
	m.Datastore = 3
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(func(ctx context.Context, c *vim25.Client) error {
		f(&pcEnv{t: t, ctx: ctx, c: c})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// collector makes a PropertyCollector with one filter over a recursive
// ContainerView of datastores, hosts and VMs, as the driver's inventory does.
func (e *pcEnv) collector() types.ManagedObjectReference {
	e.t.Helper()
	res, err := methods.CreatePropertyCollector(e.ctx, e.c, &types.CreatePropertyCollector{This: e.c.ServiceContent.PropertyCollector})
	if err != nil {
		e.t.Fatal(err)
	}
	pc := res.Returnval
	v, err := view.NewManager(e.c).CreateContainerView(e.ctx, e.c.ServiceContent.RootFolder,
		[]string{"Datastore", "HostSystem", "VirtualMachine"}, true)
	if err != nil {
		e.t.Fatal(err)
	}
	spec := types.PropertyFilterSpec{
		ObjectSet: []types.ObjectSpec{{Obj: v.Reference(), Skip: types.NewBool(true),
			SelectSet: []types.BaseSelectionSpec{&types.TraversalSpec{Type: "ContainerView", Path: "view"}}}},
		PropSet: []types.PropertySpec{
			{Type: "Datastore", PathSet: []string{"summary", "host"}},
			{Type: "HostSystem", PathSet: []string{"name", "runtime.inMaintenanceMode"}},
			{Type: "VirtualMachine", PathSet: []string{"name"}},
		},
	}
	if _, err := methods.CreateFilter(e.ctx, e.c, &types.CreateFilter{This: pc, Spec: spec}); err != nil {
		e.t.Fatal(err)
	}
	return pc
}

// wait calls WaitForUpdatesEx once (maxWaitSeconds 0).
func (e *pcEnv) wait(pc types.ManagedObjectReference, version string, max int32) *types.UpdateSet {
	e.t.Helper()
	zero := int32(0)
	res, err := methods.WaitForUpdatesEx(e.ctx, e.c, &types.WaitForUpdatesEx{This: pc, Version: version,
		Options: &types.WaitOptions{MaxWaitSeconds: &zero, MaxObjectUpdates: max}})
	if err != nil {
		e.t.Fatal(err)
	}
	return res.Returnval
}

// updates lists kind and object of every object update of a set.
func updates(set *types.UpdateSet) map[types.ManagedObjectReference]types.ObjectUpdate {
	out := make(map[types.ManagedObjectReference]types.ObjectUpdate)
	if set == nil {
		return out
	}
	for _, fu := range set.FilterSet {
		for _, ou := range fu.ObjectSet {
			out[ou.Obj] = ou
		}
	}
	return out
}

type planCountsSnapshot struct{ full, incremental, walks int64 }

func readPlanCounts() planCountsSnapshot {
	return planCountsSnapshot{atomic.LoadInt64(&planCounts.full),
		atomic.LoadInt64(&planCounts.incremental), atomic.LoadInt64(&planCounts.walks)}
}

func (e *pcEnv) expectCounts(before planCountsSnapshot, full, incremental, walks int64) {
	e.t.Helper()
	now := readPlanCounts()
	got := planCountsSnapshot{now.full - before.full, now.incremental - before.incremental, now.walks - before.walks}
	if got != (planCountsSnapshot{full, incremental, walks}) {
		e.t.Fatalf("plans (full, incremental, walks) = %v, want (%d, %d, %d)", got, full, incremental, walks)
	}
}

func datastores() []*Datastore {
	var out []*Datastore
	for _, e := range Map.All("Datastore") {
		out = append(out, e.(*Datastore))
	}
	return out
}

func TestWaitForUpdatesFollowsRegistryEvents(t *testing.T) {
	pcRun(t, func(e *pcEnv) {
		pc := e.collector()
		set := e.wait(pc, "", 0)
		objects := len(Map.All("Datastore")) + len(Map.All("HostSystem")) + len(Map.All("VirtualMachine"))
		if got := len(updates(set)); got != objects {
			t.Fatalf("initial report: %d objects, want %d", got, objects)
		}
		version := set.Version

		// nothing changed: no update set, no diff, no traversal
		c := readPlanCounts()
		if set := e.wait(pc, version, 0); set != nil {
			t.Fatalf("update without a change: %+v", set)
		}
		e.expectCounts(c, 0, 1, 0)

		// a property change through Map.Update: only that object
		dss := datastores()
		ds := dss[0]
		summary := ds.Summary
		summary.FreeSpace -= 1 << 30
		c = readPlanCounts()
		Map.Update(ds, []types.PropertyChange{{Name: "summary", Val: summary}})
		set = e.wait(pc, version, 0)
		e.expectCounts(c, 0, 1, 0)
		got := updates(set)
		u, ok := got[ds.Self]
		if len(got) != 1 || !ok || u.Kind != types.ObjectUpdateKindModify || len(u.ChangeSet) != 1 ||
			u.ChangeSet[0].Name != "summary" || u.ChangeSet[0].Val.(types.DatastoreSummary).FreeSpace != summary.FreeSpace {
			t.Fatalf("free space change: %+v", got)
		}
		version = set.Version

		// a host enters maintenance
		host := Map.Any("HostSystem").(*HostSystem)
		Map.Update(host, []types.PropertyChange{{Name: "runtime.inMaintenanceMode", Val: true}})
		set = e.wait(pc, version, 0)
		got = updates(set)
		if u := got[host.Self]; len(got) != 1 || u.Kind != types.ObjectUpdateKindModify || u.ChangeSet[0].Val != true {
			t.Fatalf("maintenance: %+v", got)
		}
		version = set.Version
		if again := e.wait(pc, version, 0); again != nil {
			t.Fatalf("maintenance reported twice: %+v", again)
		}

		// an update of an object outside the filter: nothing, no traversal
		c = readPlanCounts()
		dc := Map.Any("Datacenter").(*Datacenter)
		Map.Update(dc, []types.PropertyChange{{Name: "name", Val: dc.Name}})
		if set := e.wait(pc, version, 0); set != nil {
			t.Fatalf("update for an object outside the filter: %+v", set)
		}
		e.expectCounts(c, 0, 1, 0)
	})
}

func TestWaitForUpdatesMembershipFromEvents(t *testing.T) {
	pcRun(t, func(e *pcEnv) {
		pc := e.collector()
		version := e.wait(pc, "", 0).Version
		dss := datastores()
		folder := Map.Get(*dss[0].Parent).(*Folder)

		// a datastore registered under a folder enters, after one traversal
		nds := &Datastore{Datastore: dss[0].Datastore}
		nds.Name = "added-ds"
		nds.Summary.Name = nds.Name
		nds.Host = nil
		nds.Vm = nil
		Map.NewEntity(nds)
		folder.ChildEntity = append(folder.ChildEntity, nds.Self)
		c := readPlanCounts()
		Map.PutEntity(folder, nds)
		set := e.wait(pc, version, 0)
		e.expectCounts(c, 0, 1, 1)
		got := updates(set)
		if u, ok := got[nds.Self]; len(got) != 1 || !ok || u.Kind != types.ObjectUpdateKindEnter {
			t.Fatalf("added datastore: %+v", got)
		}
		version = set.Version

		// a VM destroyed through SOAP (fields edited in place): one whole diff
		vm := Map.Any("VirtualMachine").(*VirtualMachine)
		obj := object.NewVirtualMachine(e.c, vm.Self)
		for _, step := range []func(context.Context) (*object.Task, error){obj.PowerOff, obj.Destroy} {
			task, err := step(e.ctx)
			if err == nil {
				err = task.Wait(e.ctx)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		c = readPlanCounts()
		set = e.wait(pc, version, 0)
		if readPlanCounts().full-c.full != 1 {
			t.Fatal("no whole diff after a SOAP change")
		}
		got = updates(set)
		if u, ok := got[vm.Self]; !ok || u.Kind != types.ObjectUpdateKindLeave { // its datastore changes too
			t.Fatalf("destroyed VM: %+v", got)
		}
		version = set.Version

		// and back to incremental afterwards
		c = readPlanCounts()
		if set := e.wait(pc, version, 0); set != nil {
			t.Fatalf("update without a change: %+v", set)
		}
		e.expectCounts(c, 0, 1, 0)

		// a VM created through SOAP enters
		finder := find.NewFinder(e.c)
		dcObj, err := finder.DefaultDatacenter(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		finder.SetDatacenter(dcObj)
		folders, _ := dcObj.Folders(e.ctx)
		pool, err := finder.ResourcePool(e.ctx, "DC0_C0/Resources")
		if err != nil {
			t.Fatal(err)
		}
		spec := types.VirtualMachineConfigSpec{Name: "added-vm", GuestId: "otherGuest",
			Files: &types.VirtualMachineFileInfo{VmPathName: "[" + dss[0].Name + "]"}}
		task, err := folders.VmFolder.CreateVM(e.ctx, spec, pool, nil)
		if err != nil {
			t.Fatal(err)
		}
		info, err := task.WaitForResult(e.ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		set = e.wait(pc, version, 0)
		got = updates(set)
		if u, ok := got[info.Result.(types.ManagedObjectReference)]; !ok || u.Kind != types.ObjectUpdateKindEnter {
			t.Fatalf("created VM: %+v", got)
		}
		version = set.Version

		// removed from the registry and its folder: it leaves
		c = readPlanCounts()
		Map.Remove(dss[1].Self)
		RemoveReference(&folder.ChildEntity, dss[1].Self)
		set = e.wait(pc, version, 0)
		e.expectCounts(c, 0, 1, 1)
		got = updates(set)
		if u, ok := got[dss[1].Self]; len(got) != 1 || !ok || u.Kind != types.ObjectUpdateKindLeave {
			t.Fatalf("removed datastore: %+v", got)
		}

	})
}

func TestWaitForUpdatesTruncatesAndSharesEvents(t *testing.T) {
	pcRun(t, func(e *pcEnv) {
		pc1, pc2 := e.collector(), e.collector()
		v1, v2 := e.wait(pc1, "", 0).Version, e.wait(pc2, "", 0).Version
		dss := datastores()
		for _, ds := range dss {
			summary := ds.Summary
			summary.FreeSpace /= 2
			Map.Update(ds, []types.PropertyChange{{Name: "summary", Val: summary}})
		}

		// maxObjectUpdates 2: two now (truncated), the rest next
		set := e.wait(pc1, v1, 2)
		if len(updates(set)) != 2 || set.Truncated == nil || !*set.Truncated {
			t.Fatalf("first page: %d updates, truncated %v", len(updates(set)), set.Truncated)
		}
		seen := updates(set)
		set = e.wait(pc1, set.Version, 2)
		for ref, u := range updates(set) {
			if _, twice := seen[ref]; twice {
				t.Fatalf("%v reported twice", ref)
			}
			seen[ref] = u
		}
		if len(seen) != len(dss) || (set.Truncated != nil && *set.Truncated) {
			t.Fatalf("pages: %d updates, want %d", len(seen), len(dss))
		}
		if set := e.wait(pc1, set.Version, 2); set != nil {
			t.Fatalf("after the last page: %+v", set)
		}

		// the other collector saw every change too, in one report
		if got := updates(e.wait(pc2, v2, 0)); len(got) != len(dss) {
			t.Fatalf("second collector: %d updates, want %d", len(got), len(dss))
		}
	})
}

func TestWaitForUpdatesWakesOnEvent(t *testing.T) {
	pcRun(t, func(e *pcEnv) {
		pc := e.collector()
		version := e.wait(pc, "", 0).Version
		ds := datastores()[0]
		go func() {
			time.Sleep(200 * time.Millisecond)
			summary := ds.Summary
			summary.Uncommitted += 1 << 30
			Map.Update(ds, []types.PropertyChange{{Name: "summary", Val: summary}})
		}()
		ten := int32(10)
		start := time.Now()
		res, err := methods.WaitForUpdatesEx(e.ctx, e.c, &types.WaitForUpdatesEx{This: pc, Version: version,
			Options: &types.WaitOptions{MaxWaitSeconds: &ten}})
		if err != nil {
			t.Fatal(err)
		}
		if got := updates(res.Returnval); len(got) != 1 || got[ds.Self].Kind != types.ObjectUpdateKindModify {
			t.Fatalf("woken report: %+v", got)
		}
		if waited := time.Since(start); waited > 5*time.Second {
			t.Fatalf("waited %v for a change made after 0.2 s", waited)
		}
	})
}
