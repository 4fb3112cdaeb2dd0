package simulator

// PbmComplianceManager (govmomi's pbm/simulator has none): a VM or one of
// its disks complies with a profile when every disk of it lies on a
// datastore that complies.

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	pbmmethods "github.com/vmware/govmomi/pbm/methods"
	pbmtypes "github.com/vmware/govmomi/pbm/types"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// PbmComplianceManager is the PBM compliance manager.
type PbmComplianceManager struct {
	types.ManagedObjectReference
	profiles *PbmProfileManager
}

// PbmCheckCompliance checks entities of type virtualMachine (key: the VM's
// moref) or virtualDiskId (key: "<vm moref>:<device key>") against the
// given profile. Without a profile the simulator knows no association:
// the result is notApplicable. An unknown entity is "unknown" with an
// errorCause.
func (m *PbmComplianceManager) PbmCheckCompliance(req *pbmtypes.PbmCheckCompliance) soap.HasFault {
	body := new(pbmmethods.PbmCheckComplianceBody)
	var profile *pbmStorageProfile
	if req.Profile != nil {
		var fault *soap.Fault
		if profile, fault = m.profiles.profile(*req.Profile); fault != nil {
			body.Fault_ = fault
			return body
		}
	}
	body.Res = new(pbmtypes.PbmCheckComplianceResponse)
	for _, entity := range req.Entities {
		result := pbmtypes.PbmComplianceResult{
			CheckTime: time.Now(),
			Entity:    entity,
			Profile:   req.Profile,
		}
		datastores, err := pbmEntityDatastores(entity)
		switch {
		case err != nil:
			result.ComplianceStatus = "unknown"
			result.ErrorCause = []types.LocalizedMethodFault{{
				Fault:            &pbmtypes.PbmFaultNotFound{},
				LocalizedMessage: err.Error(),
			}}
		case profile == nil:
			result.ComplianceStatus = "notApplicable"
		default:
			result.ComplianceStatus = "compliant"
			for _, ds := range datastores {
				if !profile.complies(ds) {
					result.ComplianceStatus = "nonCompliant"
					result.Mismatch = true
				}
			}
		}
		body.Res.Returnval = append(body.Res.Returnval, result)
	}
	return body
}

// pbmEntityDatastores lists the datastores of an entity's disks.
func pbmEntityDatastores(entity pbmtypes.PbmServerObjectRef) ([]*Datastore, error) {
	key, device := entity.Key, int32(-1)
	switch entity.ObjectType {
	case "virtualMachine":
	case "virtualDiskId":
		i := strings.LastIndex(key, ":")
		n, err := strconv.Atoi(key[i+1:])
		if i < 0 || err != nil {
			return nil, fmt.Errorf("bad virtualDiskId %q (VM:deviceKey)", key)
		}
		key, device = key[:i], int32(n)
	default:
		return nil, fmt.Errorf("unsupported objectType %q", entity.ObjectType)
	}
	vm, ok := Map.Get(types.ManagedObjectReference{Type: "VirtualMachine", Value: key}).(*VirtualMachine)
	if !ok {
		return nil, fmt.Errorf("no virtual machine %q", key)
	}
	var out []*Datastore
	for _, d := range vm.Config.Hardware.Device {
		disk, ok := d.(*types.VirtualDisk)
		if !ok || (device >= 0 && disk.Key != device) {
			continue
		}
		if b, ok := disk.Backing.(types.BaseVirtualDeviceFileBackingInfo); ok {
			if ref := b.GetVirtualDeviceFileBackingInfo().Datastore; ref != nil {
				if ds, ok := Map.Get(*ref).(*Datastore); ok {
					out = append(out, ds)
				}
			}
		}
	}
	if device >= 0 && out == nil {
		return nil, fmt.Errorf("no disk %d on virtual machine %q", device, key)
	}
	return out, nil
}
