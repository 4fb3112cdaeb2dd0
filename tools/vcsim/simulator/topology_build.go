package simulator

// Building a validated topology into the model: datacenters, clusters and
// hosts through the inventory methods (as model.go's Create does, on an
// in-process client), datastores and their mounts directly, then VMs,
// snapshots and loose disk files, and last the datastores' reported
// figures and flags exactly as the topology gives them.

import (
	"context"
	"fmt"
	"math"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/types"
)

// topologyBuilder carries the in-process client and what was built.
type topologyBuilder struct {
	ctx    context.Context
	client *vim25.Client
	hosts  map[string]*HostSystem // by name, all datacenters
	// datastores by datacenter name, then datastore name
	datastores map[string]map[string]*Datastore
}

func newTopologyBuilder() *topologyBuilder {
	return &topologyBuilder{
		ctx:    context.Background(),
		client: New(nil).client,
		hosts:  map[string]*HostSystem{},

		datastores: map[string]map[string]*Datastore{},
	}
}

// topologyDC is one datacenter being built.
type topologyDC struct {
	spec       *TopologyDatacenter
	dc         *object.Datacenter
	folders    *object.DatacenterFolders
	datastores map[string]*Datastore
}

func (b *topologyBuilder) build(t *Topology) error {
	root := object.NewRootFolder(b.client)
	for _, spec := range t.Datacenters {
		if err := b.buildDatacenter(root, spec); err != nil {
			return fmt.Errorf("datacenter %q: %v", spec.Name, err)
		}
	}
	return nil
}

func (b *topologyBuilder) buildDatacenter(root *object.Folder, spec *TopologyDatacenter) error {
	dc, err := root.CreateDatacenter(b.ctx, spec.Name)
	if err != nil {
		return err
	}
	folders, err := dc.Folders(b.ctx)
	if err != nil {
		return err
	}
	d := &topologyDC{spec: spec, dc: dc, folders: folders, datastores: map[string]*Datastore{}}
	steps := []func(*topologyDC) error{b.buildHosts, b.buildDatastores, b.buildVMs, b.buildFiles, b.finishDatastores}
	for _, step := range steps {
		if err := step(d); err != nil {
			return err
		}
	}
	b.datastores[spec.Name] = d.datastores
	return nil
}

// buildHosts creates the clusters with their hosts and the standalone hosts.
func (b *topologyBuilder) buildHosts(d *topologyDC) error {
	for _, c := range d.spec.Clusters {
		cluster, err := d.folders.HostFolder.CreateCluster(b.ctx, c.Name, types.ClusterConfigSpecEx{})
		if err != nil {
			return fmt.Errorf("cluster %q: %v", c.Name, err)
		}
		for _, h := range c.Hosts {
			err := b.addHost(h, func(spec types.HostConnectSpec) (*object.Task, error) {
				return cluster.AddHost(b.ctx, spec, true, nil, nil)
			})
			if err != nil {
				return err
			}
		}
		b.configureHA(cluster.Reference(), c.HA)
	}
	for _, h := range d.spec.StandaloneHosts {
		err := b.addHost(h, func(spec types.HostConnectSpec) (*object.Task, error) {
			return d.folders.HostFolder.AddStandaloneHost(b.ctx, spec, true, nil, nil)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// configureHA sets the cluster's vSphere HA configuration
// (configurationEx.dasConfig) as the topology describes it, failover hosts
// by reference. vcsim's CreateCluster and ReconfigureComputeResource_Task
// ignore dasConfig, so it is set on the model directly.
func (b *topologyBuilder) configureHA(ref types.ManagedObjectReference, ha *TopologyHA) {
	if ha == nil {
		return
	}
	cluster := Map.Get(ref).(*ClusterComputeResource)
	das := types.ClusterDasConfigInfo{
		Enabled:                 types.NewBool(*ha.Enabled),
		AdmissionControlEnabled: types.NewBool(*ha.AdmissionControl),
	}
	if len(ha.FailoverHosts) > 0 {
		policy := &types.ClusterFailoverHostAdmissionControlPolicy{}
		for _, name := range ha.FailoverHosts {
			policy.FailoverHosts = append(policy.FailoverHosts, b.hosts[name].Reference())
		}
		das.AdmissionControlPolicy = policy
	}
	config := *cluster.ConfigurationEx.(*types.ClusterConfigInfoEx)
	config.DasConfig = das
	Map.Update(cluster, []types.PropertyChange{{Name: "configurationEx", Val: &config}})
}

// addHost adds one host and sets its maintenance and connection state
// (runtime, which summary.runtime points at).
func (b *topologyBuilder) addHost(h *TopologyHost, add func(types.HostConnectSpec) (*object.Task, error)) error {
	task, err := add(types.HostConnectSpec{HostName: h.Name})
	if err != nil {
		return fmt.Errorf("host %q: %v", h.Name, err)
	}
	info, err := task.WaitForResult(b.ctx, nil)
	if err != nil {
		return fmt.Errorf("host %q: %v", h.Name, err)
	}
	host := Map.Get(info.Result.(types.ManagedObjectReference)).(*HostSystem)
	b.hosts[h.Name] = host
	runtime := host.Runtime
	runtime.InMaintenanceMode = h.Maintenance
	runtime.ConnectionState = types.HostSystemConnectionState(h.ConnectionState)
	Map.Update(host, []types.PropertyChange{{Name: "runtime", Val: runtime}})
	return nil
}

// buildDatastores creates each datastore, mounted read-write and
// accessible on its hosts while the topology's files are written; the
// topology's flags and figures are applied by finishDatastores.
func (b *topologyBuilder) buildDatastores(d *topologyDC) error {
	folder := Map.Get(d.folders.DatastoreFolder.Reference()).(*Folder)
	for _, spec := range d.spec.Datastores {
		dir, err := topologyDatastoreDir(spec.Name)
		if err != nil {
			return fmt.Errorf("datastore %q: %v", spec.Name, err)
		}
		ds := newTypedDatastore(spec.Name, spec.Type, dir, topoGiB(*spec.CapacityGB))
		// Room for every topology disk while building; replaced at the end.
		ds.Summary.FreeSpace = math.MaxInt64 / 4
		registerDatastore(internalContext, &folder.Folder, ds)
		for _, m := range spec.Mounts {
			ds.mountOn(b.hosts[m.Host], hostMountInfo(string(types.HostMountModeReadWrite)))
		}
		d.datastores[spec.Name] = ds
	}
	return nil
}

// finishDatastores applies the topology's mount flags, accessibility,
// maintenance mode and space figures, overriding whatever the disks
// created above charged.
func (b *topologyBuilder) finishDatastores(d *topologyDC) error {
	for _, spec := range d.spec.Datastores {
		ds := d.datastores[spec.Name]
		for _, m := range spec.Mounts {
			ds.mountOn(b.hosts[m.Host], types.HostMountInfo{
				AccessMode: m.AccessMode, Mounted: topoBool(*m.Mounted), Accessible: topoBool(*m.Accessible),
			})
		}
		capacity := topoGiB(*spec.CapacityGB)
		free, uncommitted := d.defaultSpace(spec)
		if spec.FreeGB != nil {
			free = topoGiB(*spec.FreeGB)
		}
		if spec.UncommittedGB != nil {
			uncommitted = topoGiB(*spec.UncommittedGB)
		}
		ds.setSpace(capacity, free, uncommitted)
		ds.Summary.Accessible = *spec.Accessible
		ds.Summary.MaintenanceMode = spec.MaintenanceMode
		Map.Update(ds, []types.PropertyChange{{Name: "summary", Val: ds.Summary}})
	}
	return nil
}

// defaultSpace is free = capacity minus the thick disks and files the
// topology puts on the datastore (at least 0), uncommitted = the thin ones.
func (d *topologyDC) defaultSpace(spec *TopologyDatastore) (free, uncommitted int64) {
	free = topoGiB(*spec.CapacityGB)
	charge := func(ds string, capacityGB float64, thin bool) {
		if ds != spec.Name {
			return
		}
		if thin {
			uncommitted += topoDiskBytes(capacityGB)
		} else {
			free -= topoDiskBytes(capacityGB)
		}
	}
	for _, vm := range d.spec.VMs {
		for _, disk := range vm.Disks {
			charge(disk.Datastore, disk.CapacityGB, disk.Thin)
		}
	}
	for _, f := range d.spec.Files {
		charge(f.Datastore, f.CapacityGB, f.Thin)
	}
	if free < 0 {
		free = 0
	}
	return free, uncommitted
}

// buildFiles creates the loose disk files.
func (b *topologyBuilder) buildFiles(d *topologyDC) error {
	for _, f := range d.spec.Files {
		dsPath := "[" + f.Datastore + "] " + f.Path
		if _, err := b.createDisk(d, dsPath, topoDiskBytes(f.CapacityGB), f.Thin); err != nil {
			return fmt.Errorf("file %s: %v", dsPath, err)
		}
	}
	return nil
}
