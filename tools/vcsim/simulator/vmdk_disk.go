package simulator

// The virtual-disk file layer: real VMware-style disks on the datastores
// (create, delta, chain, copy, move, delete, extend, shrink, uuid and parent
// edits). The descriptor format is in vmdk_descriptor.go.
//
// Space accounting: a base disk is charged its capacity, thick or thin per
// ddb.thinProvisioned; a delta disk is charged like a thin disk of its
// capacity (it grows on demand). Deleting a disk refunds exactly what its
// descriptor says was charged.

import (
	"errors"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/vmware/govmomi/vim25/types"
)

// diskFile is a resolved disk: its datastore, descriptor and data file.
type diskFile struct {
	dsPath string
	ds     *Datastore
	desc   string // local descriptor path
	data   string // local data file path ("" when unknown)
	d      *vmdkDescriptor
}

// openDisk resolves dsPath and reads its descriptor (FileNotFound when the
// descriptor does not exist). A descriptor whose extents leave the
// datastore (an absolute path, "..", a symbolic link out) is refused with
// a FileFault: its disk is never read, written, attached or copied.
func openDisk(dc *types.ManagedObjectReference, dsPath string) (*diskFile, types.BaseMethodFault) {
	df, fault := openDiskUnchecked(dc, dsPath)
	if fault != nil {
		return nil, fault
	}
	if bad := df.escapingExtent(); bad != "" {
		return nil, &types.FileFault{File: dsPath}
	}
	return df, nil
}

// escapingExtent returns the first extent file name that does not resolve
// to a file inside the disk's datastore ("" when all do).
func (df *diskFile) escapingExtent() string {
	if df.d == nil || df.ds == nil {
		return ""
	}
	root := filepath.Clean(df.ds.Info.GetDatastoreInfo().Url)
	if r, err := filepath.EvalSymlinks(root); err == nil {
		root = r
	}
	for _, e := range df.d.Extents {
		if e.File == "" {
			continue
		}
		if filepath.IsAbs(e.File) || strings.HasPrefix(e.File, "\\") || !safeDatastoreRelPath(e.File) {
			return e.File
		}
		p := filepath.Join(filepath.Dir(df.desc), filepath.FromSlash(e.File))
		if r, err := filepath.EvalSymlinks(p); err == nil {
			p = r
		} else if r, err := filepath.EvalSymlinks(filepath.Dir(p)); err == nil {
			p = filepath.Join(r, filepath.Base(p))
		}
		if p != root && !strings.HasPrefix(p, root+string(filepath.Separator)) {
			return e.File
		}
	}
	return ""
}

// openDiskUnchecked is openDisk without the extent check (deleteDisk uses
// it to remove such a descriptor, leaving what its extents name alone).
func openDiskUnchecked(dc *types.ManagedObjectReference, dsPath string) (*diskFile, types.BaseMethodFault) {
	ds, local, fault := resolveDsPath(dc, dsPath)
	if fault != nil {
		return nil, fault
	}
	d, err := readDescriptor(local)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, &types.FileNotFound{FileFault: types.FileFault{File: dsPath}}
		}
		if err == errNotDescriptor {
			return &diskFile{dsPath: dsPath, ds: ds, desc: local}, nil
		}
		return nil, &types.CannotAccessFile{FileFault: types.FileFault{File: dsPath}}
	}
	df := &diskFile{dsPath: dsPath, ds: ds, desc: local, d: d}
	if name := d.DataFile(); name != "" {
		df.data = filepath.Join(filepath.Dir(local), filepath.FromSlash(name))
	}
	return df, nil
}

func fileExists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// checkNewDisk verifies a disk may be created at local: its folder exists
// and neither the descriptor nor the data file is there already.
func checkNewDisk(dsPath, local string, delta bool) types.BaseMethodFault {
	if !strings.HasSuffix(local, ".vmdk") {
		return &types.InvalidDatastorePath{DatastorePath: dsPath}
	}
	if st, err := os.Stat(filepath.Dir(local)); err != nil || !st.IsDir() {
		return &types.FileNotFound{FileFault: types.FileFault{File: dsPathDir(dsPath)}}
	}
	for _, p := range []string{local, vmdkDataName(local, delta)} {
		if fileExists(p) {
			return &types.FileAlreadyExists{FileFault: types.FileFault{File: dsPath}}
		}
	}
	return nil
}

func dsPathDir(dsPath string) string {
	p, fault := parseDatastorePath(dsPath)
	if fault != nil {
		return dsPath
	}
	return joinDsPath(p.Datastore, path.Dir(p.Path))
}

func cannotCreate(dsPath string) types.BaseMethodFault {
	return &types.CannotCreateFile{FileFault: types.FileFault{File: dsPath}}
}

func noDiskSpace(fault types.BaseMethodFault, dsPath string) types.BaseMethodFault {
	if nds, ok := fault.(*types.NoDiskSpace); ok {
		nds.File = dsPath
	}
	return fault
}

// createBaseDisk creates an empty base disk of capacityBytes and charges
// its datastore. Nothing is left behind when it fails.
func createBaseDisk(dsPath string, dc *types.ManagedObjectReference, capacityBytes int64, thin bool, adapterType string) types.BaseMethodFault {
	_, fault := createBaseDiskDesc(dsPath, dc, capacityBytes, thin, adapterType, "")
	return fault
}

// createBaseDiskDesc is createBaseDisk with an optional uuid (descriptor
// or RFC form); it returns the written descriptor.
func createBaseDiskDesc(dsPath string, dc *types.ManagedObjectReference, capacityBytes int64, thin bool, adapterType, uuid string) (*vmdkDescriptor, types.BaseMethodFault) {
	if capacityBytes < 0 {
		return nil, &types.InvalidArgument{InvalidProperty: "capacityKb"}
	}
	ds, local, fault := resolveDsPath(dc, dsPath)
	if fault != nil {
		return nil, fault
	}
	if fault = checkNewDisk(dsPath, local, false); fault != nil {
		return nil, fault
	}
	d := newBaseDescriptor(filepath.Base(vmdkDataName(local, false)), capacityBytes, thin, adapterType)
	if uuid != "" {
		if u, ok := normalizeDiskUUID(uuid); ok {
			d.SetDDB("ddb.uuid", u)
		}
	}
	if fault = chargeDatastore(ds, d.Capacity(), thin); fault != nil {
		return nil, noDiskSpace(fault, dsPath)
	}
	data := vmdkDataName(local, false)
	if err := writeDiskFiles(local, data, d, nil); err != nil {
		refundDatastore(ds, d.Capacity(), thin)
		return nil, cannotCreate(dsPath)
	}
	return d, nil
}

// writeDiskFiles creates the sparse data file (filled by fill, if any) and
// then the descriptor; on error both are removed.
func writeDiskFiles(local, data string, d *vmdkDescriptor, fill func(*os.File) error) error {
	err := func() error {
		f, err := os.OpenFile(data, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
		if err != nil {
			return err
		}
		defer f.Close()
		if err = f.Truncate(d.Capacity()); err != nil {
			return err
		}
		if fill != nil {
			if err = fill(f); err != nil {
				return err
			}
		}
		return writeDescriptor(local, d)
	}()
	if err != nil {
		_ = os.Remove(data)
		_ = os.Remove(local)
	}
	return err
}

// parentHint is how a delta names its parent: the bare file name when both
// live in the same folder of the same datastore (as ESXi does), otherwise
// the full "[ds] path" (ESXi would write /vmfs/volumes/..., which we also
// accept when reading).
func parentHint(childDsPath, parentDsPath string) string {
	c, _ := parseDatastorePath(childDsPath)
	p, _ := parseDatastorePath(parentDsPath)
	if c != nil && p != nil && c.Datastore == p.Datastore && path.Dir(c.Path) == path.Dir(p.Path) {
		return path.Base(p.Path)
	}
	return parentDsPath
}

// resolveParentHint turns a delta's parentFileNameHint into a dsPath.
func resolveParentHint(childDsPath, hint string) string {
	if strings.HasPrefix(strings.TrimSpace(hint), "[") {
		return hint
	}
	if strings.HasPrefix(hint, "/vmfs/volumes/") {
		rest := strings.TrimPrefix(hint, "/vmfs/volumes/")
		if i := strings.Index(rest, "/"); i > 0 {
			return joinDsPath(rest[:i], rest[i+1:])
		}
	}
	c, fault := parseDatastorePath(childDsPath)
	if fault != nil {
		return hint
	}
	if strings.HasPrefix(hint, "/") || strings.Contains(hint, "..") {
		return "[" + c.Datastore + "] " + hint // rejected later as unsafe
	}
	return joinDsPath(c.Datastore, path.Join(path.Dir(c.Path), hint))
}

// createDeltaDisk creates a delta disk over parentDsPath (same capacity,
// uuid and adapter type as the parent) and charges it as thin.
func createDeltaDisk(dsPath, parentDsPath string, dc *types.ManagedObjectReference) types.BaseMethodFault {
	parent, fault := openDisk(dc, parentDsPath)
	if fault != nil {
		return fault
	}
	if parent.d == nil {
		return &types.FileNotFound{FileFault: types.FileFault{File: parentDsPath}}
	}
	ds, local, fault := resolveDsPath(dc, dsPath)
	if fault != nil {
		return fault
	}
	if fault = checkNewDisk(dsPath, local, true); fault != nil {
		return fault
	}
	data := vmdkDataName(local, true)
	d := &vmdkDescriptor{
		Version: "1", Encoding: "UTF-8", CID: randomHex(4), ParentCID: parent.d.CID,
		CreateType:         "vmfsSparse",
		ParentFileNameHint: parentHint(dsPath, parentDsPath),
		Extents:            []vmdkExtent{{Access: "RW", Sectors: parent.d.Capacity() / vmdkSectorSize, Type: "VMFSSPARSE", File: filepath.Base(data)}},
	}
	d.SetDDB("ddb.adapterType", orDefault(parent.d.AdapterType(), "lsilogic"))
	setGeometry(d, parent.d.Capacity()/vmdkSectorSize)
	d.SetDDB("ddb.longContentID", randomHex(16))
	d.SetDDB("ddb.uuid", orDefault(parent.d.UUID(), newDiskUUID()))
	d.SetDDB("ddb.virtualHWVersion", orDefault(parent.d.DDB("ddb.virtualHWVersion"), "13"))
	if fault = chargeDatastore(ds, d.Capacity(), true); fault != nil {
		return noDiskSpace(fault, dsPath)
	}
	if err := writeDiskFiles(local, data, d, nil); err != nil {
		refundDatastore(ds, d.Capacity(), true)
		return cannotCreate(dsPath)
	}
	return nil
}

// diskChain returns dsPath followed by its ancestors (delta parents).
func diskChain(dsPath string, dc *types.ManagedObjectReference) ([]string, types.BaseMethodFault) {
	chain, fault := openChain(dc, dsPath)
	if fault != nil {
		return nil, fault
	}
	names := make([]string, len(chain))
	for i, df := range chain {
		names[i] = df.dsPath
	}
	return names, nil
}

// openChain opens dsPath and each parent in turn (child first).
func openChain(dc *types.ManagedObjectReference, dsPath string) ([]*diskFile, types.BaseMethodFault) {
	var chain []*diskFile
	for cur := dsPath; cur != ""; {
		df, fault := openDisk(dc, cur)
		if fault != nil {
			return nil, fault
		}
		chain = append(chain, df)
		if len(chain) > 256 {
			return nil, &types.InvalidArgument{InvalidProperty: "parentFileNameHint"}
		}
		cur = ""
		if df.d != nil && df.d.ParentFileNameHint != "" {
			cur = resolveParentHint(df.dsPath, df.d.ParentFileNameHint)
		}
	}
	return chain, nil
}

// copyDataRegions copies the written (non-hole) regions of src into dst at
// the same offsets, so holes stay holes and a delta's regions overlay what
// dst already holds. Falls back to a full copy where SEEK_DATA is missing.
func copyDataRegions(dst *os.File, srcPath string) error {
	src, err := os.Open(srcPath)
	if err != nil {
		return err
	}
	defer src.Close()
	st, err := src.Stat()
	if err != nil {
		return err
	}
	size := st.Size()
	for off := int64(0); off < size; {
		start, err := src.Seek(off, seekData)
		if err != nil {
			if errors.Is(err, syscall.ENXIO) {
				return nil // no data after off
			}
			return copyRange(dst, src, off, size-off, true)
		}
		end, err := src.Seek(start, seekHole)
		if err != nil {
			end = size
		}
		if err = copyRange(dst, src, start, end-start, false); err != nil {
			return err
		}
		off = end
	}
	return nil
}

const (
	seekData = 3 // SEEK_DATA (Linux)
	seekHole = 4 // SEEK_HOLE (Linux)
)

// copyRange copies n bytes at off; skipZero leaves all-zero blocks
// unwritten (the fallback keeps copies sparse without SEEK_DATA).
func copyRange(dst, src *os.File, off, n int64, skipZero bool) error {
	buf := make([]byte, 1<<20)
	for n > 0 {
		chunk := int64(len(buf))
		if chunk > n {
			chunk = n
		}
		r, err := src.ReadAt(buf[:chunk], off)
		if r > 0 && !(skipZero && allZero(buf[:r])) {
			if _, werr := dst.WriteAt(buf[:r], off); werr != nil {
				return werr
			}
		}
		if err != nil && err != io.EOF {
			return err
		}
		if r == 0 {
			return nil
		}
		off += int64(r)
		n -= int64(r)
	}
	return nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// copyDisk copies srcDsPath to dstDsPath and charges the destination. With
// flatten the whole chain becomes one base disk (parent bytes overlaid by
// each delta's data); without it only this disk's own files are copied and
// a delta keeps pointing at the same parent.
func copyDisk(srcDsPath, dstDsPath string, dc *types.ManagedObjectReference, flatten bool) types.BaseMethodFault {
	return copyDiskOpts(copyDiskOptions{src: srcDsPath, dst: dstDsPath, srcDc: dc, dstDc: dc, flatten: flatten})
}

type copyDiskOptions struct {
	src, dst     string
	srcDc, dstDc *types.ManagedObjectReference
	flatten      bool
	thin         *bool // destination provisioning; nil keeps the source's
	adapterType  string
	force        bool // replace an existing destination disk
}

func copyDiskOpts(o copyDiskOptions) types.BaseMethodFault {
	chain, fault := openChain(o.srcDc, o.src)
	if fault != nil {
		return fault
	}
	top := chain[0]
	if top.d == nil {
		return &types.FileNotFound{FileFault: types.FileFault{File: o.src}}
	}
	dstDs, local, fault := resolveDsPath(o.dstDc, o.dst)
	if fault != nil {
		return fault
	}
	if local == top.desc {
		return &types.FileAlreadyExists{FileFault: types.FileFault{File: o.dst}}
	}
	if o.force {
		if fault = removeDiskIfPresent(o.dstDc, o.dst, local); fault != nil {
			return fault
		}
	}
	delta := top.d.IsDelta() && !o.flatten
	if fault = checkNewDisk(o.dst, local, delta); fault != nil {
		return fault
	}
	d := cloneDescriptor(top.d)
	d.CID = randomHex(4)
	d.Extents = []vmdkExtent{{Access: "RW", Sectors: top.d.Capacity() / vmdkSectorSize, File: filepath.Base(vmdkDataName(local, delta))}}
	if delta {
		d.Extents[0].Type = "VMFSSPARSE"
		d.ParentFileNameHint = parentHint(o.dst, resolveParentHint(o.src, top.d.ParentFileNameHint))
	} else {
		d.Extents[0].Type = "VMFS"
		d.CreateType, d.ParentCID, d.ParentFileNameHint = "vmfs", vmdkNoParent, ""
		base := chain[len(chain)-1]
		thin := base.d != nil && base.d.Thin()
		if o.thin != nil {
			thin = *o.thin
		}
		d.deleteDDB("ddb.thinProvisioned")
		if thin {
			d.SetDDB("ddb.thinProvisioned", "1")
		}
	}
	if o.adapterType != "" {
		d.SetDDB("ddb.adapterType", o.adapterType)
	}
	if fault = chargeDatastore(dstDs, d.Capacity(), d.Thin()); fault != nil {
		return noDiskSpace(fault, o.dst)
	}
	layers := []*diskFile{top}
	if !delta {
		layers = chain
	}
	fill := func(f *os.File) error {
		for i := len(layers) - 1; i >= 0; i-- { // base first, then deltas on top
			if layers[i].data == "" {
				continue
			}
			if err := copyDataRegions(f, layers[i].data); err != nil {
				return err
			}
		}
		return nil
	}
	if err := writeDiskFiles(local, vmdkDataName(local, delta), d, fill); err != nil {
		refundDatastore(dstDs, d.Capacity(), d.Thin())
		return cannotCreate(o.dst)
	}
	return nil
}

func cloneDescriptor(d *vmdkDescriptor) *vmdkDescriptor {
	c := *d
	c.Extents = append([]vmdkExtent(nil), d.Extents...)
	c.ddbKeys = append([]string(nil), d.ddbKeys...)
	c.ddb = make(map[string]string, len(d.ddb))
	for k, v := range d.ddb {
		c.ddb[k] = v
	}
	return &c
}

func (d *vmdkDescriptor) deleteDDB(key string) {
	if _, ok := d.ddb[key]; !ok {
		return
	}
	delete(d.ddb, key)
	for i, k := range d.ddbKeys {
		if k == key {
			d.ddbKeys = append(d.ddbKeys[:i], d.ddbKeys[i+1:]...)
			break
		}
	}
}

// removeDiskIfPresent deletes whatever disk (or plain files) sits at dsPath,
// for force=true overwrites.
func removeDiskIfPresent(dc *types.ManagedObjectReference, dsPath, local string) types.BaseMethodFault {
	if !fileExists(local) {
		for _, delta := range []bool{false, true} {
			_ = os.Remove(vmdkDataName(local, delta))
		}
		return nil
	}
	return deleteDisk(dsPath, dc)
}

// moveDisk moves a disk (descriptor and data file), within or across
// datastores of dc, moving its charge with it. The destination must not
// exist.
func moveDisk(src, dst string, dc *types.ManagedObjectReference) types.BaseMethodFault {
	return moveDiskOpts(src, dc, dst, dc, false)
}

// moveDiskOpts is moveDisk with separate datacenters and force (replace an
// existing destination disk, as MoveVirtualDisk_Task's force does).
func moveDiskOpts(src string, srcDc *types.ManagedObjectReference, dst string, dstDc *types.ManagedObjectReference, force bool) types.BaseMethodFault {
	df, fault := openDisk(srcDc, src)
	if fault != nil {
		return fault
	}
	if df.d == nil {
		return &types.FileNotFound{FileFault: types.FileFault{File: src}}
	}
	dstDs, local, fault := resolveDsPath(dstDc, dst)
	if fault != nil {
		return fault
	}
	if local == df.desc {
		return nil
	}
	if force {
		if fault = removeDiskIfPresent(dstDc, dst, local); fault != nil {
			return fault
		}
	}
	delta := df.d.IsDelta()
	if fault = checkNewDisk(dst, local, delta); fault != nil {
		return fault
	}
	capacity, thin := df.d.Capacity(), df.d.Thin()
	if dstDs.Self != df.ds.Self {
		if fault = chargeDatastore(dstDs, capacity, thin); fault != nil {
			return noDiskSpace(fault, dst)
		}
	}
	undo := func() types.BaseMethodFault {
		if dstDs.Self != df.ds.Self {
			refundDatastore(dstDs, capacity, thin)
		}
		return &types.CannotAccessFile{FileFault: types.FileFault{File: src}}
	}
	d := cloneDescriptor(df.d)
	newData := vmdkDataName(local, delta)
	d.Extents[0].File = filepath.Base(newData)
	if delta {
		d.ParentFileNameHint = parentHint(dst, resolveParentHint(src, df.d.ParentFileNameHint))
	}
	if df.data != "" {
		if err := moveFile(df.data, newData); err != nil {
			return undo()
		}
	}
	if err := writeDescriptor(local, d); err != nil {
		if df.data != "" {
			_ = moveFile(newData, df.data)
		}
		return undo()
	}
	_ = os.Remove(df.desc)
	if dstDs.Self != df.ds.Self {
		refundDatastore(df.ds, capacity, thin)
	}
	return nil
}

// moveFile renames, falling back to a sparse copy across file systems.
func moveFile(from, to string) error {
	err := os.Rename(from, to)
	if err == nil || !errors.Is(err, syscall.EXDEV) {
		return err
	}
	st, err := os.Stat(from)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(to, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	if err = f.Truncate(st.Size()); err == nil {
		err = copyDataRegions(f, from)
	}
	if err != nil {
		_ = os.Remove(to)
		return err
	}
	return os.Remove(from)
}

// deleteDisk removes a disk's descriptor and data file and refunds what its
// descriptor says it was charged. A descriptor that is not a VMware
// descriptor (e.g. an empty file) is removed without a refund.
func deleteDisk(dsPath string, dc *types.ManagedObjectReference) types.BaseMethodFault {
	df, fault := openDiskUnchecked(dc, dsPath)
	if fault != nil {
		return fault
	}
	if df.escapingExtent() != "" {
		// only the descriptor is the datastore's: never follow its extents
		if err := os.Remove(df.desc); err != nil && !os.IsNotExist(err) {
			return &types.CannotDeleteFile{FileFault: types.FileFault{File: dsPath}}
		}
		return nil
	}
	if df.d == nil {
		for _, delta := range []bool{false, true} {
			_ = os.Remove(vmdkDataName(df.desc, delta))
		}
	} else if df.data != "" {
		if err := os.Remove(df.data); err != nil && !os.IsNotExist(err) {
			return &types.CannotDeleteFile{FileFault: types.FileFault{File: dsPath}}
		}
	}
	if err := os.Remove(df.desc); err != nil && !os.IsNotExist(err) {
		return &types.CannotDeleteFile{FileFault: types.FileFault{File: dsPath}}
	}
	if df.d != nil {
		refundDatastore(df.ds, df.d.Capacity(), df.d.Thin())
	}
	return nil
}

// extendDisk grows a base disk to newCapacityBytes (the data file stays
// sparse) and charges the difference. Shrinking is refused, as vSphere
// does; extending a delta (a disk with snapshots) is refused too.
func extendDisk(dsPath string, dc *types.ManagedObjectReference, newCapacityBytes int64) types.BaseMethodFault {
	df, fault := openDisk(dc, dsPath)
	if fault != nil {
		return fault
	}
	if df.d == nil {
		return &types.FileNotFound{FileFault: types.FileFault{File: dsPath}}
	}
	if df.d.IsDelta() {
		return &types.InvalidArgument{InvalidProperty: "name"}
	}
	cur := df.d.Capacity()
	sectors := (newCapacityBytes + vmdkSectorSize - 1) / vmdkSectorSize
	if sectors*vmdkSectorSize < cur {
		return &types.InvalidArgument{InvalidProperty: "newCapacityKb"}
	}
	grow := sectors*vmdkSectorSize - cur
	if grow == 0 {
		return nil
	}
	thin := df.d.Thin()
	if fault = chargeDatastore(df.ds, grow, thin); fault != nil {
		return noDiskSpace(fault, dsPath)
	}
	d := cloneDescriptor(df.d)
	d.Extents = d.Extents[:1]
	d.Extents[0].Sectors = sectors
	setGeometry(d, sectors)
	if err := os.Truncate(df.data, sectors*vmdkSectorSize); err != nil {
		refundDatastore(df.ds, grow, thin)
		return &types.CannotAccessFile{FileFault: types.FileFault{File: dsPath}}
	}
	if err := writeDescriptor(df.desc, d); err != nil {
		_ = os.Truncate(df.data, cur)
		refundDatastore(df.ds, grow, thin)
		return &types.CannotAccessFile{FileFault: types.FileFault{File: dsPath}}
	}
	return nil
}

// setDiskUUID stores uuid (either form) in the descriptor's ddb.uuid.
func setDiskUUID(dsPath string, dc *types.ManagedObjectReference, uuid string) types.BaseMethodFault {
	u, ok := normalizeDiskUUID(uuid)
	if !ok {
		return &types.InvalidArgument{InvalidProperty: "uuid"}
	}
	df, fault := openDisk(dc, dsPath)
	if fault != nil {
		return fault
	}
	if df.d == nil {
		return &types.FileNotFound{FileFault: types.FileFault{File: dsPath}}
	}
	d := cloneDescriptor(df.d)
	d.SetDDB("ddb.uuid", u)
	if err := writeDescriptor(df.desc, d); err != nil {
		return &types.CannotAccessFile{FileFault: types.FileFault{File: dsPath}}
	}
	return nil
}

// setDiskParent repoints a delta at parentDsPath (used after a chain has
// been copied or moved link by link).
func setDiskParent(dsPath, parentDsPath string, dc *types.ManagedObjectReference) types.BaseMethodFault {
	df, fault := openDisk(dc, dsPath)
	if fault != nil {
		return fault
	}
	parent, fault := openDisk(dc, parentDsPath)
	if fault != nil {
		return fault
	}
	if df.d == nil || parent.d == nil {
		return &types.FileNotFound{FileFault: types.FileFault{File: dsPath}}
	}
	d := cloneDescriptor(df.d)
	d.ParentFileNameHint = parentHint(dsPath, parentDsPath)
	d.ParentCID = parent.d.CID
	if err := writeDescriptor(df.desc, d); err != nil {
		return &types.CannotAccessFile{FileFault: types.FileFault{File: dsPath}}
	}
	return nil
}

// vdmDiskFileNames lists a disk's files as govmomi's layout code expects
// them (extent, then descriptor), or nil when dsPath is not a readable disk.
func vdmDiskFileNames(dsPath string) []string {
	df, fault := openDisk(nil, dsPath)
	if fault != nil || df.d == nil || df.d.DataFile() == "" {
		return nil
	}
	p, _ := parseDatastorePath(dsPath)
	return []string{joinDsPath(p.Datastore, path.Join(path.Dir(p.Path), df.d.DataFile())), dsPath}
}

// shrinkDisk undoes an extendDisk (rollback of a failed reconfiguration):
// back to capacityBytes, refunding the difference. Not an API operation.
func shrinkDisk(dsPath string, dc *types.ManagedObjectReference, capacityBytes int64) types.BaseMethodFault {
	df, fault := openDisk(dc, dsPath)
	if fault != nil {
		return fault
	}
	if df.d == nil || df.d.IsDelta() || capacityBytes >= df.d.Capacity() {
		return nil
	}
	shrink := df.d.Capacity() - capacityBytes
	d := cloneDescriptor(df.d)
	d.Extents = d.Extents[:1]
	d.Extents[0].Sectors = capacityBytes / vmdkSectorSize
	setGeometry(d, d.Extents[0].Sectors)
	if err := os.Truncate(df.data, capacityBytes); err != nil {
		return &types.CannotAccessFile{FileFault: types.FileFault{File: dsPath}}
	}
	if err := writeDescriptor(df.desc, d); err != nil {
		return &types.CannotAccessFile{FileFault: types.FileFault{File: dsPath}}
	}
	refundDatastore(df.ds, shrink, df.d.Thin())
	return nil
}
