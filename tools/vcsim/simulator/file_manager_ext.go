package simulator

// FileManager on datastore files with disk-aware space accounting and safe
// path resolution. patches/*-file_manager-*.patch renames govmomi's
// deleteDatastoreFile/moveDatastoreFile/copyDatastoreFile/MakeDirectory so
// the task wrappers of file_manager.go call these.
//
// A disk descriptor named directly is handled as the whole disk (extent
// included, charge moved/refunded/charged); a folder holding disks moves
// or refunds their charges with it. Deleting only an extent (-flat.vmdk)
// refunds nothing: the descriptor still claims the capacity, as a
// datastore browser would still show the disk.

import (
	"io/fs"
	"os"
	"path/filepath"

	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

func fileNotFound(name string) types.BaseMethodFault {
	return &types.FileNotFound{FileFault: types.FileFault{File: name}}
}

// isDiskDescriptor reports whether local is a readable VMware descriptor.
func isDiskDescriptor(local string) bool {
	if !diskPathIsVMDK(local) {
		return false
	}
	d, err := readDescriptor(local)
	return err == nil && d != nil
}

// folderDisks lists the disk descriptors under dir with their charge.
func folderDisks(dir string) []*vmdkDescriptor {
	var disks []*vmdkDescriptor
	_ = filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() && diskPathIsVMDK(p) {
			if d, err := readDescriptor(p); err == nil {
				disks = append(disks, d)
			}
		}
		return nil
	})
	return disks
}

func (f *FileManager) deleteDatastoreFile(req *types.DeleteDatastoreFile_Task) types.BaseMethodFault {
	ds, local, fault := resolveDsPath(req.Datacenter, req.Name)
	if fault != nil {
		return fault
	}
	if isDatastoreRoot(ds, local) {
		return &types.CannotDeleteFile{FileFault: types.FileFault{File: req.Name}}
	}
	st, err := os.Lstat(local)
	if err != nil {
		return fileNotFound(req.Name)
	}
	if !st.IsDir() && isDiskDescriptor(local) {
		return deleteDisk(req.Name, req.Datacenter)
	}
	var disks []*vmdkDescriptor
	if st.IsDir() {
		disks = folderDisks(local)
	}
	if err = os.RemoveAll(local); err != nil {
		return &types.CannotDeleteFile{FileFault: types.FileFault{File: req.Name}}
	}
	for _, d := range disks {
		refundDatastore(ds, d.Capacity(), d.Thin())
	}
	return nil
}

// moveDatastoreFile moves a file or folder; a disk descriptor moves as a
// disk, a folder carries its disks' charges to the destination datastore.
func (f *FileManager) moveDatastoreFile(req *types.MoveDatastoreFile_Task) types.BaseMethodFault {
	srcDs, src, dstDs, dst, dstDc, fault := resolveTransfer(req.SourceDatacenter, req.SourceName,
		req.DestinationDatacenter, req.DestinationName)
	if fault != nil {
		return fault
	}
	if isDatastoreRoot(srcDs, src) || isDatastoreRoot(dstDs, dst) {
		return &types.CannotAccessFile{FileFault: types.FileFault{File: req.SourceName}}
	}
	st, err := os.Lstat(src)
	if err != nil {
		return fileNotFound(req.SourceName)
	}
	if !st.IsDir() && isDiskDescriptor(src) {
		return moveDiskOpts(req.SourceName, req.SourceDatacenter, req.DestinationName, dstDc, isTrue(req.Force))
	}
	if fault = checkDestination(req.DestinationName, dst, isTrue(req.Force)); fault != nil {
		return fault
	}
	var disks []*vmdkDescriptor
	if st.IsDir() && srcDs.Self != dstDs.Self {
		disks = folderDisks(src)
		if fault = chargeAll(dstDs, disks, req.DestinationName); fault != nil {
			return fault
		}
	}
	if isTrue(req.Force) {
		_ = os.RemoveAll(dst)
	}
	if err = moveFile(src, dst); err != nil {
		refundAll(dstDs, disks)
		return &types.CannotAccessFile{FileFault: types.FileFault{File: req.SourceName}}
	}
	refundAll(srcDs, disks)
	return nil
}

// copyDatastoreFile copies a file or folder (sparse-aware); a disk
// descriptor copies as a disk, disks in a copied folder are charged.
func (f *FileManager) copyDatastoreFile(req *types.CopyDatastoreFile_Task) types.BaseMethodFault {
	_, src, dstDs, dst, dstDc, fault := resolveTransfer(req.SourceDatacenter, req.SourceName,
		req.DestinationDatacenter, req.DestinationName)
	if fault != nil {
		return fault
	}
	st, err := os.Lstat(src)
	if err != nil {
		return fileNotFound(req.SourceName)
	}
	if !st.IsDir() && isDiskDescriptor(src) {
		return copyDiskOpts(copyDiskOptions{src: req.SourceName, dst: req.DestinationName,
			srcDc: req.SourceDatacenter, dstDc: dstDc, force: isTrue(req.Force)})
	}
	if fault = checkDestination(req.DestinationName, dst, isTrue(req.Force)); fault != nil {
		return fault
	}
	var disks []*vmdkDescriptor
	if st.IsDir() {
		disks = folderDisks(src)
		if fault = chargeAll(dstDs, disks, req.DestinationName); fault != nil {
			return fault
		}
	}
	if isTrue(req.Force) {
		_ = os.RemoveAll(dst)
	}
	if err = copyTree(src, dst); err != nil {
		_ = os.RemoveAll(dst)
		refundAll(dstDs, disks)
		return &types.CannotCreateFile{FileFault: types.FileFault{File: req.DestinationName}}
	}
	return nil
}

// resolveTransfer resolves a move or copy's source and destination to their
// datastores and local paths; the destination datacenter defaults to the
// source's, as vSphere does.
func resolveTransfer(srcDc *types.ManagedObjectReference, srcName string, dstDc *types.ManagedObjectReference,
	dstName string) (*Datastore, string, *Datastore, string, *types.ManagedObjectReference, types.BaseMethodFault) {
	srcDs, src, fault := resolveDsPath(srcDc, srcName)
	if fault != nil {
		return nil, "", nil, "", nil, fault
	}
	if dstDc == nil {
		dstDc = srcDc
	}
	dstDs, dst, fault := resolveDsPath(dstDc, dstName)
	if fault != nil {
		return nil, "", nil, "", nil, fault
	}
	return srcDs, src, dstDs, dst, dstDc, nil
}

// checkDestination: the destination's folder must exist (FileNotFound, as
// vSphere does not create intermediate folders) and, without force, the
// destination itself must not (FileAlreadyExists).
func checkDestination(name, local string, force bool) types.BaseMethodFault {
	if st, err := os.Stat(filepath.Dir(local)); err != nil || !st.IsDir() {
		return fileNotFound(dsPathDir(name))
	}
	if !force && fileExists(local) {
		return &types.FileAlreadyExists{FileFault: types.FileFault{File: name}}
	}
	return nil
}

func chargeAll(ds *Datastore, disks []*vmdkDescriptor, name string) types.BaseMethodFault {
	for i, d := range disks {
		if fault := chargeDatastore(ds, d.Capacity(), d.Thin()); fault != nil {
			refundAll(ds, disks[:i])
			return noDiskSpace(fault, name)
		}
	}
	return nil
}

func refundAll(ds *Datastore, disks []*vmdkDescriptor) {
	for _, d := range disks {
		refundDatastore(ds, d.Capacity(), d.Thin())
	}
}

// copyTree copies a file or a folder recursively, keeping files sparse.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if e.IsDir() {
			return os.MkdirAll(target, 0o700)
		}
		return copySparseFile(p, target)
	})
}

func copySparseFile(src, dst string) error {
	st, err := os.Stat(src)
	if err != nil {
		return err
	}
	w, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	defer w.Close()
	if err = w.Truncate(st.Size()); err != nil {
		return err
	}
	return copyDataRegions(w, src)
}

// MakeDirectory creates a datastore folder; paths escaping the datastore
// are refused (govmomi's version joined them unchecked), and so is an
// existing path (FileAlreadyExists), as vCenter does.
func (f *FileManager) MakeDirectory(req *types.MakeDirectory) soap.HasFault {
	body := &methods.MakeDirectoryBody{}
	_, local, fault := resolveDsPath(req.Datacenter, req.Name)
	if fault == nil && fileExists(local) {
		// vCenter refuses an existing path even with createParentDirectories
		fault = &types.FileAlreadyExists{FileFault: types.FileFault{File: req.Name}}
	}
	if fault == nil {
		mkdir := os.Mkdir
		if isTrue(req.CreateParentDirectories) {
			mkdir = os.MkdirAll
		}
		if err := mkdir(local, 0o700); err != nil {
			fault = f.fault(req.Name, err, new(types.CannotCreateFile))
		}
	}
	if fault != nil {
		body.Fault_ = Fault("", fault)
		return body
	}
	body.Res = new(types.MakeDirectoryResponse)
	return body
}

// isDatastoreRoot: "[ds]" itself may not be deleted or moved away.
func isDatastoreRoot(ds *Datastore, local string) bool {
	return filepath.Clean(local) == filepath.Clean(ds.Info.GetDatastoreInfo().Url)
}
