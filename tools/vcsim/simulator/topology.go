package simulator

// Topology loader: reads a topology JSON file (schema and defaults in
// tools/vcsim/topologies/README.md), validates it and builds the inventory
// into the running model. This file holds the schema and its validation;
// topology_build.go builds the inventory, topology_files.go the files.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path"
	"strings"
)

// Topology is the top-level document.
type Topology struct {
	Datacenters     []*TopologyDatacenter     `json:"datacenters"`
	StorageProfiles []*TopologyStorageProfile `json:"storage_profiles"`
}

// TopologyDatacenter is one datacenter and everything in it.
type TopologyDatacenter struct {
	Name            string               `json:"name"`
	Clusters        []*TopologyCluster   `json:"clusters"`
	StandaloneHosts []*TopologyHost      `json:"standalone_hosts"`
	Datastores      []*TopologyDatastore `json:"datastores"`
	VMs             []*TopologyVM        `json:"vms"`
	Files           []*TopologyFile      `json:"files"`
	// StorageProfiles name datastores of this datacenter only.
	StorageProfiles []*TopologyStorageProfile `json:"storage_profiles"`
}

// TopologyCluster is a ClusterComputeResource with its hosts.
type TopologyCluster struct {
	Name  string          `json:"name"`
	Hosts []*TopologyHost `json:"hosts"`
	// HA is the cluster's vSphere HA configuration; absent: HA off.
	HA *TopologyHA `json:"ha"`
}

// TopologyHA is a cluster's vSphere HA (ClusterDasConfigInfo): enabled,
// with admission control, and the "dedicated failover hosts" policy
// (ClusterFailoverHostAdmissionControlPolicy) when FailoverHosts is set.
type TopologyHA struct {
	Enabled          *bool    `json:"enabled"`
	AdmissionControl *bool    `json:"admission_control"`
	FailoverHosts    []string `json:"failover_hosts"`
}

// TopologyHost is a HostSystem.
type TopologyHost struct {
	Name            string `json:"name"`
	Maintenance     bool   `json:"maintenance"`
	ConnectionState string `json:"connection_state"`
}

// TopologyDatastore is a Datastore and its host mounts.
type TopologyDatastore struct {
	Name            string           `json:"name"`
	Type            string           `json:"type"`
	CapacityGB      *float64         `json:"capacity_gb"`
	FreeGB          *float64         `json:"free_gb"`
	UncommittedGB   *float64         `json:"uncommitted_gb"`
	Accessible      *bool            `json:"accessible"`
	MaintenanceMode string           `json:"maintenance_mode"`
	Mounts          []*TopologyMount `json:"mounts"`
}

// TopologyMount is one host's mount of a datastore.
type TopologyMount struct {
	Host       string `json:"host"`
	AccessMode string `json:"access_mode"`
	Mounted    *bool  `json:"mounted"`
	Accessible *bool  `json:"accessible"`
}

// TopologyVM is a virtual machine with its disks and snapshots.
type TopologyVM struct {
	Name       string              `json:"name"`
	Host       string              `json:"host"`
	PowerState string              `json:"power_state"`
	Disks      []*TopologyDisk     `json:"disks"`
	Snapshots  []*TopologySnapshot `json:"snapshots"`
}

// TopologyDisk is a VM's virtual disk (a VirtualDisk device and its files).
type TopologyDisk struct {
	Datastore  string  `json:"datastore"`
	Path       string  `json:"path"`
	CapacityGB float64 `json:"capacity_gb"`
	Thin       bool    `json:"thin"`
}

// TopologySnapshot is a snapshot taken after the VM's disks are in place.
type TopologySnapshot struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// TopologyFile is a loose virtual disk on a datastore (no VM).
type TopologyFile struct {
	Datastore  string  `json:"datastore"`
	Path       string  `json:"path"`
	CapacityGB float64 `json:"capacity_gb"`
	Thin       bool    `json:"thin"`
}

// Default datastore figures, documented in topologies/README.md.
const (
	defaultTopologyCapacityGB = 1024
	defaultTopologyDiskGB     = 1
)

// parseTopology reads, decodes (rejecting unknown fields), applies
// defaults and validates a topology file.
func parseTopology(file string) (*Topology, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var t Topology
	if err := dec.Decode(&t); err != nil {
		return nil, fmt.Errorf("invalid topology JSON: %v", err)
	}
	if err := t.validate(); err != nil {
		return nil, err
	}
	return &t, nil
}

// topoNames detects duplicate names within one scope.
type topoNames map[string]bool

func (n topoNames) add(kind, name, where string) error {
	if name == "" {
		return fmt.Errorf("%s: %s without a name", where, kind)
	}
	if n[name] {
		return fmt.Errorf("%s: duplicate %s name %q", where, kind, name)
	}
	n[name] = true
	return nil
}

// validate applies defaults and checks the whole document; errors name
// the offending entry.
func (t *Topology) validate() error {
	dcs, hosts := topoNames{}, topoNames{}
	for i, dc := range t.Datacenters {
		if err := dcs.add("datacenter", dc.Name, fmt.Sprintf("datacenters[%d]", i)); err != nil {
			return err
		}
		if err := dc.validate(hosts); err != nil {
			return fmt.Errorf("datacenter %q: %v", dc.Name, err)
		}
	}
	return t.validateStorageProfiles()
}

// validate checks one datacenter; host names are unique across datacenters.
func (dc *TopologyDatacenter) validate(allHosts topoNames) error {
	clusters := topoNames{}
	for i, c := range dc.Clusters {
		if err := clusters.add("cluster", c.Name, fmt.Sprintf("clusters[%d]", i)); err != nil {
			return err
		}
		for j, h := range c.Hosts {
			if err := h.validate(allHosts, fmt.Sprintf("cluster %q hosts[%d]", c.Name, j)); err != nil {
				return err
			}
		}
		if err := c.validateHA(); err != nil {
			return fmt.Errorf("cluster %q: %v", c.Name, err)
		}
	}
	for j, h := range dc.StandaloneHosts {
		if err := h.validate(allHosts, fmt.Sprintf("standalone_hosts[%d]", j)); err != nil {
			return err
		}
		if clusters[h.Name] {
			return fmt.Errorf("standalone host %q has the name of a cluster", h.Name)
		}
	}
	hosts := dc.hostNames()
	datastores := map[string]*TopologyDatastore{}
	for i, ds := range dc.Datastores {
		if err := ds.validate(hosts, fmt.Sprintf("datastores[%d]", i)); err != nil {
			return err
		}
		if datastores[ds.Name] != nil {
			return fmt.Errorf("datastores[%d]: duplicate datastore name %q", i, ds.Name)
		}
		datastores[ds.Name] = ds
	}
	return dc.validateVMsAndFiles(hosts, datastores)
}

// hostNames lists the datacenter's hosts (cluster and standalone).
func (dc *TopologyDatacenter) hostNames() map[string]bool {
	hosts := map[string]bool{}
	for _, c := range dc.Clusters {
		for _, h := range c.Hosts {
			hosts[h.Name] = true
		}
	}
	for _, h := range dc.StandaloneHosts {
		hosts[h.Name] = true
	}
	return hosts
}

func (h *TopologyHost) validate(all topoNames, where string) error {
	if err := all.add("host", h.Name, where); err != nil {
		return err
	}
	switch h.ConnectionState {
	case "":
		h.ConnectionState = "connected"
	case "connected", "disconnected", "notResponding":
	default:
		return fmt.Errorf("host %q: bad connection_state %q (connected, disconnected or notResponding)", h.Name, h.ConnectionState)
	}
	return nil
}

func (ds *TopologyDatastore) validate(hosts map[string]bool, where string) error {
	if ds.Name == "" {
		return fmt.Errorf("%s: datastore without a name", where)
	}
	if strings.ContainsAny(ds.Name, "[]/") {
		return fmt.Errorf("datastore %q: name must not contain '[', ']' or '/'", ds.Name)
	}
	if ds.Type == "" {
		ds.Type = "VMFS"
	}
	if !datastoreTypes[ds.Type] {
		return fmt.Errorf("datastore %q: bad type %q (VMFS, NFS, NFS41, vsan, VVOL or OTHER)", ds.Name, ds.Type)
	}
	if ds.CapacityGB == nil {
		v := float64(defaultTopologyCapacityGB)
		ds.CapacityGB = &v
	}
	for name, v := range map[string]*float64{"capacity_gb": ds.CapacityGB, "free_gb": ds.FreeGB, "uncommitted_gb": ds.UncommittedGB} {
		if v != nil && (*v < 0 || math.IsNaN(*v) || math.IsInf(*v, 0)) {
			return fmt.Errorf("datastore %q: %s must not be negative (got %v)", ds.Name, name, *v)
		}
	}
	if ds.FreeGB != nil && topoGiB(*ds.FreeGB) > topoGiB(*ds.CapacityGB) {
		return fmt.Errorf("datastore %q: free_gb %v exceeds capacity_gb %v", ds.Name, *ds.FreeGB, *ds.CapacityGB)
	}
	if ds.Accessible == nil {
		ds.Accessible = topoBool(true)
	}
	switch ds.MaintenanceMode {
	case "":
		ds.MaintenanceMode = "normal"
	case "normal", "enteringMaintenance", "inMaintenance":
	default:
		return fmt.Errorf("datastore %q: bad maintenance_mode %q (normal, enteringMaintenance or inMaintenance)", ds.Name, ds.MaintenanceMode)
	}
	mounted := map[string]bool{}
	for i, m := range ds.Mounts {
		if err := m.validate(hosts); err != nil {
			return fmt.Errorf("datastore %q mounts[%d]: %v", ds.Name, i, err)
		}
		if mounted[m.Host] {
			return fmt.Errorf("datastore %q mounts[%d]: host %q mounted twice", ds.Name, i, m.Host)
		}
		mounted[m.Host] = true
	}
	return nil
}

func (m *TopologyMount) validate(hosts map[string]bool) error {
	if !hosts[m.Host] {
		return fmt.Errorf("unknown host %q", m.Host)
	}
	switch m.AccessMode {
	case "":
		m.AccessMode = "readWrite"
	case "readWrite", "readOnly":
	default:
		return fmt.Errorf("bad access_mode %q (readWrite or readOnly)", m.AccessMode)
	}
	if m.Mounted == nil {
		m.Mounted = topoBool(true)
	}
	if m.Accessible == nil {
		m.Accessible = topoBool(true)
	}
	return nil
}

// topoDiskPaths tracks datastore paths already taken by disks and files.
type topoDiskPaths map[string]string

// claim validates a datastore path for a new disk and records it.
func (f topoDiskPaths) claim(datastores map[string]*TopologyDatastore, ds, p string, capacity float64, owner string) error {
	if datastores[ds] == nil {
		return fmt.Errorf("%s: unknown datastore %q", owner, ds)
	}
	if p == "" || strings.HasPrefix(p, "/") || path.Clean(p) != p || strings.HasPrefix(p, "..") || !strings.HasSuffix(p, ".vmdk") {
		return fmt.Errorf("%s: bad path %q (a relative, clean path ending in .vmdk)", owner, p)
	}
	if strings.HasSuffix(p, "-flat.vmdk") || strings.HasSuffix(p, "-delta.vmdk") {
		return fmt.Errorf("%s: bad path %q (names ending -flat.vmdk or -delta.vmdk are data files)", owner, p)
	}
	if capacity <= 0 || math.IsNaN(capacity) || math.IsInf(capacity, 0) {
		return fmt.Errorf("%s: capacity_gb must be positive (got %v)", owner, capacity)
	}
	key := "[" + ds + "] " + p
	if other, ok := f[key]; ok {
		return fmt.Errorf("%s: %s is already used by %s", owner, key, other)
	}
	f[key] = owner
	return nil
}

// validateVMsAndFiles checks VMs (host, power state, disks on datastores
// mounted on the VM's host) and loose files.
func (dc *TopologyDatacenter) validateVMsAndFiles(hosts map[string]bool, datastores map[string]*TopologyDatastore) error {
	vms, files := topoNames{}, topoDiskPaths{}
	for i, vm := range dc.VMs {
		if err := vms.add("VM", vm.Name, fmt.Sprintf("vms[%d]", i)); err != nil {
			return err
		}
		if err := vm.validate(hosts, datastores, files); err != nil {
			return err
		}
	}
	for i, f := range dc.Files {
		if f.CapacityGB == 0 {
			f.CapacityGB = defaultTopologyDiskGB
		}
		if err := files.claim(datastores, f.Datastore, f.Path, f.CapacityGB, fmt.Sprintf("files[%d]", i)); err != nil {
			return err
		}
	}
	return nil
}

func (vm *TopologyVM) validate(hosts map[string]bool, datastores map[string]*TopologyDatastore, files topoDiskPaths) error {
	if !hosts[vm.Host] {
		return fmt.Errorf("VM %q: unknown host %q", vm.Name, vm.Host)
	}
	switch vm.PowerState {
	case "":
		vm.PowerState = "poweredOff"
	case "poweredOn", "poweredOff", "suspended":
	default:
		return fmt.Errorf("VM %q: bad power_state %q (poweredOn, poweredOff or suspended)", vm.Name, vm.PowerState)
	}
	if len(vm.Disks) > 15 {
		return fmt.Errorf("VM %q: at most 15 disks (one SCSI controller)", vm.Name)
	}
	for i, d := range vm.Disks {
		owner := fmt.Sprintf("VM %q disks[%d]", vm.Name, i)
		if d.Path == "" {
			d.Path = defaultDiskPath(vm.Name, i)
		}
		if d.CapacityGB == 0 {
			d.CapacityGB = defaultTopologyDiskGB
		}
		if err := files.claim(datastores, d.Datastore, d.Path, d.CapacityGB, owner); err != nil {
			return err
		}
		if !datastoreMountedOn(datastores[d.Datastore], vm.Host) {
			return fmt.Errorf("%s: datastore %q is not mounted on host %q", owner, d.Datastore, vm.Host)
		}
	}
	if len(vm.Disks) == 0 && len(vm.Snapshots) > 0 {
		return fmt.Errorf("VM %q: snapshots need at least one disk", vm.Name)
	}
	for i, s := range vm.Snapshots {
		if s.Name == "" {
			return fmt.Errorf("VM %q snapshots[%d]: snapshot without a name", vm.Name, i)
		}
	}
	return nil
}

// defaultDiskPath is <vm>/<vm>.vmdk, then <vm>/<vm>_<i>.vmdk.
func defaultDiskPath(vm string, i int) string {
	if i == 0 {
		return path.Join(vm, vm+".vmdk")
	}
	return path.Join(vm, fmt.Sprintf("%s_%d.vmdk", vm, i))
}

// datastoreMountedOn tells whether the datastore has a mount on host.
func datastoreMountedOn(ds *TopologyDatastore, host string) bool {
	for _, m := range ds.Mounts {
		if m.Host == host {
			return true
		}
	}
	return false
}

// LoadTopology builds the inventory described by a topology JSON file
// into the running (empty) model; datastore directories are created under
// datastoreRoot.
func LoadTopology(file string, datastoreRoot string) error {
	t, err := parseTopology(file)
	if err != nil {
		return err
	}
	topologyDatastoreRoot = datastoreRoot
	if err := os.MkdirAll(datastoreRoot, 0o755); err != nil {
		return err
	}
	b := newTopologyBuilder()
	if err := b.build(t); err != nil {
		return err
	}
	return b.buildStorageProfiles(t)
}

// validateHA checks that the failover hosts are hosts of the cluster, each
// named once, and fills in the defaults (enabled, admission control on).
func (c *TopologyCluster) validateHA() error {
	if c.HA == nil {
		return nil
	}
	own := map[string]bool{}
	for _, h := range c.Hosts {
		own[h.Name] = true
	}
	seen := map[string]bool{}
	for i, name := range c.HA.FailoverHosts {
		if !own[name] {
			return fmt.Errorf("ha.failover_hosts[%d]: %q is not a host of the cluster", i, name)
		}
		if seen[name] {
			return fmt.Errorf("ha.failover_hosts[%d]: %q listed twice", i, name)
		}
		seen[name] = true
	}
	on := true
	if c.HA.Enabled == nil {
		c.HA.Enabled = &on
	}
	if c.HA.AdmissionControl == nil {
		c.HA.AdmissionControl = &on
	}
	return nil
}
