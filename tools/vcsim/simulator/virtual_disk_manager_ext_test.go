package simulator

// Go tests of CopyVirtualDisk_Task from a streamOptimized source, the last
// step of os-brick's VMDK restore (a streamOptimized file uploaded through
// /folder is converted onto the volume's disk path), and of export lease
// temporary files going away with their lease.

import (
	"bytes"
	"encoding/binary"
	"io/ioutil"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/task"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/types"
)

// streamOf returns the disk at file as the streamOptimized VMDK an export
// lease serves, and the disk's logical bytes.
func (e *vmsEnv) streamOf(file string) ([]byte, []byte) {
	e.t.Helper()
	served, _, _, f := streamOptimizedExport(e.dcRef(), file, "disk-0.vmdk", "buslogic")
	if f != nil {
		e.t.Fatal(f)
	}
	defer os.Remove(served)
	stream, err := ioutil.ReadFile(served)
	if err != nil {
		e.t.Fatal(err)
	}
	raw, _, f := flattenToTemp(e.dcRef(), file)
	if f != nil {
		e.t.Fatal(f)
	}
	defer os.Remove(raw)
	disk, err := ioutil.ReadFile(raw)
	if err != nil {
		e.t.Fatal(err)
	}
	return stream, disk
}

// upload puts data at "[ds0] rel" through the /folder HTTP API, as
// oslo.vmware's FileWriteHandle does for os-brick.
func (e *vmsEnv) upload(rel string, data []byte) string {
	e.t.Helper()
	finder := find.NewFinder(e.c)
	finder.SetDatacenter(e.dc)
	ds, err := finder.Datastore(e.ctx, e.ds[0].Name)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := ds.Upload(e.ctx, bytes.NewReader(data), rel, nil); err != nil {
		e.t.Fatal(err)
	}
	return "[" + e.ds[0].Name + "] " + rel
}

func (e *vmsEnv) mkdir(dsPath string) {
	e.t.Helper()
	err := object.NewFileManager(e.c).MakeDirectory(e.ctx, dsPath, e.dc, false)
	if err != nil && !strings.Contains(err.Error(), "FileAlreadyExists") {
		e.t.Fatal(err)
	}
}

// copyDisk runs CopyVirtualDisk_Task (without destSpec when spec is nil).
func (e *vmsEnv) copyDisk(src, dst string, spec *types.VirtualDiskSpec) error {
	e.t.Helper()
	req := types.CopyVirtualDisk_Task{This: *e.c.ServiceContent.VirtualDiskManager,
		SourceName: src, SourceDatacenter: e.dcRef(), DestName: dst, DestDatacenter: e.dcRef()}
	if spec != nil {
		req.DestSpec = spec
	}
	res, err := methods.CopyVirtualDisk_Task(e.ctx, e.c, &req)
	if err != nil {
		return err
	}
	return e.waitFault(object.NewTask(e.c, res.Returnval), nil)
}

func (e *vmsEnv) figures() (int64, int64) {
	return e.ds[0].Summary.FreeSpace, e.ds[0].Summary.Uncommitted
}

func TestCopyVirtualDiskInflatesStreamOptimized(t *testing.T) {
	vmsRun(t, func(e *vmsEnv) {
		vm := e.newVM("vol-a")
		src := e.backing(vm).FileName
		e.write(src, 0, "first grain")
		e.write(src, 33<<20+4096, "middle")
		e.write(src, 64<<20-4096, "last block")
		stream, want := e.streamOf(src)
		ds := e.ds[0].Name
		e.mkdir("[" + ds + "] cinder_temp")
		up := e.upload("cinder_temp/vol-a.vmdk", stream)
		got, err := ioutil.ReadFile(e.local(up))
		if err != nil || !bytes.Equal(got, stream) {
			t.Fatalf("upload landed %d bytes, want %d (%v)", len(got), len(stream), err)
		}
		e.mkdir("[" + ds + "] restored")
		free, unc := e.figures()

		// No destSpec: preallocated, adapter from the embedded descriptor.
		thick := "[" + ds + "] restored/thick.vmdk"
		if err := e.copyDisk(up, thick, nil); err != nil {
			t.Fatal(err)
		}
		d, err := readDescriptor(e.local(thick))
		if err != nil || d.CreateType != "vmfs" || d.Capacity() != 64<<20 || d.Thin() ||
			d.AdapterType() != "buslogic" || d.DataFile() != "thick-flat.vmdk" || d.UUID() == "" {
			t.Fatalf("descriptor %+v %v", d, err)
		}
		if f, u := e.figures(); f != free-64<<20 || u != unc {
			t.Fatalf("thick copy charged free %d uncommitted %d", free-f, u-unc)
		}
		flat, err := ioutil.ReadFile(e.local("[" + ds + "] restored/thick-flat.vmdk"))
		if err != nil || !bytes.Equal(flat, want) {
			t.Fatalf("inflated bytes differ (%d vs %d bytes, %v)", len(flat), len(want), err)
		}
		if e.logical(thick, 64<<20-4096, 10) != "last block" {
			t.Fatal("last block")
		}

		// destSpec thin + lsiLogic is honoured; only uncommitted grows.
		thin := "[" + ds + "] restored/thin.vmdk"
		spec := &types.VirtualDiskSpec{DiskType: "thin", AdapterType: "lsiLogic"}
		if err := e.copyDisk(up, thin, spec); err != nil {
			t.Fatal(err)
		}
		d, _ = readDescriptor(e.local(thin))
		if !d.Thin() || d.AdapterType() != "lsilogic" || e.logical(thin, 33<<20+4096, 6) != "middle" {
			t.Fatalf("thin copy %+v", d)
		}
		if f, u := e.figures(); f != free-64<<20 || u != unc+64<<20 {
			t.Fatalf("thin copy charged free %d uncommitted %d", free-f, u-unc)
		}
		// Zero grains stay holes.
		if st, err := os.Stat(e.local("[" + ds + "] restored/thin-flat.vmdk")); err != nil ||
			st.Sys().(*syscall.Stat_t).Blocks > 1024 { // 3 grains written, of 1024
			t.Fatalf("thin copy allocates too much: %v", err)
		}

		// The uploaded file is no disk of the datastore's: deleting it
		// refunds nothing (it was never charged).
		f0, u0 := e.figures()
		dt, err := object.NewFileManager(e.c).DeleteDatastoreFile(e.ctx, up, e.dc)
		if err := e.waitFault(dt, err); err != nil {
			t.Fatal(err)
		}
		if fileExists(e.local(up)) {
			t.Fatal("upload not deleted")
		}
		if f, u := e.figures(); f != f0 || u != u0 {
			t.Fatalf("deleting the upload changed free by %d, uncommitted by %d", f-f0, u-u0)
		}
	})
}

func TestCopyVirtualDiskRefusesMalformedStream(t *testing.T) {
	vmsRun(t, func(e *vmsEnv) {
		vm := e.newVM("vol-b")
		src := e.backing(vm).FileName
		e.write(src, 0, "grain zero")
		e.write(src, 40<<20, "grain 640")
		good, _ := e.streamOf(src)
		ds := e.ds[0].Name
		e.mkdir("[" + ds + "] cinder_temp")
		e.mkdir("[" + ds + "] restored")
		firstGrain := streamOverhead * streamSector
		cases := []struct {
			name, want string
			data       []byte
		}{
			{"truncated", "no end-of-stream marker", good[:len(good)-3*streamSector]},
			{"bad-grain", "grain at sector 128 (LBA 0)", patch(good, firstGrain+40, []byte("garbage!"))},
			{"huge-grain", "bad grain marker at sector 128", patch(good, firstGrain+8, []byte{0xff, 0xff, 0xff, 0x7f})},
			{"lba-outside", "bad grain marker at sector 128", patch(good, firstGrain, le64(1<<40))},
			{"not-stream", "not streamOptimized (flags 0x1)", patch(good, 8, []byte{1, 0, 0, 0})},
			{"no-descriptor", "truncated in its first 128 sectors", good[:1024]},
			{"not-a-disk", "is not a virtual disk", bytes.Repeat([]byte("raw bytes "), 100)},
		}
		for _, c := range cases {
			up := e.upload("cinder_temp/"+c.name+".vmdk", c.data)
			dst := "[" + ds + "] restored/" + c.name + ".vmdk"
			free, unc := e.figures()
			err := e.copyDisk(up, dst, nil)
			terr, ok := err.(task.Error)
			if !ok {
				t.Fatalf("%s: expected a task fault, got %v", c.name, err)
			}
			if _, ok := terr.Fault().(*types.FileFault); !ok {
				t.Errorf("%s: fault %T", c.name, terr.Fault())
			}
			if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), up) {
				t.Errorf("%s: message %q", c.name, err.Error())
			}
			for _, p := range []string{dst, strings.TrimSuffix(dst, ".vmdk") + "-flat.vmdk"} {
				if fileExists(e.local(p)) {
					t.Errorf("%s: %s left behind", c.name, p)
				}
			}
			if f, u := e.figures(); f != free || u != unc {
				t.Errorf("%s: figures moved by %d/%d", c.name, f-free, u-unc)
			}
		}
	})
}

func patch(b []byte, off int, with []byte) []byte {
	c := append([]byte(nil), b...)
	copy(c[off:], with)
	return c
}

func le64(v uint64) []byte {
	b := make([]byte, 8)
	binary.LittleEndian.PutUint64(b, v)
	return b
}

func TestExportLeaseFilesGoWithTheLease(t *testing.T) {
	vmsRun(t, func(e *vmsEnv) {
		vm := e.newVM("vol-c")
		for _, end := range []string{"complete", "abort"} {
			res, err := methods.ExportVm(e.ctx, e.c, &types.ExportVm{This: vm.Reference()})
			if err != nil {
				t.Fatal(err)
			}
			l, _ := nfcLease.Load(res.Returnval)
			var files []string
			for _, f := range l.(*HttpNfcLease).files {
				files = append(files, f)
			}
			if len(files) != 1 || !fileExists(files[0]) {
				t.Fatalf("export files %v", files)
			}
			if end == "complete" {
				_, err = methods.HttpNfcLeaseComplete(e.ctx, e.c, &types.HttpNfcLeaseComplete{This: res.Returnval})
			} else {
				_, err = methods.HttpNfcLeaseAbort(e.ctx, e.c, &types.HttpNfcLeaseAbort{This: res.Returnval})
			}
			if err != nil {
				t.Fatal(err)
			}
			if fileExists(files[0]) {
				t.Fatalf("%s left %s", end, filepath.Base(files[0]))
			}
		}
		// The VM's disk is untouched.
		if !fileExists(e.local(e.backing(vm).FileName)) {
			t.Fatal("disk gone")
		}
	})
}
