package simulator

// The .vmx: written on every storage change and on UnregisterVM (VMware's
// key = "value" format), read back by RegisterVM_Task, whose VM gets its
// identity, controllers, disks (with their delta chains) and extraConfig
// from it (hooks called by patches/312-folder-register-vmx.patch).

import (
	"bufio"
	"fmt"
	"io/ioutil"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/types"
)

var vmxEscaper = strings.NewReplacer("|", "|7C", `"`, "|22", "\n", "|0A")
var vmxUnescaper = strings.NewReplacer("|7C", "|", "|22", `"`, "|0A", "\n")

// scsiVirtualDev maps controller types to the vmx's scsiN.virtualDev.
var scsiVirtualDev = map[string]string{
	"VirtualLsiLogicController":    "lsilogic",
	"VirtualLsiLogicSASController": "lsisas1068",
	"ParaVirtualSCSIController":    "pvscsi",
	"VirtualBusLogicController":    "buslogic",
}

// writeVmx writes the VM's identity, controllers, disks and extraConfig
// to its .vmx in VMware's key = "value" format.
func (vm *VirtualMachine) writeVmx() {
	if vm.Config == nil || vm.Runtime.Host == nil {
		return
	}
	dc := vm.dcRef()
	_, local, fault := resolveDsPath(dc, vm.Config.Files.VmPathName)
	if fault != nil || !strings.HasSuffix(local, ".vmx") {
		return
	}
	var b strings.Builder
	put := func(k, v string) { fmt.Fprintf(&b, "%s = \"%s\"\n", k, vmxEscaper.Replace(v)) }
	put(".encoding", "UTF-8")
	put("config.version", "8")
	put("virtualHW.version", strings.TrimPrefix(vm.Config.Version, "vmx-"))
	put("displayName", vm.Name)
	put("guestOS", vm.Config.GuestId)
	put("memSize", strconv.Itoa(int(vm.Config.Hardware.MemoryMB)))
	put("numvcpus", strconv.Itoa(int(vm.Config.Hardware.NumCPU)))
	put("uuid.bios", vm.Config.Uuid)
	put("vc.uuid", vm.Config.InstanceUuid)
	put("annotation", vm.Config.Annotation)
	put("nvram", vm.Name+".nvram")
	if vm.Config.Template {
		put("templateVM", "TRUE")
	}
	if m := vm.Config.ManagedBy; m != nil {
		put("managedBy.extensionKey", m.ExtensionKey)
		put("managedBy.type", m.Type)
	}
	vm.writeVmxDevices(put, dc)
	for _, o := range vm.Config.ExtraConfig {
		v := o.GetOptionValue()
		put(v.Key, fmt.Sprint(v.Value))
	}
	_ = ioutil.WriteFile(local, []byte(b.String()), 0o600)
	vm.writeVmsd() // virtual_machine_vmsd_ext.go
}

// writeVmxDevices writes SCSI controllers and the disks on SCSI/IDE.
func (vm *VirtualMachine) writeVmxDevices(put func(k, v string), dc *types.ManagedObjectReference) {
	devices := object.VirtualDeviceList(vm.Config.Hardware.Device)
	prefix := map[int32]string{}
	for _, d := range devices {
		switch c := d.(type) {
		case types.BaseVirtualSCSIController:
			sc := c.GetVirtualSCSIController()
			p := fmt.Sprintf("scsi%d", sc.BusNumber)
			prefix[sc.Key] = p
			put(p+".present", "TRUE")
			put(p+".virtualDev", scsiVirtualDev[reflect.TypeOf(d).Elem().Name()])
			put(p+".sharedBus", strings.TrimSuffix(string(sc.SharedBus), "Sharing"))
		case *types.VirtualIDEController:
			prefix[c.Key] = fmt.Sprintf("ide%d", c.BusNumber)
		}
	}
	home, _ := parseDatastorePath(vm.Config.Files.VmPathName)
	for _, d := range devices {
		disk, b := diskAndBacking(d)
		if b == nil || disk.UnitNumber == nil {
			continue
		}
		p, ok := prefix[disk.ControllerKey]
		if !ok {
			continue
		}
		p = fmt.Sprintf("%s:%d", p, *disk.UnitNumber)
		put(p+".present", "TRUE")
		put(p+".fileName", vmxDiskName(home, b.FileName))
		put(p+".mode", b.DiskMode)
		if strings.HasPrefix(p, "scsi") {
			put(p+".deviceType", "scsi-hardDisk")
		}
	}
}

// vmxDiskName is relative when the disk sits beside the .vmx, else the
// ESXi absolute path /vmfs/volumes/DS/PATH.
func vmxDiskName(home *object.DatastorePath, file string) string {
	p, fault := parseDatastorePath(file)
	if fault != nil {
		return file
	}
	if p.Datastore == home.Datastore && path.Dir(p.Path) == path.Dir(home.Path) {
		return path.Base(p.Path)
	}
	return "/vmfs/volumes/" + p.Datastore + "/" + p.Path
}

// readVmx parses a .vmx into an ordered key list and a map.
func readVmx(local string) ([]string, map[string]string) {
	f, err := os.Open(local)
	if err != nil {
		return nil, nil
	}
	defer f.Close()
	var keys []string
	vals := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		i := strings.Index(line, "=")
		if i < 0 || strings.HasPrefix(line, "#") {
			continue
		}
		k := strings.TrimSpace(line[:i])
		v := strings.Trim(strings.TrimSpace(line[i+1:]), `"`)
		if _, ok := vals[k]; !ok {
			keys = append(keys, k)
		}
		vals[k] = vmxUnescaper.Replace(v)
	}
	return keys, vals
}

// prepareRegisterVM runs before RegisterVM creates the VM: the name
// defaults to the .vmx's displayName, and files vcsim insists on opening
// (nvram, vmware.log), which ESXi would recreate, are created if missing.
func prepareRegisterVM(folder *Folder, req *types.RegisterVM_Task) {
	dc := Map.getEntityDatacenter(folder)
	if dc == nil {
		return
	}
	_, local, fault := resolveDsPath(&dc.Self, req.Path)
	if fault != nil {
		return
	}
	_, vals := readVmx(local)
	if req.Name == "" && vals["displayName"] != "" {
		req.Name = vals["displayName"]
	}
	if req.Name == "" {
		return
	}
	for _, name := range []string{req.Name + ".nvram", "vmware.log"} {
		p := filepath.Join(filepath.Dir(local), name)
		if !fileExists(p) {
			if f, err := os.Create(p); err == nil {
				_ = f.Close()
			}
		}
	}
}

// registeredVM finishes RegisterVM: the VM gets back what its .vmx says
// (identity, controllers, disks with their delta chains, extraConfig).
func registeredVM(ctx *Context, req *types.RegisterVM_Task, result types.AnyType) (types.AnyType, types.BaseMethodFault) {
	ref, ok := result.(types.ManagedObjectReference)
	if !ok {
		return result, nil
	}
	vm := Map.Get(ref).(*VirtualMachine)
	dc := vm.dcRef()
	_, local, fault := resolveDsPath(dc, vm.Config.Files.VmPathName)
	if fault != nil {
		return result, nil
	}
	keys, vals := readVmx(local)
	if len(keys) == 0 {
		return result, nil
	}
	vm.applyVmxIdentity(keys, vals)
	if fault = vm.addVmxDevices(dc, vals); fault == nil {
		fault = vm.restoreVmsd(dc) // the snapshot tree
	}
	if fault != nil {
		// Unregister only: the files are the datastore's, not ours (as
		// vCenter, a failed registration never deletes disks).
		vm.unregisterVMUpstream(ctx, &types.UnregisterVM{This: vm.Self})
		return nil, fault
	}
	if req.AsTemplate || vals["templateVM"] == "TRUE" {
		vm.markTemplate(true, nil, nil)
	}
	vm.storageChanged()
	return result, nil
}

// vmxDeviceKey matches keys describing devices (handled separately).
func vmxDeviceKey(k string) bool {
	for _, p := range []string{"scsi", "ide", "sata", "nvme"} {
		if strings.HasPrefix(k, p) && len(k) > len(p) && k[len(p)] >= '0' && k[len(p)] <= '9' {
			return true
		}
	}
	return false
}

var vmxKnownKeys = map[string]bool{
	".encoding": true, "config.version": true, "virtualHW.version": true, "displayName": true,
	"guestOS": true, "memSize": true, "numvcpus": true, "uuid.bios": true, "vc.uuid": true,
	"annotation": true, "nvram": true, "templateVM": true, "managedBy.extensionKey": true,
	"managedBy.type": true, "govcsim": true,
}

func (vm *VirtualMachine) applyVmxIdentity(keys []string, vals map[string]string) {
	spec := types.VirtualMachineConfigSpec{
		GuestId:      vals["guestOS"],
		Uuid:         vals["uuid.bios"],
		InstanceUuid: vals["vc.uuid"],
		Annotation:   vals["annotation"],
	}
	if v := vals["virtualHW.version"]; v != "" {
		spec.Version = "vmx-" + v
	}
	if n, err := strconv.Atoi(vals["memSize"]); err == nil {
		spec.MemoryMB = int64(n)
	}
	if n, err := strconv.Atoi(vals["numvcpus"]); err == nil {
		spec.NumCPUs = int32(n)
	}
	vm.apply(&spec)
	if k := vals["managedBy.extensionKey"]; k != "" {
		vm.Config.ManagedBy = &types.ManagedByInfo{ExtensionKey: k, Type: vals["managedBy.type"]}
	}
	var extra []types.BaseOptionValue
	for _, k := range keys {
		if !vmxKnownKeys[k] && !vmxDeviceKey(k) {
			extra = append(extra, &types.OptionValue{Key: k, Value: vals[k]})
		}
	}
	vm.Config.ExtraConfig = mergeExtraConfig(vm.Config.ExtraConfig, extra)
	Map.Update(vm, []types.PropertyChange{{Name: "config", Val: vm.Config}, {Name: "summary.config", Val: vm.Summary.Config}})
}

// addVmxDevices adds the .vmx's SCSI controllers and disks (existing
// files, no charge: they are already on the datastore).
func (vm *VirtualMachine) addVmxDevices(dc *types.ManagedObjectReference, vals map[string]string) types.BaseMethodFault {
	devices := object.VirtualDeviceList(vm.Config.Hardware.Device)
	ctrl := map[string]int32{"ide0": 200, "ide1": 201}
	for bus := 0; bus < 4; bus++ {
		p := fmt.Sprintf("scsi%d", bus)
		if vals[p+".present"] != "TRUE" {
			continue
		}
		c, err := devices.CreateSCSIController(vmxControllerType(vals[p+".virtualDev"]))
		if err != nil {
			return &types.InvalidArgument{InvalidProperty: p + ".virtualDev"}
		}
		sc := c.(types.BaseVirtualSCSIController).GetVirtualSCSIController()
		sc.BusNumber = int32(bus)
		sc.Key = 1000 + int32(bus)
		sc.SharedBus = types.VirtualSCSISharing(vals[p+".sharedBus"] + "Sharing")
		if vals[p+".sharedBus"] == "" {
			sc.SharedBus = types.VirtualSCSISharingNoSharing
		}
		devices = append(devices, c)
		ctrl[p] = sc.Key
	}
	home, _ := parseDatastorePath(vm.Config.Files.VmPathName)
	for p, key := range ctrl {
		for unit := int32(0); unit < 16; unit++ {
			k := fmt.Sprintf("%s:%d", p, unit)
			if vals[k+".present"] != "TRUE" || vals[k+".fileName"] == "" {
				continue
			}
			disk, fault := vmxDisk(dc, home, vals[k+".fileName"], vals[k+".mode"], key, unit)
			if fault != nil {
				return fault
			}
			disk.Key = devices.NewKey()
			devices = append(devices, disk)
		}
	}
	Map.Update(vm, []types.PropertyChange{{Name: "config.hardware.device", Val: []types.BaseVirtualDevice(devices)}})
	return nil
}

func vmxControllerType(dev string) string {
	for t, d := range scsiVirtualDev {
		if d == dev {
			switch t {
			case "VirtualLsiLogicController":
				return "lsilogic"
			case "VirtualLsiLogicSASController":
				return "lsilogic-sas"
			case "ParaVirtualSCSIController":
				return "pvscsi"
			case "VirtualBusLogicController":
				return "buslogic"
			}
		}
	}
	return "lsilogic"
}

// vmxDisk builds a disk device from a .vmx fileName, reading the
// descriptor chain for capacity, provisioning, uuid and parents.
func vmxDisk(dc *types.ManagedObjectReference, home *object.DatastorePath, name, mode string, ctrl, unit int32) (*types.VirtualDisk, types.BaseMethodFault) {
	file := joinDsPath(home.Datastore, path.Join(path.Dir(home.Path), name))
	if strings.HasPrefix(name, "/vmfs/volumes/") {
		rest := strings.TrimPrefix(name, "/vmfs/volumes/")
		i := strings.Index(rest, "/")
		if i < 0 {
			return nil, &types.InvalidDatastorePath{DatastorePath: name}
		}
		file = joinDsPath(rest[:i], rest[i+1:])
	}
	chain, fault := openChain(dc, file)
	if fault != nil {
		return nil, fault
	}
	if mode == "" {
		mode = string(types.VirtualDiskModePersistent)
	}
	var backing *types.VirtualDiskFlatVer2BackingInfo
	for i := len(chain) - 1; i >= 0; i-- {
		df := chain[i]
		b := &types.VirtualDiskFlatVer2BackingInfo{
			VirtualDeviceFileBackingInfo: types.VirtualDeviceFileBackingInfo{FileName: df.dsPath, Datastore: &df.ds.Self},
			DiskMode:                     mode,
			Parent:                       backing,
			Split:                        types.NewBool(false),
			WriteThrough:                 types.NewBool(false),
			EagerlyScrub:                 types.NewBool(false),
			DigestEnabled:                types.NewBool(false),
		}
		if df.d != nil {
			b.ThinProvisioned = types.NewBool(df.d.Thin())
			b.Uuid = diskUUIDToRFC(df.d.UUID())
			if df.d.IsDelta() {
				b.DeltaDiskFormat = string(types.VirtualDiskDeltaDiskFormatRedoLogFormat)
			}
		}
		backing = b
	}
	var capacity int64
	if chain[0].d != nil {
		capacity = chain[0].d.Capacity()
	}
	u := unit
	return &types.VirtualDisk{
		VirtualDevice: types.VirtualDevice{
			Backing:       backing,
			ControllerKey: ctrl,
			UnitNumber:    &u,
			DeviceInfo:    &types.Description{Label: "Hard disk", Summary: fmt.Sprintf("%s KB", numberToString(capacity/1024, ','))},
		},
		CapacityInKB:    capacity / 1024,
		CapacityInBytes: capacity,
	}, nil
}
