package simulator

import (
	"strings"
	"testing"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/types"
)

// A linked clone relocated with moveAllDiskBackingsAndDisallowSharing
// takes copies of the parent files it shares (the source keeps its own),
// so nothing of it stays on the old datastore; with AllowSharing the
// shared parent stays where it is.
func TestVMRelocateSharedParentDisallowSharing(t *testing.T) {
	vmsRun(t, func(e *vmsEnv) {
		src := e.newVM("src")
		base := e.backing(src).FileName
		e.write(base, 0, "at-snapshot")
		snap := e.wait(src.CreateSnapshot(e.ctx, "tmp", "", false, false)).(types.ManagedObjectReference)
		spec := types.VirtualMachineCloneSpec{
			Snapshot: &snap,
			Location: types.VirtualMachineRelocateSpec{DiskMoveType: string(types.VirtualMachineRelocateDiskMoveOptionsCreateNewChildDiskBacking)},
		}
		linked := object.NewVirtualMachine(e.c, e.wait(src.Clone(e.ctx, e.folder, "linked", spec)).(types.ManagedObjectReference))
		e.write(e.backing(linked).FileName, 1<<20, "clone-data")
		ds1 := e.ds[1]
		ref := ds1.Reference()
		prefix := "[" + ds1.Name + "] "

		allow := types.VirtualMachineRelocateSpec{Datastore: &ref, DiskMoveType: string(types.VirtualMachineRelocateDiskMoveOptionsMoveAllDiskBackingsAndAllowSharing)}
		e.wait(linked.Relocate(e.ctx, allow, types.VirtualMachineMovePriorityDefaultPriority))
		if lb := e.backing(linked); !strings.HasPrefix(lb.FileName, prefix) || lb.Parent == nil || lb.Parent.FileName != base {
			t.Fatalf("allow sharing: %+v", lb)
		}

		disallow := types.VirtualMachineRelocateSpec{Datastore: &ref, DiskMoveType: string(types.VirtualMachineRelocateDiskMoveOptionsMoveAllDiskBackingsAndDisallowSharing)}
		e.wait(linked.Relocate(e.ctx, disallow, types.VirtualMachineMovePriorityDefaultPriority))
		lb := e.backing(linked)
		for b := lb; b != nil; b = b.Parent {
			if !strings.HasPrefix(b.FileName, prefix) {
				t.Fatalf("disallow sharing left %s", b.FileName)
			}
		}
		if lb.Parent == nil || lb.Parent.FileName == base {
			t.Fatalf("no copy of the parent: %+v", lb)
		}
		if got := e.logical(lb.FileName, 0, 11) + e.logical(lb.FileName, 1<<20, 10); got != "at-snapshotclone-data" {
			t.Fatalf("clone reads %q", got)
		}
		// The source keeps its base, untouched.
		if !e.exists(base) || e.logical(base, 0, 11) != "at-snapshot" {
			t.Fatal("source's base changed")
		}
		if sb := e.backing(src); sb.Parent == nil || sb.Parent.FileName != base {
			t.Fatalf("source chain %+v", sb)
		}
	})
}
