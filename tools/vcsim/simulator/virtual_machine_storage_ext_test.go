package simulator

// Go tests of the VM-level storage operations (virtual_machine_{chains,clone,relocate,destroy,vmx}_ext.go,
// virtual_machine_snapshot_ext.go) through a govmomi client.

import (
	"context"
	"io/ioutil"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

type vmsEnv struct {
	t      *testing.T
	ctx    context.Context
	c      *vim25.Client
	dc     *object.Datacenter
	folder *object.Folder
	pool   *object.ResourcePool
	ds     []*Datastore
}

func vmsRun(t *testing.T, f func(e *vmsEnv)) {
	m := VPX()
	m.Datastore = 2
	m.Machine = 0
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	var dss []*Datastore
	for _, e := range Map.All("Datastore") {
		ds := e.(*Datastore)
		ds.Summary.Capacity = 100 << 30
		ds.Summary.FreeSpace = 50 << 30
		ds.Summary.Uncommitted = 0
		dss = append(dss, ds)
	}
	if dss[0].Name > dss[1].Name {
		dss[0], dss[1] = dss[1], dss[0]
	}
	err := m.Run(func(ctx context.Context, c *vim25.Client) error {
		finder := find.NewFinder(c)
		dc, err := finder.DefaultDatacenter(ctx)
		if err != nil {
			return err
		}
		finder.SetDatacenter(dc)
		folders, _ := dc.Folders(ctx)
		pool, err := finder.ResourcePool(ctx, "DC0_C0/Resources")
		if err != nil {
			return err
		}
		f(&vmsEnv{t: t, ctx: ctx, c: c, dc: dc, folder: folders.VmFolder, pool: pool, ds: dss})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (e *vmsEnv) dcRef() *types.ManagedObjectReference {
	ref := e.dc.Reference()
	return &ref
}

func (e *vmsEnv) wait(task *object.Task, err error) types.AnyType {
	e.t.Helper()
	if err != nil {
		e.t.Fatal(err)
	}
	info, err := task.WaitForResult(e.ctx, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return info.Result
}

func (e *vmsEnv) waitFault(task *object.Task, err error) error {
	e.t.Helper()
	if err != nil {
		return err
	}
	_, err = task.WaitForResult(e.ctx, nil)
	return err
}

func (e *vmsEnv) local(dsPath string) string {
	_, p, f := resolveDsPath(e.dcRef(), dsPath)
	if f != nil {
		e.t.Fatal(f)
	}
	return p
}

// newVM creates a VM with one SCSI disk on a real 64 MiB thick base disk.
func (e *vmsEnv) newVM(name string) *object.VirtualMachine {
	e.t.Helper()
	ds := e.ds[0].Name
	spec := types.VirtualMachineConfigSpec{Name: name, GuestId: "otherGuest", Files: &types.VirtualMachineFileInfo{VmPathName: "[" + ds + "]"}}
	ref := e.wait(e.folder.CreateVM(e.ctx, spec, e.pool, nil)).(types.ManagedObjectReference)
	vm := object.NewVirtualMachine(e.c, ref)
	file := "[" + ds + "] " + name + "/" + name + ".vmdk"
	if f := createBaseDisk(file, e.dcRef(), 64<<20, false, "lsiLogic"); f != nil {
		e.t.Fatal(f)
	}
	devices, _ := vm.Device(e.ctx)
	scsi, _ := devices.CreateSCSIController("lsilogic")
	s := scsi.(types.BaseVirtualSCSIController).GetVirtualSCSIController()
	s.Key = 1000
	unit := int32(0)
	disk := &types.VirtualDisk{
		VirtualDevice: types.VirtualDevice{
			Key: -1, ControllerKey: 1000, UnitNumber: &unit,
			Backing: &types.VirtualDiskFlatVer2BackingInfo{
				VirtualDeviceFileBackingInfo: types.VirtualDeviceFileBackingInfo{FileName: file},
				DiskMode:                     "persistent", ThinProvisioned: types.NewBool(false),
			},
		},
		CapacityInKB: 64 << 10, CapacityInBytes: 64 << 20,
	}
	cfg := types.VirtualMachineConfigSpec{DeviceChange: []types.BaseVirtualDeviceConfigSpec{
		&types.VirtualDeviceConfigSpec{Operation: "add", Device: scsi},
		&types.VirtualDeviceConfigSpec{Operation: "add", Device: disk},
	}}
	e.wait(vm.Reconfigure(e.ctx, cfg))
	return vm
}

func (e *vmsEnv) props(vm *object.VirtualMachine) mo.VirtualMachine {
	e.t.Helper()
	var m mo.VirtualMachine
	if err := vm.Properties(e.ctx, vm.Reference(), []string{"name", "config", "snapshot", "datastore", "resourcePool", "runtime"}, &m); err != nil {
		e.t.Fatal(err)
	}
	return m
}

// backing returns the VM's (only) disk backing as read by a client.
func (e *vmsEnv) backing(vm *object.VirtualMachine) *types.VirtualDiskFlatVer2BackingInfo {
	e.t.Helper()
	m := e.props(vm)
	for _, d := range m.Config.Hardware.Device {
		if _, b := diskAndBacking(d); b != nil {
			return b
		}
	}
	e.t.Fatal("no disk")
	return nil
}

// logical reads n bytes at off of the disk chain at file.
func (e *vmsEnv) logical(file string, off int64, n int) string {
	e.t.Helper()
	tmp, _, f := flattenToTemp(e.dcRef(), file)
	if f != nil {
		entries, _ := ioutil.ReadDir(filepath.Dir(e.local(file)))
		for _, x := range entries {
			b, _ := ioutil.ReadFile(filepath.Join(filepath.Dir(e.local(file)), x.Name()))
			if len(b) > 2000 {
				b = b[:20]
			}
			e.t.Logf("%s %d\n%s", x.Name(), x.Size(), b)
		}
		e.t.Fatalf("%s: %#v", file, f)
	}
	defer os.Remove(tmp)
	b := make([]byte, n)
	fd, _ := os.Open(tmp)
	defer fd.Close()
	_, _ = fd.ReadAt(b, off)
	return string(b)
}

// write writes s at off into the data file of the disk at file.
func (e *vmsEnv) write(file string, off int64, s string) {
	e.t.Helper()
	df, f := openDisk(e.dcRef(), file)
	if f != nil {
		e.t.Fatal(f)
	}
	fd, err := os.OpenFile(df.data, os.O_RDWR, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	defer fd.Close()
	// A delta's unit is a file-system block: write whole 4 KiB blocks, as
	// a redo log copies a grain before a partial write.
	buf := make([]byte, 4096)
	copy(buf, s)
	if _, err := fd.WriteAt(buf, off); err != nil {
		e.t.Fatal(err)
	}
}

func (e *vmsEnv) exists(file string) bool { return fileExists(e.local(file)) }

func snapRef(m mo.VirtualMachine, name string) types.ManagedObjectReference {
	var find func([]types.VirtualMachineSnapshotTree) *types.ManagedObjectReference
	find = func(tree []types.VirtualMachineSnapshotTree) *types.ManagedObjectReference {
		for _, n := range tree {
			if n.Name == name {
				return &n.Snapshot
			}
			if r := find(n.ChildSnapshotList); r != nil {
				return r
			}
		}
		return nil
	}
	if m.Snapshot == nil {
		return types.ManagedObjectReference{}
	}
	if r := find(m.Snapshot.RootSnapshotList); r != nil {
		return *r
	}
	return types.ManagedObjectReference{}
}

func TestVMSnapshotDeltaRevertConsolidate(t *testing.T) {
	vmsRun(t, func(e *vmsEnv) {
		vm := e.newVM("vol1")
		base := e.backing(vm).FileName
		e.write(base, 0, "AAAA")
		ds := e.ds[0]
		unc := ds.Summary.Uncommitted

		s1 := e.wait(vm.CreateSnapshot(e.ctx, "s1", "first", false, false)).(types.ManagedObjectReference)
		b := e.backing(vm)
		if !strings.HasSuffix(b.FileName, "vol1/vol1-000001.vmdk") || b.Parent == nil || b.Parent.FileName != base {
			t.Fatalf("delta backing %+v", b)
		}
		if !e.exists(b.FileName) || !fileExists(vmdkDataName(e.local(b.FileName), true)) {
			t.Fatal("delta files missing")
		}
		if ds.Summary.Uncommitted != unc+64<<20 {
			t.Fatalf("delta charge %d", ds.Summary.Uncommitted-unc)
		}
		m := e.props(vm)
		if m.Snapshot.CurrentSnapshot.Value != s1.Value || m.Snapshot.RootSnapshotList[0].Name != "s1" {
			t.Fatalf("tree %+v", m.Snapshot)
		}
		var sm mo.VirtualMachineSnapshot
		_ = vm.Properties(e.ctx, s1, []string{"config"}, &sm)
		_, sb := diskAndBacking(object.VirtualDeviceList(sm.Config.Hardware.Device).SelectByType((*types.VirtualDisk)(nil))[0])
		if sb.FileName != base {
			t.Fatalf("snapshot records %s", sb.FileName)
		}

		// Write after the snapshot, then revert: bytes at snapshot time.
		e.write(b.FileName, 0, "BBBB")
		if got := e.logical(b.FileName, 0, 4); got != "BBBB" {
			t.Fatalf("logical %q", got)
		}
		old := b.FileName
		rr, err := methods.RevertToSnapshot_Task(e.ctx, e.c, &types.RevertToSnapshot_Task{This: s1})
		e.wait(object.NewTask(e.c, rr.Returnval), err)
		b = e.backing(vm)
		if e.exists(old) || b.Parent == nil || b.Parent.FileName != base {
			t.Fatalf("after revert %+v (old exists %v)", b, e.exists(old))
		}
		if got := e.logical(b.FileName, 0, 4); got != "AAAA" {
			t.Fatalf("after revert %q", got)
		}
		if ds.Summary.Uncommitted != unc+64<<20 {
			t.Fatalf("revert charge %d", ds.Summary.Uncommitted-unc)
		}

		// Nested snapshot, then remove both: consolidation keeps bytes.
		e.write(b.FileName, 8192, "CCCC")
		s2 := e.wait(vm.CreateSnapshot(e.ctx, "s2", "", false, false)).(types.ManagedObjectReference)
		m = e.props(vm)
		if len(m.Snapshot.RootSnapshotList) != 1 || m.Snapshot.RootSnapshotList[0].ChildSnapshotList[0].Snapshot != s2 {
			t.Fatalf("nested tree %+v", m.Snapshot.RootSnapshotList)
		}
		top := e.backing(vm).FileName
		e.write(top, 16384, "DDDD")
		e.wait(vm.RemoveSnapshot(e.ctx, "s2", false, nil))
		b = e.backing(vm)
		if e.exists(top) || b.Parent == nil || b.Parent.FileName != base {
			t.Fatalf("after remove s2 %+v", b)
		}
		if got := e.logical(b.FileName, 0, 16388); got[0:4] != "AAAA" || got[8192:8196] != "CCCC" || got[16384:] != "DDDD" {
			t.Fatalf("after remove s2 %q", got[:4]+got[8192:8196]+got[16384:])
		}
		m = e.props(vm)
		if m.Snapshot.CurrentSnapshot.Value != s1.Value {
			t.Fatalf("current %v", m.Snapshot.CurrentSnapshot)
		}
		e.wait(vm.RemoveSnapshot(e.ctx, "s1", false, nil))
		b = e.backing(vm)
		if b.FileName != base || b.Parent != nil {
			t.Fatalf("after remove s1 %+v", b)
		}
		if got := e.logical(base, 0, 16388); got[0:4] != "AAAA" || got[8192:8196] != "CCCC" || got[16384:] != "DDDD" {
			t.Fatalf("after remove s1")
		}
		if ds.Summary.Uncommitted != unc {
			t.Fatalf("refund %d", ds.Summary.Uncommitted-unc)
		}
		if m = e.props(vm); m.Snapshot != nil {
			t.Fatalf("snapshot left %+v", m.Snapshot)
		}
		entries, _ := ioutil.ReadDir(filepath.Dir(e.local(base)))
		for _, f := range entries {
			if strings.Contains(f.Name(), "-00000") {
				t.Fatalf("left %s", f.Name())
			}
		}
	})
}

func TestVMSnapshotRenameExportRemoveAll(t *testing.T) {
	vmsRun(t, func(e *vmsEnv) {
		vm := e.newVM("vol2")
		base := e.backing(vm).FileName
		e.write(base, 0, "snap-bytes")
		s1 := e.wait(vm.CreateSnapshot(e.ctx, "s1", "d", false, false)).(types.ManagedObjectReference)
		e.write(e.backing(vm).FileName, 0, "after-snap")
		e.wait(vm.CreateSnapshot(e.ctx, "s2", "", false, false))
		_, err := methods.RenameSnapshot(e.ctx, e.c, &types.RenameSnapshot{This: s1, Name: "renamed", Description: "desc2"})
		if err != nil {
			t.Fatal(err)
		}
		m := e.props(vm)
		if n := m.Snapshot.RootSnapshotList[0]; n.Name != "renamed" || n.Description != "desc2" {
			t.Fatalf("rename %+v", n)
		}
		res, err := methods.ExportSnapshot(e.ctx, e.c, &types.ExportSnapshot{This: s1})
		if err != nil {
			t.Fatal(err)
		}
		lease, _ := nfcLease.Load(res.Returnval)
		l := lease.(*HttpNfcLease)
		if len(l.Info.DeviceUrl) != 1 || !*l.Info.DeviceUrl[0].Disk {
			t.Fatalf("lease %+v", l.Info)
		}
		u := strings.Replace(l.Info.DeviceUrl[0].Url, "*", e.c.URL().Host, 1)
		hc := &http.Client{Transport: e.c.Client.DefaultTransport()}
		resp, err := hc.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := ioutil.ReadAll(resp.Body)
		resp.Body.Close()
		// A streamOptimized VMDK (checked in depth by the functional tests).
		if string(body[:4]) != "KDMV" || !strings.Contains(string(body[512:2048]), `createType="streamOptimized"`) {
			t.Fatalf("export %d %q", len(body), body[:10])
		}
		ra, err := methods.RemoveAllSnapshots_Task(e.ctx, e.c, &types.RemoveAllSnapshots_Task{This: vm.Reference()})
		e.wait(object.NewTask(e.c, ra.Returnval), err)
		b := e.backing(vm)
		if b.FileName != base || b.Parent != nil || e.logical(base, 0, 10) != "after-snap" {
			t.Fatalf("remove all %+v %q", b, e.logical(base, 0, 10))
		}
	})
}

func TestVMCloneLinkedFullDestroyRelocateRegister(t *testing.T) {
	vmsRun(t, func(e *vmsEnv) {
		src := e.newVM("src")
		base := e.backing(src).FileName
		e.write(base, 0, "at-snapshot")
		snap := e.wait(src.CreateSnapshot(e.ctx, "tmp", "", false, false)).(types.ManagedObjectReference)
		srcTop := e.backing(src).FileName
		e.write(srcTop, 0, "source-later")

		// Linked clone from the snapshot: a delta over the snapshot's file.
		spec := types.VirtualMachineCloneSpec{
			Snapshot: &snap,
			Location: types.VirtualMachineRelocateSpec{DiskMoveType: string(types.VirtualMachineRelocateDiskMoveOptionsCreateNewChildDiskBacking)},
			Config:   &types.VirtualMachineConfigSpec{ExtraConfig: []types.BaseOptionValue{&types.OptionValue{Key: "cinder.volume.id", Value: "v-linked"}}},
		}
		linked := object.NewVirtualMachine(e.c, e.wait(src.Clone(e.ctx, e.folder, "linked", spec)).(types.ManagedObjectReference))
		lb := e.backing(linked)
		if lb.Parent == nil || lb.Parent.FileName != base || !strings.Contains(lb.FileName, "linked/") {
			t.Fatalf("linked backing %+v", lb)
		}
		if e.backing(src).FileName != srcTop {
			t.Fatal("source disk changed by clone")
		}
		if got := e.logical(lb.FileName, 0, 11); got != "at-snapshot" {
			t.Fatalf("linked bytes %q", got)
		}
		lm := e.props(linked)
		found := false
		for _, o := range lm.Config.ExtraConfig {
			found = found || o.GetOptionValue().Key == "cinder.volume.id" && o.GetOptionValue().Value == "v-linked"
		}
		if !found {
			t.Fatal("extraConfig not applied")
		}
		if spec.Location.DiskMoveType = ""; true {
			spec.Snapshot = nil
		}

		// Full clone of the snapshot state onto ds[1].
		ds1 := e.ds[1]
		ref := ds1.Reference()
		free1 := ds1.Summary.FreeSpace
		full := object.NewVirtualMachine(e.c, e.wait(src.Clone(e.ctx, e.folder, "full", types.VirtualMachineCloneSpec{
			Snapshot: &snap,
			Location: types.VirtualMachineRelocateSpec{Datastore: &ref, DiskMoveType: string(types.VirtualMachineRelocateDiskMoveOptionsMoveAllDiskBackingsAndDisallowSharing)},
		})).(types.ManagedObjectReference))
		fb := e.backing(full)
		if fb.Parent != nil || !strings.HasPrefix(fb.FileName, "["+ds1.Name+"] full/full.vmdk") {
			t.Fatalf("full backing %+v", fb)
		}
		if e.logical(fb.FileName, 0, 11) != "at-snapshot" || ds1.Summary.FreeSpace != free1-64<<20 {
			t.Fatalf("full copy %q free %d", e.logical(fb.FileName, 0, 11), free1-ds1.Summary.FreeSpace)
		}
		e.write(fb.FileName, 0, "independent")
		if e.logical(srcTop, 0, 12) != "source-later" || e.logical(lb.FileName, 0, 11) != "at-snapshot" {
			t.Fatal("full clone not independent")
		}

		// No space: NoDiskSpace and nothing left behind.
		ds1.Summary.FreeSpace = 1 << 20
		err := e.waitFault(src.Clone(e.ctx, e.folder, "nospace", types.VirtualMachineCloneSpec{Location: types.VirtualMachineRelocateSpec{Datastore: &ref}}))
		if err == nil || !strings.Contains(err.Error(), "NoDiskSpace") && !strings.Contains(err.Error(), "space") {
			t.Fatalf("expected NoDiskSpace, got %v", err)
		}
		if fileExists(e.local("[" + ds1.Name + "] nospace")) {
			t.Fatal("nospace left files")
		}
		ds1.Summary.FreeSpace = free1 - 64<<20

		// Removing the snapshot keeps the base the linked clone uses.
		e.wait(src.RemoveSnapshot(e.ctx, "tmp", false, nil))
		if !e.exists(base) || e.backing(src).FileName != srcTop || e.logical(lb.FileName, 0, 11) != "at-snapshot" {
			t.Fatal("shared base consolidated away")
		}
		// Destroying the source keeps the shared base; the clone still reads.
		e.wait(src.Destroy(e.ctx))
		if !e.exists(base) || e.exists(srcTop) {
			t.Fatalf("destroy src: base %v top %v", e.exists(base), e.exists(srcTop))
		}
		if e.logical(lb.FileName, 0, 11) != "at-snapshot" {
			t.Fatal("clone lost its parent")
		}
		// The last user takes the base with it.
		e.wait(linked.Destroy(e.ctx))
		if e.exists(base) || e.exists(lb.FileName) {
			t.Fatal("linked destroy left files")
		}

		// Relocate the full clone back to ds[0]: files and charge move.
		ds0 := e.ds[0]
		r0 := ds0.Reference()
		free0 := ds0.Summary.FreeSpace
		e.wait(full.Relocate(e.ctx, types.VirtualMachineRelocateSpec{Datastore: &r0}, types.VirtualMachineMovePriorityDefaultPriority))
		rb := e.backing(full)
		if !strings.HasPrefix(rb.FileName, "["+ds0.Name+"] full/") || e.exists(fb.FileName) || e.logical(rb.FileName, 0, 11) != "independent" {
			t.Fatalf("relocate %+v", rb)
		}
		if ds0.Summary.FreeSpace != free0-64<<20 || ds1.Summary.FreeSpace != free1 {
			t.Fatalf("relocate figures %d %d", free0-ds0.Summary.FreeSpace, free1-ds1.Summary.FreeSpace)
		}
		fm := e.props(full)
		if !strings.HasPrefix(fm.Config.Files.VmPathName, "["+ds0.Name+"]") || len(fm.Datastore) != 1 || fm.Datastore[0] != r0 {
			t.Fatalf("relocate home %s %v", fm.Config.Files.VmPathName, fm.Datastore)
		}
		if fileExists(e.local("[" + ds1.Name + "] full")) {
			t.Fatal("old home left")
		}

		// Unregister + register keeps the disk.
		vmx := fm.Config.Files.VmPathName
		if err := full.Unregister(e.ctx); err != nil {
			t.Fatal(err)
		}
		host := object.NewHostSystem(e.c, *fm.Runtime.Host)
		back := object.NewVirtualMachine(e.c, e.wait(e.folder.RegisterVM(e.ctx, vmx, "", false, e.pool, host)).(types.ManagedObjectReference))
		bb := e.backing(back)
		bm := e.props(back)
		if bb.FileName != rb.FileName || bm.Name != "full" || bm.Config.Uuid != fm.Config.Uuid || bm.Config.InstanceUuid != fm.Config.InstanceUuid {
			t.Fatalf("register %+v %s", bb, bm.Name)
		}
		free0 = ds0.Summary.FreeSpace
		e.wait(back.Destroy(e.ctx))
		if e.exists(rb.FileName) || ds0.Summary.FreeSpace != free0+64<<20 {
			t.Fatal("destroy did not delete/refund")
		}
	})
}

func TestVMCloneDiskTypeAndDisksToClone(t *testing.T) {
	vmsRun(t, func(e *vmsEnv) {
		src := e.newVM("src2")
		disk := object.VirtualDeviceList(e.props(src).Config.Hardware.Device).SelectByType((*types.VirtualDisk)(nil))[0].(*types.VirtualDisk)
		ds1 := e.ds[1]
		ref := ds1.Reference()
		free, unc := ds1.Summary.FreeSpace, ds1.Summary.Uncommitted

		// A locator's diskBackingInfo converts the copy's provisioning.
		thin := object.NewVirtualMachine(e.c, e.wait(src.Clone(e.ctx, e.folder, "thin", types.VirtualMachineCloneSpec{
			Location: types.VirtualMachineRelocateSpec{Datastore: &ref, Disk: []types.VirtualMachineRelocateSpecDiskLocator{{
				DiskId: disk.Key, Datastore: ref,
				DiskBackingInfo: &types.VirtualDiskFlatVer2BackingInfo{ThinProvisioned: types.NewBool(true), DiskMode: "persistent"},
			}}},
		})).(types.ManagedObjectReference))
		b := e.backing(thin)
		d, _ := readDescriptor(e.local(b.FileName))
		if !*b.ThinProvisioned || !d.Thin() || ds1.Summary.FreeSpace != free || ds1.Summary.Uncommitted != unc+64<<20 {
			t.Fatalf("thin clone %+v %v free %d unc %d", b, d.Thin(), free-ds1.Summary.FreeSpace, ds1.Summary.Uncommitted-unc)
		}

		// Disks removed by spec.config.deviceChange are not cloned.
		noDisk := object.NewVirtualMachine(e.c, e.wait(src.Clone(e.ctx, e.folder, "nodisk", types.VirtualMachineCloneSpec{
			Location: types.VirtualMachineRelocateSpec{Datastore: &ref},
			Config: &types.VirtualMachineConfigSpec{DeviceChange: []types.BaseVirtualDeviceConfigSpec{
				&types.VirtualDeviceConfigSpec{Operation: types.VirtualDeviceConfigSpecOperationRemove, Device: disk},
			}},
		})).(types.ManagedObjectReference))
		if n := len(object.VirtualDeviceList(e.props(noDisk).Config.Hardware.Device).SelectByType((*types.VirtualDisk)(nil))); n != 0 {
			t.Fatalf("nodisk has %d disks", n)
		}
		if len(object.VirtualDeviceList(e.props(src).Config.Hardware.Device).SelectByType((*types.VirtualDisk)(nil))) != 1 {
			t.Fatal("source lost its disk")
		}

		// Clone as template, then back to a VM.
		tmpl := object.NewVirtualMachine(e.c, e.wait(src.Clone(e.ctx, e.folder, "tmpl", types.VirtualMachineCloneSpec{Template: true})).(types.ManagedObjectReference))
		if m := e.props(tmpl); !m.Config.Template || m.ResourcePool != nil {
			t.Fatalf("template %v %v", m.Config.Template, m.ResourcePool)
		}
	})
}
