package simulator

// Go tests of the simulator's strictness where vCenter is strict: destroy
// deletes attached disks, absent-device removal and double attachment are
// refused, DuplicateName on CreateVM, no files left by a failed CreateVM,
// FileAlreadyExists on MakeDirectory, extents that leave the datastore.

import (
	"io/ioutil"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/types"
)

func (e *vmsEnv) attachSpec(vm *object.VirtualMachine, file string, unit int32) *types.VirtualDeviceConfigSpec {
	e.t.Helper()
	devices, err := vm.Device(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	ctl, err := devices.FindSCSIController("")
	if err != nil {
		e.t.Fatal(err)
	}
	return &types.VirtualDeviceConfigSpec{Operation: "add", Device: &types.VirtualDisk{
		VirtualDevice: types.VirtualDevice{
			Key: -300 - unit, ControllerKey: ctl.Key, UnitNumber: &unit,
			Backing: &types.VirtualDiskFlatVer2BackingInfo{
				VirtualDeviceFileBackingInfo: types.VirtualDeviceFileBackingInfo{FileName: file},
				DiskMode:                     "persistent",
			},
		},
	}}
}

func (e *vmsEnv) reconfig(vm *object.VirtualMachine, specs ...types.BaseVirtualDeviceConfigSpec) error {
	return e.waitFault(vm.Reconfigure(e.ctx, types.VirtualMachineConfigSpec{DeviceChange: specs}))
}

func dirTree(t *testing.T, root string) []string {
	var out []string
	_ = filepath.Walk(root, func(p string, _ os.FileInfo, err error) error {
		if err == nil {
			out = append(out, p)
		}
		return nil
	})
	sort.Strings(out)
	return out
}

func TestStrictDestroyRemoveAttach(t *testing.T) {
	vmsRun(t, func(e *vmsEnv) {
		ds := "[" + e.ds[0].Name + "] "
		loose := ds + "loose.vmdk"
		if f := createBaseDisk(loose, e.dcRef(), 8<<20, false, "lsiLogic"); f != nil {
			t.Fatal(f)
		}
		one, two := e.newVM("one"), e.newVM("two")
		if err := e.reconfig(one, e.attachSpec(one, loose, 1)); err != nil {
			t.Fatal(err)
		}
		if err := e.reconfig(one, e.attachSpec(one, loose, 2)); !isFault(err, "InvalidDeviceSpec") {
			t.Fatalf("attached twice to one VM: %v", err)
		}
		if err := e.reconfig(two, e.attachSpec(two, loose, 1)); !isFault(err, "FileLocked") {
			t.Fatalf("attached to a second VM: %v", err)
		}
		devices, _ := one.Device(e.ctx)
		disk := devices.SelectByBackingInfo(&types.VirtualDiskFlatVer2BackingInfo{
			VirtualDeviceFileBackingInfo: types.VirtualDeviceFileBackingInfo{FileName: loose}})
		if len(disk) != 1 {
			t.Fatalf("disks on %s: %d", loose, len(disk))
		}
		remove := &types.VirtualDeviceConfigSpec{Operation: "remove", Device: disk[0]}
		if err := e.reconfig(one, remove); err != nil {
			t.Fatal(err)
		}
		if err := e.reconfig(one, remove); !isFault(err, "InvalidDeviceSpec") {
			t.Fatalf("removed twice: %v", err)
		}
		if !e.exists(loose) {
			t.Fatal("a detached disk was deleted")
		}
		// attached again, from outside the VM's folder: destroy takes it
		if err := e.reconfig(two, e.attachSpec(two, loose, 1)); err != nil {
			t.Fatal(err)
		}
		e.wait(two.Destroy(e.ctx))
		if e.exists(loose) || e.exists(ds+"two/two.vmdk") {
			t.Fatal("destroy left the VM's attached disks")
		}
		if !e.exists(ds + "one/one.vmdk") {
			t.Fatal("destroy of two deleted one's disk")
		}
	})
}

func TestStrictCreateVM(t *testing.T) {
	vmsRun(t, func(e *vmsEnv) {
		ds := e.ds[0]
		e.newVM("dup")
		before := dirTree(t, ds.Info.GetDatastoreInfo().Url)
		spec := types.VirtualMachineConfigSpec{Name: "dup", GuestId: "otherGuest", Files: &types.VirtualMachineFileInfo{VmPathName: "[" + ds.Name + "]"}}
		if err := e.waitFault(e.folder.CreateVM(e.ctx, spec, e.pool, nil)); !isFault(err, "DuplicateName") {
			t.Fatalf("a used name: %v", err)
		}
		// a failing disk: its VM folder, vmx, nvram and log go too
		unit := int32(0)
		spec.Name = "fails"
		spec.DeviceChange = []types.BaseVirtualDeviceConfigSpec{
			&types.VirtualDeviceConfigSpec{Operation: "add", Device: &types.VirtualLsiLogicController{VirtualSCSIController: types.VirtualSCSIController{
				VirtualController: types.VirtualController{VirtualDevice: types.VirtualDevice{Key: -10}}}}},
			&types.VirtualDeviceConfigSpec{Operation: "add", FileOperation: "create", Device: &types.VirtualDisk{
				VirtualDevice: types.VirtualDevice{Key: -11, ControllerKey: -10, UnitNumber: &unit,
					Backing: &types.VirtualDiskFlatVer2BackingInfo{
						VirtualDeviceFileBackingInfo: types.VirtualDeviceFileBackingInfo{FileName: "[" + ds.Name + "]"},
						DiskMode:                     "persistent", ThinProvisioned: types.NewBool(false)}},
				CapacityInKB: 500 << 20}},
		}
		if err := e.waitFault(e.folder.CreateVM(e.ctx, spec, e.pool, nil)); !isFault(err, "NoDiskSpace") {
			t.Fatalf("a disk too big: %v", err)
		}
		if after := dirTree(t, ds.Info.GetDatastoreInfo().Url); len(after) != len(before) {
			t.Fatalf("a failed CreateVM left files:\nbefore %v\nafter  %v", before, after)
		}
		fm := object.NewFileManager(e.c)
		if err := fm.MakeDirectory(e.ctx, "["+ds.Name+"] dup", e.dc, true); !isFault(err, "FileAlreadyExists") {
			t.Fatalf("MakeDirectory of an existing folder: %v", err)
		}
	})
}

func TestStrictExtentsStayInTheDatastore(t *testing.T) {
	vmsRun(t, func(e *vmsEnv) {
		ds := e.ds[0]
		root := ds.Info.GetDatastoreInfo().Url
		outside := filepath.Join(t.TempDir(), "victim")
		if err := ioutil.WriteFile(outside, []byte("keep me"), 0o600); err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, outside)
		for i, extent := range []string{outside, rel, "../" + rel} {
			name := filepath.Join(root, "evil.vmdk")
			d := newBaseDescriptor(extent, 1<<20, false, "lsilogic")
			if err := writeDescriptor(name, d); err != nil {
				t.Fatal(err)
			}
			dsPath := "[" + ds.Name + "] evil.vmdk"
			if _, f := openDisk(e.dcRef(), dsPath); f == nil {
				t.Fatalf("extent %d %q was opened", i, extent)
			}
			if f := copyDisk(dsPath, "["+ds.Name+"] copy.vmdk", e.dcRef(), true); f == nil {
				t.Fatalf("extent %d %q was copied", i, extent)
			}
			if f := deleteDisk(dsPath, e.dcRef()); f != nil {
				t.Fatal(f)
			}
			if b, err := ioutil.ReadFile(outside); err != nil || string(b) != "keep me" {
				t.Fatalf("extent %d %q: the file outside is %q %v", i, extent, b, err)
			}
			if fileExists(name) {
				t.Fatal("the descriptor was not deleted")
			}
		}
	})
}
