package simulator

import (
	"reflect"

	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// ExtensionManager (vcsim 0.24.2 has only the bare object, without methods):
// the extension registry Cinder's do_setup uses (FindExtension, then
// RegisterExtension of org.openstack.storage, InvalidArgument if present).
type ExtensionManager struct {
	mo.ExtensionManager
}

func init() {
	// model creation instantiates ServiceContent objects through kinds
	kinds["ExtensionManager"] = reflect.TypeOf((*ExtensionManager)(nil)).Elem()
}

func (m *ExtensionManager) find(key string) int {
	for i := range m.ExtensionList {
		if m.ExtensionList[i].Key == key {
			return i
		}
	}
	return -1
}

func (m *ExtensionManager) FindExtension(req *types.FindExtension) soap.HasFault {
	res := &types.FindExtensionResponse{}
	if i := m.find(req.ExtensionKey); i >= 0 {
		ext := m.ExtensionList[i]
		res.Returnval = &ext
	}
	return &methods.FindExtensionBody{Res: res}
}

func (m *ExtensionManager) RegisterExtension(req *types.RegisterExtension) soap.HasFault {
	ext := req.Extension
	if ext.Key == "" || m.find(ext.Key) >= 0 {
		return &methods.RegisterExtensionBody{Fault_: Fault("", &types.InvalidArgument{InvalidProperty: "extension.key"})}
	}
	list := append(append([]types.Extension(nil), m.ExtensionList...), ext)
	Map.Update(m, []types.PropertyChange{{Name: "extensionList", Val: list}})
	return &methods.RegisterExtensionBody{Res: new(types.RegisterExtensionResponse)}
}

func (m *ExtensionManager) UpdateExtension(req *types.UpdateExtension) soap.HasFault {
	i := m.find(req.Extension.Key)
	if i < 0 {
		return &methods.UpdateExtensionBody{Fault_: Fault("", &types.NotFound{})}
	}
	list := append([]types.Extension(nil), m.ExtensionList...)
	list[i] = req.Extension
	Map.Update(m, []types.PropertyChange{{Name: "extensionList", Val: list}})
	return &methods.UpdateExtensionBody{Res: new(types.UpdateExtensionResponse)}
}

func (m *ExtensionManager) UnregisterExtension(req *types.UnregisterExtension) soap.HasFault {
	i := m.find(req.ExtensionKey)
	if i < 0 {
		return &methods.UnregisterExtensionBody{Fault_: Fault("", &types.NotFound{})}
	}
	list := append(append([]types.Extension(nil), m.ExtensionList[:i]...), m.ExtensionList[i+1:]...)
	Map.Update(m, []types.PropertyChange{{Name: "extensionList", Val: list}})
	return &methods.UnregisterExtensionBody{Res: new(types.UnregisterExtensionResponse)}
}
