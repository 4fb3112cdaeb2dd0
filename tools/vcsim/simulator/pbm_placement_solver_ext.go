package simulator

// PbmPlacementSolver: which datastores match a storage profile
// (PbmQueryMatchingHub, what Cinder's and oslo.vmware's profile filters
// call). Requirements checks stay govmomi's.

import (
	pbmmethods "github.com/vmware/govmomi/pbm/methods"
	pbmtypes "github.com/vmware/govmomi/pbm/types"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// pbmPlacementSource is govmomi's pbm/simulator PlacementSolver.
type pbmPlacementSource interface {
	PbmCheckRequirements(*pbmtypes.PbmCheckRequirements) soap.HasFault
}

// PbmPlacementSolver is the PBM placement solver.
type PbmPlacementSolver struct {
	types.ManagedObjectReference
	base     pbmPlacementSource
	profiles *PbmProfileManager
}

// PbmQueryMatchingHub returns the hubs (of hubsToSearch, or of the whole
// inventory when none is given) that comply with the profile, in the
// order given. Only datastores are hubs here; others never match.
func (s *PbmPlacementSolver) PbmQueryMatchingHub(req *pbmtypes.PbmQueryMatchingHub) soap.HasFault {
	body := new(pbmmethods.PbmQueryMatchingHubBody)
	profile, fault := s.profiles.profile(req.Profile)
	if fault != nil {
		body.Fault_ = fault
		return body
	}
	hubs := req.HubsToSearch
	if len(hubs) == 0 {
		for _, e := range Map.All("Datastore") {
			hubs = append(hubs, pbmtypes.PbmPlacementHub{HubType: "Datastore", HubId: e.Reference().Value})
		}
	}
	body.Res = new(pbmtypes.PbmQueryMatchingHubResponse)
	for _, hub := range hubs {
		if hub.HubType != "Datastore" {
			continue
		}
		ds, ok := Map.Get(types.ManagedObjectReference{Type: "Datastore", Value: hub.HubId}).(*Datastore)
		if ok && profile.complies(ds) {
			body.Res.Returnval = append(body.Res.Returnval, hub)
		}
	}
	return body
}

func (s *PbmPlacementSolver) PbmCheckRequirements(req *pbmtypes.PbmCheckRequirements) soap.HasFault {
	return s.base.PbmCheckRequirements(req)
}
