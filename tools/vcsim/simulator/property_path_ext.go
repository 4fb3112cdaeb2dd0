package simulator

// Property paths as vSphere accepts them: dotted field names, where a field
// holding an array of keyed items may be followed by a selector picking one
// item by its key: config.extraConfig["cinder.volume.id"] (OptionValue,
// string key) or config.hardware.device[2000] (VirtualDevice, integer key).

import (
	"reflect"
	"strconv"
	"strings"

	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// pathStep is one field of a property path, with its optional key selector.
type pathStep struct {
	name   string
	keyed  bool
	strKey string
	intKey int64
	isStr  bool
}

// parsePropertyPath splits a path into steps; ok is false when it is malformed.
// Dots inside a quoted key ("cinder.volume.id") do not split.
func parsePropertyPath(p string) ([]pathStep, bool) {
	var steps []pathStep
	for len(p) > 0 {
		end := strings.IndexAny(p, ".[")
		if end < 0 {
			end = len(p)
		}
		st := pathStep{name: p[:end]}
		if st.name == "" {
			return nil, false
		}
		p = p[end:]
		if strings.HasPrefix(p, "[") {
			rest, ok := parseKeySelector(p, &st)
			if !ok {
				return nil, false
			}
			p = rest
		}
		steps = append(steps, st)
		if strings.HasPrefix(p, ".") {
			p = p[1:]
			if p == "" {
				return nil, false
			}
		} else if p != "" {
			return nil, false
		}
	}
	return steps, len(steps) > 0
}

// parseKeySelector reads `["key"]` or `[123]` at the start of p into st.
func parseKeySelector(p string, st *pathStep) (string, bool) {
	st.keyed = true
	if strings.HasPrefix(p, `["`) {
		var b strings.Builder
		for i := 2; i < len(p); i++ {
			switch c := p[i]; {
			case c == '\\' && i+1 < len(p):
				i++
				b.WriteByte(p[i])
			case c == '"':
				if i+1 >= len(p) || p[i+1] != ']' {
					return "", false
				}
				st.isStr, st.strKey = true, b.String()
				return p[i+2:], true
			default:
				b.WriteByte(c)
			}
		}
		return "", false
	}
	end := strings.IndexByte(p, ']')
	if end < 0 {
		return "", false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(p[1:end]), 10, 64)
	if err != nil {
		return "", false
	}
	st.intKey = n
	return p[end+1:], true
}

// moTypeByName is the vim25/mo struct type of a managed object type name.
// Unknown names make govmomi panic; that is turned into "not known".
func moTypeByName(name string) (t reflect.Type, ok bool) {
	defer func() {
		if recover() != nil {
			t, ok = nil, false
		}
	}()
	obj, err := mo.ObjectContentToType(types.ObjectContent{
		Obj: types.ManagedObjectReference{Type: name, Value: "x"}}, true)
	if err != nil || obj == nil {
		return nil, false
	}
	t = reflect.TypeOf(obj)
	for t.Kind() == reflect.Ptr {
		t = t.Elem()
	}
	return t, true
}

// validPathForType tells whether steps name a property of type t, as far as
// static types tell: past an interface-typed field (e.g. Datastore.info) the
// concrete type is only known at run time, so the rest is accepted.
// Without a selector a path cannot go through an array.
func validPathForType(t reflect.Type, steps []pathStep) bool {
	for _, st := range steps {
		for t.Kind() == reflect.Ptr {
			t = t.Elem()
		}
		if t.Kind() == reflect.Interface {
			return true
		}
		if t.Kind() != reflect.Struct {
			return false
		}
		f, ok := t.FieldByName(ucFirst(st.name))
		if !ok || f.Anonymous || f.Name == "Self" {
			return false
		}
		t = f.Type
		if st.keyed {
			if t.Kind() != reflect.Slice {
				return false
			}
			t = t.Elem()
		}
	}
	return true
}

// propertyValue reads the property at steps from a managed object value.
// present is false when the property is unset or a selected key is absent:
// vSphere then simply leaves it out of the property set.
func propertyValue(rval reflect.Value, steps []pathStep) (val interface{}, present bool, valid bool) {
	cur := rval
	for i, st := range steps {
		cur, present = derefValue(cur)
		if !present {
			return nil, false, true
		}
		if cur.Kind() != reflect.Struct {
			return nil, false, false
		}
		sf, ok := cur.Type().FieldByName(ucFirst(st.name))
		if !ok || sf.Anonymous {
			return nil, false, false
		}
		field := cur.FieldByIndex(sf.Index)
		last := i == len(steps)-1
		if st.keyed {
			item, found, ok := selectKeyedItem(field, st)
			if !ok {
				return nil, false, false
			}
			if !found {
				return nil, false, true
			}
			if last {
				return item.Interface(), true, true
			}
			cur = item
			continue
		}
		if last {
			// an empty array is still reported (as an empty ArrayOf*), like vCenter
			if isEmpty(field) || (field.Kind() == reflect.Interface && field.IsNil()) {
				return nil, false, true
			}
			return fieldValueInterface(sf, field), true, true
		}
		if field.Kind() == reflect.Slice {
			return nil, false, false
		}
		cur = field
	}
	return nil, false, true
}

// derefValue follows interfaces and pointers; false when one is nil.
func derefValue(v reflect.Value) (reflect.Value, bool) {
	for v.Kind() == reflect.Interface || v.Kind() == reflect.Ptr {
		if v.IsNil() {
			return v, false
		}
		v = v.Elem()
	}
	return v, true
}

// selectKeyedItem finds the element of an array whose `key` field matches
// the selector. The element is returned as stored (e.g. *types.OptionValue).
// The last match wins: vcsim's ReconfigVM appends an extraConfig key set
// again instead of replacing it, and the latest value is vCenter's.
func selectKeyedItem(arr reflect.Value, st pathStep) (reflect.Value, bool, bool) {
	if arr.Kind() != reflect.Slice {
		return reflect.Value{}, false, false
	}
	for i := arr.Len() - 1; i >= 0; i-- {
		item := arr.Index(i)
		s, ok := derefValue(item)
		if !ok || s.Kind() != reflect.Struct {
			continue
		}
		key := keyFieldOf(s)
		if !key.IsValid() {
			return reflect.Value{}, false, false
		}
		if keyMatches(key, st) {
			if item.Kind() == reflect.Interface {
				item = item.Elem()
			}
			if item.Kind() == reflect.Struct {
				// a value element (e.g. []types.HostMountInfo): hand out a copy by pointer
				p := reflect.New(item.Type())
				p.Elem().Set(item)
				item = p
			}
			return item, true, true
		}
	}
	return reflect.Value{}, false, true
}

// keyFieldOf finds the `Key` field, possibly promoted from an embedded type
// (VirtualDisk embeds VirtualDevice).
func keyFieldOf(s reflect.Value) reflect.Value {
	sf, ok := s.Type().FieldByName("Key")
	if !ok {
		return reflect.Value{}
	}
	return s.FieldByIndex(sf.Index)
}

func keyMatches(key reflect.Value, st pathStep) bool {
	switch key.Kind() {
	case reflect.String:
		return st.isStr && key.String() == st.strKey
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return !st.isStr && key.Int() == st.intKey
	}
	return false
}
