package simulator

// Tests of the disk-file layer (vmdk_disk.go) and datastore accounting
// (datastore_space.go), run inside govmomi's simulator package copy.

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/vmware/govmomi/vim25/types"
)

const gib = int64(1) << 30

// diskTestModel builds a VPX model with two datastores whose figures are
// bookkeeping set here (capacity 10 GiB, free 4 GiB).
func diskTestModel(t *testing.T) (*Model, *types.ManagedObjectReference, []*Datastore) {
	m := VPX()
	m.Datastore = 2
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	dc := Map.Any("Datacenter").(*Datacenter)
	var dss []*Datastore
	for _, e := range Map.All("Datastore") {
		ds := e.(*Datastore)
		ds.Summary.Capacity = 10 * gib
		ds.Summary.FreeSpace = 4 * gib
		ds.Summary.Uncommitted = 0
		dss = append(dss, ds)
	}
	return m, &dc.Self, dss
}

func dsLocal(ds *Datastore, rel string) string {
	return filepath.Join(ds.Info.GetDatastoreInfo().Url, rel)
}

func TestDiskLayerCreateDeleteCharges(t *testing.T) {
	m, dc, dss := diskTestModel(t)
	defer m.Remove()
	ds := dss[0]
	name := "[" + ds.Name + "] d/thick disk [1].vmdk"
	if f := createBaseDisk(name, dc, gib, false, "lsiLogic"); f == nil {
		t.Fatal("expected FileNotFound for a missing folder")
	}
	_ = os.MkdirAll(dsLocal(ds, "d"), 0o700)
	if f := createBaseDisk(name, dc, gib, false, "lsiLogic"); f != nil {
		t.Fatalf("create: %#v", f)
	}
	if ds.Summary.FreeSpace != 3*gib || ds.Info.GetDatastoreInfo().FreeSpace != 3*gib {
		t.Fatalf("free %d", ds.Summary.FreeSpace)
	}
	st, err := os.Stat(dsLocal(ds, "d/thick disk [1]-flat.vmdk"))
	if err != nil || st.Size() != gib {
		t.Fatalf("flat: %v %v", st, err)
	}
	d, err := readDescriptor(dsLocal(ds, "d/thick disk [1].vmdk"))
	if err != nil || d.Capacity() != gib || d.Thin() || len(d.UUID()) != 47 {
		t.Fatalf("descriptor %+v %v", d, err)
	}
	if f := createBaseDisk(name, dc, gib, false, ""); f == nil {
		t.Fatal("expected FileAlreadyExists")
	}
	// Thick that does not fit: NoDiskSpace, nothing left behind.
	big := "[" + ds.Name + "] d/big.vmdk"
	f := createBaseDisk(big, dc, 5*gib, false, "")
	if nds, ok := f.(*types.NoDiskSpace); !ok || nds.Datastore != ds.Name {
		t.Fatalf("expected NoDiskSpace, got %#v", f)
	}
	if fileExists(dsLocal(ds, "d/big.vmdk")) || fileExists(dsLocal(ds, "d/big-flat.vmdk")) {
		t.Fatal("left a file behind")
	}
	// Thin only adds to uncommitted.
	if f := createBaseDisk(big, dc, 5*gib, true, ""); f != nil {
		t.Fatal(f)
	}
	if ds.Summary.FreeSpace != 3*gib || ds.Summary.Uncommitted != 5*gib {
		t.Fatalf("figures %+v", ds.Summary)
	}
	if f := extendDisk(big, dc, 6*gib); f != nil {
		t.Fatal(f)
	}
	if f := extendDisk(big, dc, 2*gib); f == nil {
		t.Fatal("shrink accepted")
	}
	if ds.Summary.Uncommitted != 6*gib {
		t.Fatalf("uncommitted %d", ds.Summary.Uncommitted)
	}
	if f := deleteDisk(big, dc); f != nil {
		t.Fatal(f)
	}
	if f := deleteDisk(name, dc); f != nil {
		t.Fatal(f)
	}
	if ds.Summary.FreeSpace != 4*gib || ds.Summary.Uncommitted != 0 {
		t.Fatalf("figures after delete %+v", ds.Summary)
	}
	if _, ok := deleteDisk(name, dc).(*types.FileNotFound); !ok {
		t.Fatal("expected FileNotFound")
	}
	for _, bad := range []string{"[" + ds.Name + "] ../x.vmdk", "[" + ds.Name + "] /etc/x.vmdk", "no brackets"} {
		if _, ok := createBaseDisk(bad, dc, gib, true, "").(*types.InvalidDatastorePath); !ok {
			t.Fatalf("%q accepted", bad)
		}
	}
}

func TestDiskLayerDeltaCopyMove(t *testing.T) {
	m, dc, dss := diskTestModel(t)
	defer m.Remove()
	a, b := dss[0], dss[1]
	_ = os.MkdirAll(dsLocal(a, "vm"), 0o700)
	_ = os.MkdirAll(dsLocal(b, "copies"), 0o700)
	base := "[" + a.Name + "] vm/base.vmdk"
	delta := "[" + a.Name + "] vm/base-000001.vmdk"
	if f := createBaseDisk(base, dc, 64<<20, true, ""); f != nil {
		t.Fatal(f)
	}
	writeAt(t, dsLocal(a, "vm/base-flat.vmdk"), 0, "base-at-0")
	writeAt(t, dsLocal(a, "vm/base-flat.vmdk"), 8<<20, "base-at-8M")
	if f := createDeltaDisk(delta, base, dc); f != nil {
		t.Fatal(f)
	}
	writeAt(t, dsLocal(a, "vm/base-000001-delta.vmdk"), 8<<20, "delta-at-8M")
	chain, f := diskChain(delta, dc)
	if f != nil || len(chain) != 2 || chain[1] != base {
		t.Fatalf("chain %v %v", chain, f)
	}
	flat := "[" + b.Name + "] copies/flat.vmdk"
	if f := copyDisk(delta, flat, dc, true); f != nil {
		t.Fatal(f)
	}
	p := dsLocal(b, "copies/flat-flat.vmdk")
	if got := readAt(t, p, 0, 9); got != "base-at-0" {
		t.Fatalf("got %q", got)
	}
	if got := readAt(t, p, 8<<20, 11); got != "delta-at-8M" {
		t.Fatalf("got %q", got)
	}
	if b.Summary.Uncommitted != 64<<20 {
		t.Fatalf("copy charge %+v", b.Summary)
	}
	moved := "[" + b.Name + "] copies/moved.vmdk"
	if f := moveDisk(base, moved, dc); f == nil {
		// moving a parent away is allowed; the delta would dangle, like
		// vSphere, so move it back afterwards.
		if f := moveDisk(moved, base, dc); f != nil {
			t.Fatal(f)
		}
	} else {
		t.Fatal(f)
	}
	if f := moveDisk(flat, "["+a.Name+"] vm/flat.vmdk", dc); f != nil {
		t.Fatal(f)
	}
	if b.Summary.Uncommitted != 0 || a.Summary.Uncommitted != 3*(64<<20) {
		t.Fatalf("move figures a=%+v b=%+v", a.Summary, b.Summary)
	}
	if got := readAt(t, dsLocal(a, "vm/flat-flat.vmdk"), 8<<20, 11); got != "delta-at-8M" {
		t.Fatalf("got %q", got)
	}
	if f := setDiskUUID(base, dc, "6000c291-2345-6789-abcd-ef0123456789"); f != nil {
		t.Fatal(f)
	}
	d, _ := readDescriptor(dsLocal(a, "vm/base.vmdk"))
	if d.UUID() != "60 00 C2 91 23 45 67 89-ab cd ef 01 23 45 67 89" {
		t.Fatalf("uuid %q", d.UUID())
	}
}

func writeAt(t *testing.T, p string, off int64, s string) {
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err = f.WriteAt([]byte(s), off); err != nil {
		t.Fatal(err)
	}
}

func readAt(t *testing.T, p string, off int64, n int) string {
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, n)
	if _, err = f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	return string(b)
}
