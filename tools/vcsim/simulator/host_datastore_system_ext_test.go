package simulator

import (
	"testing"

	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/types"
)

// The free SAN disks: listed until a VMFS datastore takes one, which is
// then refused to the next CreateVmfsDatastore and to its create options.
func TestVmfsDisksFreeUntilUsed(t *testing.T) {
	m := VPX()
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	defer m.Remove()
	saved := topologyDatastoreRoot
	topologyDatastoreRoot = t.TempDir()
	defer func() { topologyDatastoreRoot = saved }()
	ctx := internalContext
	host := Map.Any("HostSystem").(*HostSystem)
	dss := Map.Get(*host.ConfigManager.DatastoreSystem).(*HostDatastoreSystem)

	free := func() []types.HostScsiDisk {
		r := dss.QueryAvailableDisksForVmfs(ctx, &types.QueryAvailableDisksForVmfs{})
		if r.Fault() != nil {
			t.Fatal(r.Fault())
		}
		return r.(*methods.QueryAvailableDisksForVmfsBody).Res.Returnval
	}
	disks := free()
	if len(disks) != vmfsDiskCount {
		t.Fatalf("%d free disks, want %d", len(disks), vmfsDiskCount)
	}
	opts := dss.QueryVmfsDatastoreCreateOptions(ctx, &types.QueryVmfsDatastoreCreateOptions{DevicePath: disks[0].DevicePath})
	if opts.Fault() != nil {
		t.Fatal(opts.Fault())
	}
	spec := opts.(*methods.QueryVmfsDatastoreCreateOptionsBody).Res.Returnval[0].Spec.(*types.VmfsDatastoreCreateSpec)
	spec.Vmfs.VolumeName = "vmfs-new"
	if r := dss.CreateVmfsDatastore(ctx, &types.CreateVmfsDatastore{Spec: *spec}); r.Fault() != nil {
		t.Fatal(r.Fault())
	}
	ds := Map.FindByName("vmfs-new", Map.getEntityDatacenter(host).Datastore).(*Datastore)
	if ds.Summary.Capacity != vmfsDiskCapacity {
		t.Fatalf("capacity %d, want %d", ds.Summary.Capacity, vmfsDiskCapacity)
	}
	if got := ds.Info.(*types.VmfsDatastoreInfo).Vmfs.Extent; len(got) != 1 || got[0].DiskName != disks[0].CanonicalName {
		t.Fatalf("extents %v", got)
	}
	if n := len(free()); n != vmfsDiskCount-1 {
		t.Fatalf("%d free disks after the create, want %d", n, vmfsDiskCount-1)
	}
	spec.Vmfs.VolumeName = "vmfs-again"
	if r := dss.CreateVmfsDatastore(ctx, &types.CreateVmfsDatastore{Spec: *spec}); r.Fault() == nil {
		t.Fatal("a disk in use was formatted again")
	}
	if r := dss.QueryVmfsDatastoreCreateOptions(ctx, &types.QueryVmfsDatastoreCreateOptions{DevicePath: disks[0].DevicePath}); r.Fault() == nil {
		t.Fatal("create options offered for a disk in use")
	}
	if r := dss.QueryVmfsDatastoreCreateOptions(ctx, &types.QueryVmfsDatastoreCreateOptions{DevicePath: "/vmfs/devices/disks/nope"}); r.Fault() == nil {
		t.Fatal("create options offered for an unknown disk")
	}
}
