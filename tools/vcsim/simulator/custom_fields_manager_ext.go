package simulator

// CustomFieldsManager.SetField and AddCustomFieldDef as vCenter does them.
//
// vcsim 0.24.2 appends a new value on every SetField, so an entity ends up
// with several values for one field and the first (stale) one wins, and it
// publishes neither the entity's customValue nor the manager's field list
// to the property collector, so WaitForUpdatesEx never reports them. Here
// SetField replaces the field's value on the entity (an empty value stays,
// empty, as on vCenter), refuses an unknown entity or a field of another
// managed object type, and both methods publish what they changed.

import (
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// AddCustomFieldDef adds the definition and publishes the manager's field.
func (c *CustomFieldsManager) AddCustomFieldDef(req *types.AddCustomFieldDef) soap.HasFault {
	body := c.addCustomFieldDefUpstream(req)
	if b, ok := body.(*methods.AddCustomFieldDefBody); ok && b.Fault_ == nil {
		Map.Update(c, []types.PropertyChange{{Name: "field", Val: c.Field}})
	}
	return body
}

// SetField sets (replaces) one field's value on one entity.
func (c *CustomFieldsManager) SetField(ctx *Context, req *types.SetField) soap.HasFault {
	body := &methods.SetFieldBody{}
	_, field := c.findByKey(req.Key)
	if field == nil {
		body.Fault_ = Fault("", &types.InvalidArgument{InvalidProperty: "key"})
		return body
	}
	obj, ok := Map.Get(req.Entity).(mo.Entity)
	if !ok {
		body.Fault_ = Fault("", &types.ManagedObjectNotFound{Obj: req.Entity})
		return body
	}
	if field.ManagedObjectType != "" && field.ManagedObjectType != req.Entity.Type {
		body.Fault_ = Fault("", &types.InvalidArgument{InvalidProperty: "entity"})
		return body
	}
	entity := obj.Entity()
	ctx.WithLock(obj, func() {
		entity.CustomValue = setCustomValue(entity.CustomValue, req.Key, req.Value)
		entity.Value = setCustomValue(entity.Value, req.Key, req.Value)
		Map.Update(obj, []types.PropertyChange{
			{Name: "customValue", Val: entity.CustomValue},
			{Name: "value", Val: entity.Value},
		})
	})
	body.Res = &types.SetFieldResponse{}
	return body
}

// setCustomValue returns values with key's value replaced (or added).
func setCustomValue(values []types.BaseCustomFieldValue, key int32, value string) []types.BaseCustomFieldValue {
	out := make([]types.BaseCustomFieldValue, 0, len(values)+1)
	for _, v := range values {
		if v.GetCustomFieldValue().Key != key {
			out = append(out, v)
		}
	}
	return append(out, &types.CustomFieldStringValue{
		CustomFieldValue: types.CustomFieldValue{Key: key},
		Value:            value,
	})
}
