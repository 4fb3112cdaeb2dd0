package simulator

// The storage policy (PBM) endpoint at /pbm: govmomi's pbm/simulator
// registry (its ServiceInstance and vCenter 6.7's default profiles), with
// our ProfileManager, PlacementSolver and ComplianceManager in front of it
// (pbm_*_ext.go) so that the topology's storage profiles
// (topology_profiles.go) are listed and datastores comply with them.
//
// Clients authenticate as against vCenter: the vim25 session's cookie
// travels in the SOAP header <vcSessionCookie> (oslo.vmware, govmomi), not
// as an HTTP cookie, so the handler maps it onto the session.

import (
	"bytes"
	"crypto/md5"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sync"
	"time"

	pbmmethods "github.com/vmware/govmomi/pbm/methods"
	pbmtypes "github.com/vmware/govmomi/pbm/types"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// PBM's tag-based rules: a profile requires a tag of this category; the
// datastores that carry it comply.
const (
	pbmTagNamespace = "http://www.vmware.com/storage/tag"
	pbmTagCategory  = "vcsim-storage-profiles"
)

// pbmStorageProfile is a profile and what complies with it.
type pbmStorageProfile struct {
	profile *pbmtypes.PbmCapabilityProfile
	// datastores that comply; the rule when nil (govmomi's defaults)
	datastores map[types.ManagedObjectReference]bool
	rule       func(*Datastore) bool
}

func (p *pbmStorageProfile) complies(ds *Datastore) bool {
	if p.datastores != nil {
		return p.datastores[ds.Self]
	}
	return p.rule != nil && p.rule(ds)
}

// pbmDefaultRules: which datastores comply with vCenter's default
// profiles (govmomi's pbm/simulator set). Profiles made with PbmCreate
// state no requirement the simulator evaluates: every datastore complies.
var pbmDefaultRules = map[string]func(*Datastore) bool{
	"vSAN Default Storage Policy":            func(ds *Datastore) bool { return ds.Summary.Type == "vsan" },
	"VVol No Requirements Policy":            func(ds *Datastore) bool { return ds.Summary.Type == "VVOL" },
	"VM Encryption Policy":                   func(*Datastore) bool { return true },
	"Host-local PMem Default Storage Policy": func(ds *Datastore) bool { return ds.Summary.Type == "PMEM" },
}

func pbmRuleFor(name string) func(*Datastore) bool {
	if rule, ok := pbmDefaultRules[name]; ok {
		return rule
	}
	return func(*Datastore) bool { return true }
}

// pbmProfileStore holds the topology's profiles (the others live in
// govmomi's pbm/simulator).
type pbmProfileStore struct {
	sync.Mutex
	topology []*pbmStorageProfile
}

var pbmProfiles = &pbmProfileStore{}

func (s *pbmProfileStore) setTopology(profiles []*pbmStorageProfile) {
	s.Lock()
	defer s.Unlock()
	s.topology = profiles
}

func (s *pbmProfileStore) byID(id string) *pbmStorageProfile {
	s.Lock()
	defer s.Unlock()
	for _, p := range s.topology {
		if p.profile.ProfileId.UniqueId == id {
			return p
		}
	}
	return nil
}

func (s *pbmProfileStore) all() []*pbmStorageProfile {
	s.Lock()
	defer s.Unlock()
	return append([]*pbmStorageProfile(nil), s.topology...)
}

func (s *pbmProfileStore) remove(id string) bool {
	s.Lock()
	defer s.Unlock()
	for i, p := range s.topology {
		if p.profile.ProfileId.UniqueId == id {
			s.topology = append(s.topology[:i], s.topology[i+1:]...)
			return true
		}
	}
	return false
}

// newTopologyStorageProfile builds a tag-based requirement profile whose
// id is derived from its name, so it is stable across restarts.
func newTopologyStorageProfile(name, description string, datastores []types.ManagedObjectReference) *pbmStorageProfile {
	sum := md5.Sum([]byte("vcsim-storage-profile:" + name))
	id := fmt.Sprintf("%x-%x-%x-%x-%x", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16])
	now := time.Now()
	profile := &pbmtypes.PbmCapabilityProfile{
		PbmProfile: pbmtypes.PbmProfile{
			ProfileId:       pbmtypes.PbmProfileId{UniqueId: id},
			Name:            name,
			Description:     description,
			CreationTime:    now,
			CreatedBy:       "vcsim topology",
			LastUpdatedTime: now,
			LastUpdatedBy:   "vcsim topology",
		},
		ProfileCategory: "REQUIREMENT",
		ResourceType:    pbmtypes.PbmProfileResourceType{ResourceType: "STORAGE"},
		Constraints: &pbmtypes.PbmCapabilitySubProfileConstraints{
			SubProfiles: []pbmtypes.PbmCapabilitySubProfile{{
				Name: "Tag based placement",
				Capability: []pbmtypes.PbmCapabilityInstance{{
					Id: pbmtypes.PbmCapabilityMetadataUniqueId{Namespace: pbmTagNamespace, Id: pbmTagCategory},
					Constraint: []pbmtypes.PbmCapabilityConstraintInstance{{
						PropertyInstance: []pbmtypes.PbmCapabilityPropertyInstance{{
							Id:       "com.vmware.storage.tag." + pbmTagCategory + ".property",
							Operator: "",
							Value:    pbmtypes.PbmCapabilityDiscreteSet{Values: []types.AnyType{name}},
						}},
					}},
				}},
			}},
		},
	}
	set := map[types.ManagedObjectReference]bool{}
	for _, ref := range datastores {
		set[ref] = true
	}
	return &pbmStorageProfile{profile: profile, datastores: set}
}

// pbmServiceContent is what govmomi's PBM ServiceInstance answers.
type pbmServiceContentSource interface {
	PbmRetrieveServiceContent(*pbmtypes.PbmRetrieveServiceContent) soap.HasFault
}

// MountPBM serves the PBM registry r (govmomi's pbm/simulator New()) at
// r.Path, with our managed objects replacing its profile manager and
// placement solver and adding the compliance manager it lacks. Call it
// after the Service has its ServeMux and before NewServer.
func (s *Service) MountPBM(r *Registry) error {
	si, ok := r.Get(types.ManagedObjectReference{Type: "PbmServiceInstance", Value: "ServiceInstance"}).(pbmServiceContentSource)
	if !ok {
		return fmt.Errorf("PBM registry has no ServiceInstance")
	}
	res, ok := si.PbmRetrieveServiceContent(&pbmtypes.PbmRetrieveServiceContent{}).(*pbmmethods.PbmRetrieveServiceContentBody)
	if !ok || res.Res == nil {
		return fmt.Errorf("PBM ServiceInstance gave no service content")
	}
	content := res.Res.Returnval
	base, ok := r.Get(content.ProfileManager).(pbmProfileSource)
	if !ok {
		return fmt.Errorf("PBM registry has no profile manager")
	}
	solver, ok := r.Get(content.PlacementSolver).(pbmPlacementSource)
	if !ok {
		return fmt.Errorf("PBM registry has no placement solver")
	}
	pm := &PbmProfileManager{ManagedObjectReference: content.ProfileManager, base: base}
	r.Put(pm)
	r.Put(&PbmPlacementSolver{ManagedObjectReference: content.PlacementSolver, base: solver, profiles: pm})
	r.Put(&PbmComplianceManager{ManagedObjectReference: content.ComplianceManager, profiles: pm})

	if s.ServeMux == nil {
		s.ServeMux = http.NewServeMux()
	}
	s.sdk[r.Path] = r
	s.ServeMux.HandleFunc(r.Path, pbmSessionFromHeader(s.ServeSDK))
	return nil
}

var pbmCookieHeader = regexp.MustCompile(`<(?:[A-Za-z0-9_]+:)?vcSessionCookie(?:\s[^>]*)?>([^<]*)</`)

// pbmSessionFromHeader presents the SOAP header's vcSessionCookie as the
// HTTP session cookie the simulator's session lookup reads.
func pbmSessionFromHeader(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, err := r.Cookie(soap.SessionCookieName); err != nil && r.Body != nil {
			body, err := io.ReadAll(r.Body)
			_ = r.Body.Close()
			if err != nil {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			if m := pbmCookieHeader.FindSubmatch(body); m != nil {
				r.AddCookie(&http.Cookie{Name: soap.SessionCookieName, Value: string(bytes.TrimSpace(m[1]))})
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		next(w, r)
	}
}
