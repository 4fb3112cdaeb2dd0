package simulator

// Folder.CreateVM_Task (and RegisterVM_Task, which shares govmomi's
// createVM runner) as strict as vCenter: a name already used by a VM in
// the folder is DuplicateName, and a CreateVM that fails leaves no folder
// or file behind. Hooked into createVM.Run by
// patches/315-folder-createvm-strict.patch.

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/vmware/govmomi/vim25/types"
)

// checkCreateVM refuses a VM name the folder already holds.
func (c *createVM) checkCreateVM() types.BaseMethodFault {
	name := c.req.Config.Name
	for _, ref := range c.Folder.ChildEntity {
		if ref.Type != "VirtualMachine" {
			continue
		}
		if vm, ok := Map.Get(ref).(*VirtualMachine); ok && vm.Name == name {
			return &types.DuplicateName{Name: name, Object: ref}
		}
	}
	return nil
}

// createVMFiles notes what the VM's home holds before a CreateVM and
// returns the undo for a failure: it removes what the call created there
// (the folder itself when the call made it), never what was there before.
// A registration creates nothing and undoes nothing.
func (c *createVM) createVMFiles() func(*VirtualMachine) {
	noop := func(*VirtualMachine) {}
	if c.register || c.req.Config.Files == nil {
		return noop
	}
	var dc *types.ManagedObjectReference
	if d := Map.getEntityDatacenter(&c.Folder.Folder); d != nil {
		dc = &d.Self
	}
	spec := &c.req.Config
	before := spec.Files.VmPathName
	if !strings.HasSuffix(before, ".vmx") {
		// govmomi makes a new folder ("name", else "name (N)"), recorded
		// in spec.files.vmPathName: it is ours to remove.
		return func(*VirtualMachine) {
			if spec.Files.VmPathName == before {
				return
			}
			if _, local, fault := resolveDsPath(dc, spec.Files.VmPathName); fault == nil {
				_ = os.RemoveAll(filepath.Dir(local))
			}
		}
	}
	_, local, fault := resolveDsPath(dc, before)
	if fault != nil {
		return noop
	}
	dir := filepath.Dir(local)
	existed := map[string]bool{}
	entries, err := os.ReadDir(dir)
	dirExisted := err == nil
	for _, e := range entries {
		existed[e.Name()] = true
	}
	return func(*VirtualMachine) {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if !existed[e.Name()] {
				_ = os.RemoveAll(filepath.Join(dir, e.Name()))
			}
		}
		if !dirExisted {
			_ = os.Remove(dir)
		}
	}
}
