package simulator

// Storage profiles (VM storage policies) in a topology: validation and
// registration with the PBM endpoint (pbm_service_ext.go). Schema in
// tools/vcsim/topologies/README.md.

import (
	"fmt"
	"strings"

	"github.com/vmware/govmomi/vim25/types"
)

// TopologyStorageProfile is a tag-based storage policy and the datastores
// that comply with it (the datastores carrying its tag).
type TopologyStorageProfile struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Datastores  []string `json:"datastores"`
}

// validateStorageProfiles checks profile names (unique in the whole
// vCenter, as PBM's are) and their datastore references: a datacenter's
// profiles name its own datastores; top-level ones name "DC/datastore" or
// a datastore name only one datacenter has.
func (t *Topology) validateStorageProfiles() error {
	names := topoNames{}
	for _, dc := range t.Datacenters {
		for i, p := range dc.StorageProfiles {
			where := fmt.Sprintf("datacenter %q storage_profiles[%d]", dc.Name, i)
			if err := names.add("storage profile", p.Name, where); err != nil {
				return err
			}
			for _, ds := range p.Datastores {
				if dc.datastore(ds) == nil {
					return fmt.Errorf("datacenter %q storage profile %q: unknown datastore %q", dc.Name, p.Name, ds)
				}
			}
		}
	}
	for i, p := range t.StorageProfiles {
		if err := names.add("storage profile", p.Name, fmt.Sprintf("storage_profiles[%d]", i)); err != nil {
			return err
		}
		for _, ds := range p.Datastores {
			if _, _, err := t.resolveProfileDatastore(ds); err != nil {
				return fmt.Errorf("storage profile %q: %v", p.Name, err)
			}
		}
	}
	return nil
}

func (dc *TopologyDatacenter) datastore(name string) *TopologyDatastore {
	for _, ds := range dc.Datastores {
		if ds.Name == name {
			return ds
		}
	}
	return nil
}

// resolveProfileDatastore turns a top-level reference into (datacenter,
// datastore) names.
func (t *Topology) resolveProfileDatastore(ref string) (string, string, error) {
	var found []string
	for _, dc := range t.Datacenters {
		if strings.HasPrefix(ref, dc.Name+"/") && dc.datastore(ref[len(dc.Name)+1:]) != nil {
			return dc.Name, ref[len(dc.Name)+1:], nil
		}
		if dc.datastore(ref) != nil {
			found = append(found, dc.Name)
		}
	}
	switch len(found) {
	case 0:
		return "", "", fmt.Errorf("unknown datastore %q", ref)
	case 1:
		return found[0], ref, nil
	}
	return "", "", fmt.Errorf("datastore %q is ambiguous (in datacenters %s): write DATACENTER/%s",
		ref, strings.Join(found, ", "), ref)
}

// buildStorageProfiles registers the topology's profiles with the PBM
// endpoint, with their datastores as morefs: compliance follows the
// datastore object (a tag), not its name, so a renamed datastore still
// complies.
func (b *topologyBuilder) buildStorageProfiles(t *Topology) error {
	var profiles []*pbmStorageProfile
	add := func(p *TopologyStorageProfile, resolve func(string) (string, string, error)) error {
		refs := []types.ManagedObjectReference{}
		for _, name := range p.Datastores {
			dc, ds, err := resolve(name)
			if err != nil {
				return err
			}
			refs = append(refs, b.datastores[dc][ds].Self)
		}
		profiles = append(profiles, newTopologyStorageProfile(p.Name, p.Description, refs))
		return nil
	}
	for _, dc := range t.Datacenters {
		dcName := dc.Name
		for _, p := range dc.StorageProfiles {
			if err := add(p, func(n string) (string, string, error) { return dcName, n, nil }); err != nil {
				return err
			}
		}
	}
	for _, p := range t.StorageProfiles {
		if err := add(p, t.resolveProfileDatastore); err != nil {
			return err
		}
	}
	pbmProfiles.setTopology(profiles)
	return nil
}
