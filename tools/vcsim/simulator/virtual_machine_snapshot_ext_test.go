// Copyright (c) 2026 cinder-vmware-ext developers
//
//    Licensed under the Apache License, Version 2.0 (the "License"); you may
//    not use this file except in compliance with the License. You may obtain
//    a copy of the License at
//
//         http://www.apache.org/licenses/LICENSE-2.0
//
//    Unless required by applicable law or agreed to in writing, software
//    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
//    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
//    License for the specific language governing permissions and limitations
//    under the License.

package simulator

import (
	"testing"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/types"
)

// disks lists the files of a VM's disks now, in device order.
func (e *vmsEnv) diskFiles(vm *object.VirtualMachine) []string {
	var files []string
	for _, d := range e.props(vm).Config.Hardware.Device {
		if _, b := diskAndBacking(d); b != nil {
			files = append(files, b.FileName)
		}
	}
	return files
}

// A Cinder volume's disk attached to an instance VM (the volume's backing
// VM holds the same file as its own disk): removing a snapshot of the
// instance merges the instance's delta into the volume's file, and the
// instance writes that file again, as vCenter does.
func TestVMSnapshotRemoveConsolidatesIntoAttachedDisk(t *testing.T) {
	vmsRun(t, func(e *vmsEnv) {
		volume := e.newVM("volume-1")
		instance := e.newVM("instance-1")
		file := e.backing(volume).FileName
		unit := int32(1)
		e.wait(instance.Reconfigure(e.ctx, types.VirtualMachineConfigSpec{DeviceChange: []types.BaseVirtualDeviceConfigSpec{
			&types.VirtualDeviceConfigSpec{Operation: "add", Device: &types.VirtualDisk{
				VirtualDevice: types.VirtualDevice{
					Key: -2, ControllerKey: 1000, UnitNumber: &unit,
					Backing: &types.VirtualDiskFlatVer2BackingInfo{
						VirtualDeviceFileBackingInfo: types.VirtualDeviceFileBackingInfo{FileName: file},
						DiskMode:                     "persistent",
					},
				},
				CapacityInKB: 64 << 10,
			}},
		}}))
		before := e.diskFiles(instance)
		if len(before) != 2 || before[1] != file {
			t.Fatalf("attached %v", before)
		}
		e.write(file, 0, "first")
		e.wait(instance.CreateSnapshot(e.ctx, "group", "", false, false))
		delta := e.diskFiles(instance)[1]
		if delta == file {
			t.Fatal("the snapshot left the instance on the volume's file")
		}
		e.write(delta, 0, "later")

		e.wait(instance.RemoveSnapshot(e.ctx, "group", false, nil))

		if got := e.diskFiles(instance); got[0] != before[0] || got[1] != file {
			t.Fatalf("instance disks %v, want %v", got, before)
		}
		if e.exists(delta) || e.logical(file, 0, 5) != "later" {
			t.Fatalf("delta left %v, volume reads %q", e.exists(delta), e.logical(file, 0, 5))
		}
		if e.backing(volume).FileName != file {
			t.Fatal("the volume's backing lost its disk")
		}
	})
}

// A linked clone's parent is still never merged into (its readers would
// see the source's later writes).
func TestVMSnapshotRemoveKeepsLinkedCloneParent(t *testing.T) {
	vmsRun(t, func(e *vmsEnv) {
		src := e.newVM("src")
		base := e.backing(src).FileName
		e.write(base, 0, "first")
		snap := e.wait(src.CreateSnapshot(e.ctx, "point", "", false, false)).(types.ManagedObjectReference)
		clone := object.NewVirtualMachine(e.c, e.wait(src.Clone(e.ctx, e.folder, "linked", types.VirtualMachineCloneSpec{
			Snapshot: &snap,
			Location: types.VirtualMachineRelocateSpec{DiskMoveType: string(types.VirtualMachineRelocateDiskMoveOptionsCreateNewChildDiskBacking)},
		})).(types.ManagedObjectReference))
		e.write(e.backing(src).FileName, 0, "later")

		e.wait(src.RemoveSnapshot(e.ctx, "point", false, nil))

		if got := e.logical(e.backing(clone).FileName, 0, 5); got != "first" {
			t.Fatalf("the linked clone reads %q", got)
		}
		if got := e.logical(e.backing(src).FileName, 0, 5); got != "later" {
			t.Fatalf("the source reads %q", got)
		}
	})
}
