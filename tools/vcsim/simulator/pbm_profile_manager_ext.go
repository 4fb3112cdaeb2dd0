package simulator

// PbmProfileProfileManager: the topology's storage profiles next to
// govmomi's pbm/simulator defaults (which it delegates to).

import (
	pbmmethods "github.com/vmware/govmomi/pbm/methods"
	pbmtypes "github.com/vmware/govmomi/pbm/types"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// pbmProfileSource is govmomi's pbm/simulator ProfileManager.
type pbmProfileSource interface {
	PbmQueryProfile(*pbmtypes.PbmQueryProfile) soap.HasFault
	PbmRetrieveContent(*pbmtypes.PbmRetrieveContent) soap.HasFault
	PbmQueryAssociatedProfile(*pbmtypes.PbmQueryAssociatedProfile) soap.HasFault
	PbmCreate(*Context, *pbmtypes.PbmCreate) soap.HasFault
	PbmDelete(*pbmtypes.PbmDelete) soap.HasFault
}

// PbmProfileManager is the PBM profile manager.
type PbmProfileManager struct {
	types.ManagedObjectReference
	base pbmProfileSource
}

func (m *PbmProfileManager) PbmQueryProfile(req *pbmtypes.PbmQueryProfile) soap.HasFault {
	body := m.base.PbmQueryProfile(req).(*pbmmethods.PbmQueryProfileBody)
	if body.Res == nil {
		return body
	}
	for _, p := range pbmProfiles.all() {
		if p.profile.ResourceType != req.ResourceType {
			continue
		}
		if req.ProfileCategory != "" && req.ProfileCategory != p.profile.ProfileCategory {
			continue
		}
		body.Res.Returnval = append(body.Res.Returnval, p.profile.ProfileId)
	}
	return body
}

// PbmRetrieveContent answers in the order asked; an unknown id fails the
// whole call with InvalidArgument (as govmomi's and vCenter's PBM).
func (m *PbmProfileManager) PbmRetrieveContent(req *pbmtypes.PbmRetrieveContent) soap.HasFault {
	body := new(pbmmethods.PbmRetrieveContentBody)
	if len(req.ProfileIds) == 0 {
		body.Fault_ = Fault("profileIds is empty", new(types.InvalidRequest))
		return body
	}
	res := &pbmtypes.PbmRetrieveContentResponse{}
	for _, id := range req.ProfileIds {
		if p := pbmProfiles.byID(id.UniqueId); p != nil {
			res.Returnval = append(res.Returnval, p.profile)
			continue
		}
		profile, fault := m.baseProfile(id)
		if fault != nil {
			body.Fault_ = fault
			return body
		}
		res.Returnval = append(res.Returnval, profile)
	}
	body.Res = res
	return body
}

// baseProfile is one of govmomi's profiles, or its fault.
func (m *PbmProfileManager) baseProfile(id pbmtypes.PbmProfileId) (pbmtypes.BasePbmProfile, *soap.Fault) {
	res := m.base.PbmRetrieveContent(&pbmtypes.PbmRetrieveContent{ProfileIds: []pbmtypes.PbmProfileId{id}})
	if f := res.Fault(); f != nil {
		f.String = "unknown profile id " + id.UniqueId
		return nil, f
	}
	return res.(*pbmmethods.PbmRetrieveContentBody).Res.Returnval[0], nil
}

// profile resolves a profile id to what complies with it; nil and a fault
// when unknown.
func (m *PbmProfileManager) profile(id pbmtypes.PbmProfileId) (*pbmStorageProfile, *soap.Fault) {
	if p := pbmProfiles.byID(id.UniqueId); p != nil {
		return p, nil
	}
	base, fault := m.baseProfile(id)
	if fault != nil {
		return nil, fault
	}
	return &pbmStorageProfile{rule: pbmRuleFor(base.GetPbmProfile().Name)}, nil
}

func (m *PbmProfileManager) PbmQueryAssociatedProfile(req *pbmtypes.PbmQueryAssociatedProfile) soap.HasFault {
	return m.base.PbmQueryAssociatedProfile(req)
}

func (m *PbmProfileManager) PbmCreate(ctx *Context, req *pbmtypes.PbmCreate) soap.HasFault {
	return m.base.PbmCreate(ctx, req)
}

func (m *PbmProfileManager) PbmDelete(req *pbmtypes.PbmDelete) soap.HasFault {
	var others []pbmtypes.PbmProfileId
	for _, id := range req.ProfileId {
		if !pbmProfiles.remove(id.UniqueId) {
			others = append(others, id)
		}
	}
	return m.base.PbmDelete(&pbmtypes.PbmDelete{This: req.This, ProfileId: others})
}
