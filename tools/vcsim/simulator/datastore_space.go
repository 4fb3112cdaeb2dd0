package simulator

// Datastore capacity accounting and datastore path resolution.
//
// The simulator never reads statfs for datastore figures: capacity, free
// space and uncommitted space are bookkeeping in ds.Summary (mirrored in
// ds.Info), charged and refunded by whoever creates or deletes disk data.
// A thick (preallocated) disk takes its capacity out of FreeSpace; a thin
// disk only adds its capacity to Uncommitted, as vSphere reports it.

import (
	"path"
	"path/filepath"
	"strings"
	"sync"

	"github.com/vmware/govmomi/simulator/esx"
	"github.com/vmware/govmomi/vim25/types"
)

// spaceMu makes "check then take" atomic across concurrent requests, which
// lock different managed objects and so are not serialised by the registry.
var spaceMu sync.Mutex

// chargeDatastore takes capacityBytes from ds: out of FreeSpace for a thick
// disk (NoDiskSpace when it does not fit), into Uncommitted for a thin one.
func chargeDatastore(ds *Datastore, capacityBytes int64, thin bool) types.BaseMethodFault {
	if capacityBytes <= 0 {
		return nil
	}
	spaceMu.Lock()
	defer spaceMu.Unlock()
	if thin {
		ds.Summary.Uncommitted += capacityBytes
	} else {
		if capacityBytes > ds.Summary.FreeSpace {
			return &types.NoDiskSpace{Datastore: ds.Name}
		}
		ds.Summary.FreeSpace -= capacityBytes
	}
	publishDatastoreSpace(ds)
	return nil
}

// refundDatastore reverses chargeDatastore. Figures are clamped so a refund
// of something charged before a reconfiguration can never exceed capacity.
func refundDatastore(ds *Datastore, capacityBytes int64, thin bool) {
	if capacityBytes <= 0 {
		return
	}
	spaceMu.Lock()
	defer spaceMu.Unlock()
	if thin {
		ds.Summary.Uncommitted -= capacityBytes
		if ds.Summary.Uncommitted < 0 {
			ds.Summary.Uncommitted = 0
		}
	} else {
		ds.Summary.FreeSpace += capacityBytes
		if ds.Summary.Capacity > 0 && ds.Summary.FreeSpace > ds.Summary.Capacity {
			ds.Summary.FreeSpace = ds.Summary.Capacity
		}
	}
	publishDatastoreSpace(ds)
}

// publishDatastoreSpace mirrors Summary.FreeSpace into Info and tells the
// property collector, so WaitForUpdatesEx clients see the new figures.
func publishDatastoreSpace(ds *Datastore) {
	changes := []types.PropertyChange{{Name: "summary", Val: ds.Summary}}
	if ds.Info != nil {
		info := ds.Info.GetDatastoreInfo()
		info.FreeSpace = ds.Summary.FreeSpace
		info.MaxFileSize = ds.Summary.FreeSpace
		changes = append(changes, types.PropertyChange{Name: "info", Val: ds.Info})
	}
	Map.Update(ds, changes)
}

// lookupDatastore finds the datastore called name in datacenter dc. With a
// nil dc every datacenter is searched and the name must be unique (vCenter
// requires a datacenter; this is a convenience for simulator-internal use).
func lookupDatastore(dc *types.ManagedObjectReference, name string) (*Datastore, types.BaseMethodFault) {
	fm := Map.FileManager()
	if dc == nil && Map.IsESX() {
		dc = &esx.Datacenter.Self
	}
	if dc != nil {
		d, ok := Map.Get(*dc).(*Datacenter)
		if !ok {
			return nil, &types.ManagedObjectNotFound{Obj: *dc}
		}
		return fm.findDatastore(Map.Get(d.DatastoreFolder), name)
	}
	var found *Datastore
	for _, e := range Map.All("Datacenter") {
		d := e.(*Datacenter)
		ds, _ := fm.findDatastore(Map.Get(d.DatastoreFolder), name)
		if ds == nil {
			continue
		}
		if found != nil && found.Self != ds.Self {
			return nil, &types.InvalidArgument{InvalidProperty: "datacenter"}
		}
		found = ds
	}
	if found == nil {
		return nil, &types.InvalidDatastore{Name: name}
	}
	return found, nil
}

// resolveDsPath turns "[ds] folder/file" into the datastore and the local
// file path. Paths escaping the datastore directory ("..", absolute) are
// refused with InvalidDatastorePath rather than silently cleaned.
func resolveDsPath(dc *types.ManagedObjectReference, dsPath string) (*Datastore, string, types.BaseMethodFault) {
	p, fault := parseDatastorePath(dsPath)
	if fault != nil {
		return nil, "", fault
	}
	if !safeDatastoreRelPath(p.Path) {
		return nil, "", &types.InvalidDatastorePath{DatastorePath: dsPath}
	}
	ds, fault := lookupDatastore(dc, p.Datastore)
	if fault != nil {
		return nil, "", fault
	}
	root := filepath.Clean(ds.Info.GetDatastoreInfo().Url)
	local := filepath.Join(root, filepath.FromSlash(p.Path))
	if local != root && !strings.HasPrefix(local, root+string(filepath.Separator)) {
		return nil, "", &types.InvalidDatastorePath{DatastorePath: dsPath}
	}
	return ds, local, nil
}

// safeDatastoreRelPath accepts only relative paths without ".." components
// (and no NUL, which the OS would reject with a confusing error).
func safeDatastoreRelPath(rel string) bool {
	if strings.HasPrefix(rel, "/") || strings.HasPrefix(rel, "\\") || strings.ContainsRune(rel, 0) {
		return false
	}
	for _, part := range strings.FieldsFunc(rel, func(r rune) bool { return r == '/' || r == '\\' }) {
		if part == ".." {
			return false
		}
	}
	return true
}

// joinDsPath builds "[ds] rel" from a datastore name and a relative path.
func joinDsPath(dsName, rel string) string {
	rel = strings.TrimPrefix(path.Clean("/"+rel), "/")
	if rel == "" {
		return "[" + dsName + "]"
	}
	return "[" + dsName + "] " + rel
}
