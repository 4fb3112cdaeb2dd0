package simulator

// The .vmsd: a VM's snapshot tree kept on its datastore beside the .vmx,
// in VMware's format, rewritten whenever the tree changes (writeVmx calls
// writeVmsd) and read back by RegisterVM, so that a VM unregistered and
// registered again keeps its snapshots, each on its own disk files (the
// delta chains are the descriptors' parentFileNameHint, as on ESXi).
//
//	.encoding = "UTF-8"
//	snapshot.lastUID = "2"
//	snapshot.current = "2"
//	snapshot0.uid = "1"
//	snapshot0.filename = "vm-Snapshot1.vmsn"
//	snapshot0.displayName = "before-upgrade"
//	snapshot0.description = ""
//	snapshot0.createTimeHigh = "376968"
//	snapshot0.createTimeLow = "-1368915968"
//	snapshot0.numDisks = "1"
//	snapshot0.disk0.fileName = "vm.vmdk"
//	snapshot0.disk0.node = "scsi0:0"
//	snapshot1.uid = "2"
//	snapshot1.parent = "1"
//	...
//	snapshot.numSnapshots = "2"
//
// createTimeHigh/Low are the creation time in microseconds since the epoch,
// split into the high and (signed) low 32 bits. A disk's fileName is
// relative to the VM's folder, or /vmfs/volumes/DS/PATH elsewhere.
// Snapshots are restored without memory (state poweredOff), as Cinder
// takes them.

import (
	"fmt"
	"io/ioutil"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/types"
)

// vmsdLocal is the local path of the VM's .vmsd ("" when unknown).
func (vm *VirtualMachine) vmsdLocal() string {
	if vm.Config == nil {
		return ""
	}
	_, local, fault := resolveDsPath(vm.dcRef(), vm.Config.Files.VmPathName)
	if fault != nil || !strings.HasSuffix(local, ".vmx") {
		return ""
	}
	return strings.TrimSuffix(local, ".vmx") + ".vmsd"
}

// writeVmsd writes the snapshot tree. A VM that never had a snapshot gets
// no file; one whose snapshots are all gone keeps an empty tree.
func (vm *VirtualMachine) writeVmsd() {
	local := vm.vmsdLocal()
	if local == "" || vm.Runtime.Host == nil {
		return
	}
	var roots []types.VirtualMachineSnapshotTree
	if vm.Snapshot != nil {
		roots = vm.Snapshot.RootSnapshotList
	}
	if len(roots) == 0 && !fileExists(local) {
		return
	}
	var b strings.Builder
	put := func(k, v string) { fmt.Fprintf(&b, "%s = \"%s\"\n", k, vmxEscaper.Replace(v)) }
	put(".encoding", "UTF-8")
	var nodes []vmsdNode
	flattenSnapshotTree(roots, 0, &nodes)
	last := int32(0)
	for _, n := range nodes {
		if n.tree.Id > last {
			last = n.tree.Id
		}
	}
	if atomic.LoadInt32(&vm.sid) > last {
		last = atomic.LoadInt32(&vm.sid)
	}
	put("snapshot.lastUID", strconv.Itoa(int(last)))
	if vm.Snapshot != nil && vm.Snapshot.CurrentSnapshot != nil {
		for _, n := range nodes {
			if n.tree.Snapshot == *vm.Snapshot.CurrentSnapshot {
				put("snapshot.current", strconv.Itoa(int(n.tree.Id)))
			}
		}
	}
	home, _ := parseDatastorePath(vm.Config.Files.VmPathName)
	for i, n := range nodes {
		vm.writeVmsdSnapshot(put, fmt.Sprintf("snapshot%d", i), n, home)
	}
	put("snapshot.numSnapshots", strconv.Itoa(len(nodes)))
	_ = ioutil.WriteFile(local, []byte(b.String()), 0o600)
}

// vmsdNode is a snapshot with its parent's uid (0 for a root).
type vmsdNode struct {
	tree   types.VirtualMachineSnapshotTree
	parent int32
}

func flattenSnapshotTree(tree []types.VirtualMachineSnapshotTree, parent int32, out *[]vmsdNode) {
	for _, t := range tree {
		*out = append(*out, vmsdNode{tree: t, parent: parent})
		flattenSnapshotTree(t.ChildSnapshotList, t.Id, out)
	}
}

func (vm *VirtualMachine) writeVmsdSnapshot(put func(k, v string), p string, n vmsdNode, home *object.DatastorePath) {
	put(p+".uid", strconv.Itoa(int(n.tree.Id)))
	if n.parent != 0 {
		put(p+".parent", strconv.Itoa(int(n.parent)))
	}
	if f := vm.snapshotDataFile(n.tree.Snapshot); f != "" {
		put(p+".filename", vmxDiskName(home, f))
	}
	put(p+".displayName", n.tree.Name)
	put(p+".description", n.tree.Description)
	us := n.tree.CreateTime.UnixNano() / 1000
	put(p+".createTimeHigh", strconv.FormatInt(us>>32, 10))
	put(p+".createTimeLow", strconv.FormatInt(int64(int32(uint32(us))), 10))
	snap, ok := Map.Get(n.tree.Snapshot).(*VirtualMachineSnapshot)
	if !ok {
		put(p+".numDisks", "0")
		return
	}
	disks := vmsdDisks(snap.Config.Hardware.Device)
	put(p+".numDisks", strconv.Itoa(len(disks)))
	for i, d := range disks {
		put(fmt.Sprintf("%s.disk%d.fileName", p, i), vmxDiskName(home, d.file))
		put(fmt.Sprintf("%s.disk%d.node", p, i), d.node)
	}
}

// snapshotDataFile is the snapshot's .vmsn (its layoutEx data file).
func (vm *VirtualMachine) snapshotDataFile(ref types.ManagedObjectReference) string {
	for _, s := range vm.LayoutEx.Snapshot {
		if s.Key != ref {
			continue
		}
		for _, f := range vm.LayoutEx.File {
			if f.Key == s.DataKey {
				return f.Name
			}
		}
	}
	return ""
}

// vmsdDisk is one disk of a snapshot: its node ("scsi0:1") and file.
type vmsdDisk struct {
	node string
	file string
}

// vmsdDisks lists the disks on SCSI/IDE controllers, by node.
func vmsdDisks(devices []types.BaseVirtualDevice) []vmsdDisk {
	prefix := map[int32]string{}
	for _, d := range devices {
		switch c := d.(type) {
		case types.BaseVirtualSCSIController:
			sc := c.GetVirtualSCSIController()
			prefix[sc.Key] = fmt.Sprintf("scsi%d", sc.BusNumber)
		case *types.VirtualIDEController:
			prefix[c.Key] = fmt.Sprintf("ide%d", c.BusNumber)
		}
	}
	var out []vmsdDisk
	for _, d := range devices {
		disk, b := diskAndBacking(d)
		if b == nil || disk.UnitNumber == nil || prefix[disk.ControllerKey] == "" {
			continue
		}
		out = append(out, vmsdDisk{node: fmt.Sprintf("%s:%d", prefix[disk.ControllerKey], *disk.UnitNumber), file: b.FileName})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].node < out[j].node })
	return out
}

// restoreVmsd rebuilds the snapshot tree from the .vmsd after RegisterVM
// has given the VM its devices from the .vmx. Each snapshot's config is
// the VM's, with the snapshot's disk files at their nodes (a disk the
// snapshot lacks is left out of it).
func (vm *VirtualMachine) restoreVmsd(dc *types.ManagedObjectReference) types.BaseMethodFault {
	local := vm.vmsdLocal()
	if local == "" || !fileExists(local) {
		return nil
	}
	_, vals := readVmx(local)
	count, _ := strconv.Atoi(vals["snapshot.numSnapshots"])
	if count <= 0 {
		return nil
	}
	home, fault := parseDatastorePath(vm.Config.Files.VmPathName)
	if fault != nil {
		return fault
	}
	var made []types.ManagedObjectReference
	fault = vm.restoreVmsdTree(dc, home, vals, count, &made)
	if fault != nil {
		for _, ref := range made {
			Map.Remove(ref)
		}
		vm.LayoutEx.Snapshot = nil
		vm.Layout.Snapshot = nil
	}
	return fault
}

func (vm *VirtualMachine) restoreVmsdTree(dc *types.ManagedObjectReference, home *object.DatastorePath, vals map[string]string, count int, made *[]types.ManagedObjectReference) types.BaseMethodFault {
	nodes := map[int32]*types.VirtualMachineSnapshotTree{}
	parents := map[int32]int32{}
	var order []int32
	for i := 0; i < count; i++ {
		p := fmt.Sprintf("snapshot%d", i)
		uid, err := strconv.Atoi(vals[p+".uid"])
		if err != nil || uid <= 0 {
			return &types.InvalidArgument{InvalidProperty: p + ".uid"}
		}
		if nodes[int32(uid)] != nil {
			return &types.InvalidArgument{InvalidProperty: p + ".uid"}
		}
		snap, fault := vm.restoreSnapshot(dc, home, vals, p)
		if fault != nil {
			return fault
		}
		*made = append(*made, snap.Self)
		nodes[int32(uid)] = &types.VirtualMachineSnapshotTree{
			Snapshot:        snap.Self,
			Vm:              vm.Self,
			Name:            vals[p+".displayName"],
			Description:     vals[p+".description"],
			Id:              int32(uid),
			CreateTime:      vmsdTime(vals[p+".createTimeHigh"], vals[p+".createTimeLow"]),
			State:           types.VirtualMachinePowerStatePoweredOff,
			Quiesced:        false,
			ReplaySupported: types.NewBool(false),
		}
		if parent, err := strconv.Atoi(vals[p+".parent"]); err == nil {
			parents[int32(uid)] = int32(parent)
		}
		order = append(order, int32(uid))
	}
	info := &types.VirtualMachineSnapshotInfo{RootSnapshotList: buildSnapshotTree(nodes, parents, order, 0)}
	if cur, err := strconv.Atoi(vals["snapshot.current"]); err == nil && nodes[int32(cur)] != nil {
		info.CurrentSnapshot = &nodes[int32(cur)].Snapshot
	}
	for uid, n := range nodes {
		var children []types.ManagedObjectReference
		for _, c := range order {
			if parents[c] == uid {
				children = append(children, nodes[c].Snapshot)
			}
		}
		if snap, ok := Map.Get(n.Snapshot).(*VirtualMachineSnapshot); ok {
			snap.ChildSnapshot = children
		}
	}
	last, _ := strconv.Atoi(vals["snapshot.lastUID"])
	for _, uid := range order {
		if int(uid) > last {
			last = int(uid)
		}
	}
	atomic.StoreInt32(&vm.sid, int32(last))
	Map.Update(vm, []types.PropertyChange{{Name: "snapshot", Val: info}})
	return nil
}

// buildSnapshotTree nests the snapshots under their parents, in file order.
func buildSnapshotTree(nodes map[int32]*types.VirtualMachineSnapshotTree, parents map[int32]int32, order []int32, parent int32) []types.VirtualMachineSnapshotTree {
	var out []types.VirtualMachineSnapshotTree
	for _, uid := range order {
		if parents[uid] != parent {
			continue
		}
		n := *nodes[uid]
		n.ChildSnapshotList = buildSnapshotTree(nodes, parents, order, uid)
		out = append(out, n)
	}
	return out
}

// restoreSnapshot makes the VirtualMachineSnapshot object of one entry.
func (vm *VirtualMachine) restoreSnapshot(dc *types.ManagedObjectReference, home *object.DatastorePath, vals map[string]string, p string) (*VirtualMachineSnapshot, types.BaseMethodFault) {
	files := map[string]string{}
	n, _ := strconv.Atoi(vals[p+".numDisks"])
	for i := 0; i < n; i++ {
		k := fmt.Sprintf("%s.disk%d", p, i)
		files[vals[k+".node"]] = vals[k+".fileName"]
	}
	config := copyVMConfig(vm.Config)
	var devices []types.BaseVirtualDevice
	for _, d := range config.Hardware.Device {
		disk, b := diskAndBacking(d)
		if b == nil {
			devices = append(devices, d)
			continue
		}
		node := vmsdNodeOf(config.Hardware.Device, disk)
		name, ok := files[node]
		if !ok {
			continue // added after the snapshot
		}
		restored, fault := vmxDisk(dc, home, name, b.DiskMode, disk.ControllerKey, *disk.UnitNumber)
		if fault != nil {
			return nil, fault
		}
		restored.Key = disk.Key
		restored.DeviceInfo = disk.DeviceInfo
		devices = append(devices, restored)
	}
	config.Hardware.Device = devices
	snap := &VirtualMachineSnapshot{}
	snap.Vm = vm.Self
	snap.Config = config
	Map.Put(snap)
	if name := vals[p+".filename"]; name != "" {
		file := joinDsPath(home.Datastore, path.Join(path.Dir(home.Path), name))
		if strings.HasPrefix(name, "/vmfs/volumes/") {
			rest := strings.TrimPrefix(name, "/vmfs/volumes/")
			if i := strings.Index(rest, "/"); i > 0 {
				file = joinDsPath(rest[:i], rest[i+1:])
			}
		}
		if fp, fault := parseDatastorePath(file); fault == nil {
			key := vm.addFileLayoutEx(*fp, 0)
			vm.addSnapshotLayout(snap.Self, key)
			vm.addSnapshotLayoutEx(snap.Self, key, -1)
		}
	}
	return snap, nil
}

// vmsdNodeOf names a disk's node ("scsi0:1") among devices.
func vmsdNodeOf(devices []types.BaseVirtualDevice, disk *types.VirtualDisk) string {
	for _, d := range vmsdDisks(devices) {
		if _, b := diskAndBacking(disk); b != nil && d.file == b.FileName {
			return d.node
		}
	}
	return ""
}

func vmsdTime(high, low string) time.Time {
	h, err1 := strconv.ParseInt(high, 10, 64)
	l, err2 := strconv.ParseInt(low, 10, 64)
	if err1 != nil || err2 != nil {
		return time.Now()
	}
	us := h<<32 | int64(uint32(int32(l)))
	return time.Unix(0, us*1000)
}
