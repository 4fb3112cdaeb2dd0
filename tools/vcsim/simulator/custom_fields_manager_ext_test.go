package simulator

import (
	"testing"

	"github.com/vmware/govmomi/vim25/types"
)

func TestSetFieldReplacesAndPublishes(t *testing.T) {
	m := VPX()
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	defer m.Remove()
	ctx := internalContext
	cfm := Map.Get(*Map.content().CustomFieldsManager).(*CustomFieldsManager)
	ds := Map.Any("Datastore").(*Datastore)
	vm := Map.Any("VirtualMachine").(*VirtualMachine)

	add := cfm.AddCustomFieldDef(&types.AddCustomFieldDef{Name: "mark", MoType: "Datastore"})
	if add.Fault() != nil {
		t.Fatal(add.Fault())
	}
	key := cfm.Field[len(cfm.Field)-1].Key
	for _, value := range []string{"one", "two", ""} {
		if r := cfm.SetField(ctx, &types.SetField{Entity: ds.Self, Key: key, Value: value}); r.Fault() != nil {
			t.Fatal(r.Fault())
		}
		if n := len(ds.CustomValue); n != 1 {
			t.Fatalf("%d values after setting %q, want 1", n, value)
		}
		got := ds.CustomValue[0].(*types.CustomFieldStringValue).Value
		if got != value {
			t.Fatalf("value %q, want %q", got, value)
		}
	}
	// a Datastore field on a VM, an unknown key: refused, nothing set
	if r := cfm.SetField(ctx, &types.SetField{Entity: vm.Self, Key: key, Value: "x"}); r.Fault() == nil {
		t.Fatal("a Datastore field was set on a VM")
	}
	if r := cfm.SetField(ctx, &types.SetField{Entity: ds.Self, Key: key + 100, Value: "x"}); r.Fault() == nil {
		t.Fatal("an unknown key was set")
	}
	if len(vm.CustomValue) != 0 || len(ds.CustomValue) != 1 {
		t.Fatal("a refused SetField changed values")
	}
}
