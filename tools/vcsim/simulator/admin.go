package simulator

// The simulator's admin API under /admin/ (JSON; documented in
// tools/vcsim/ADMIN.md): fault and latency injection (fault_injector.go),
// session invalidation, request statistics (request_stats.go) and inventory
// changes behind the clients' backs, published through Map.Update so
// PropertyCollector clients (WaitForUpdatesEx) see them.

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// adminError is a 4xx answer naming the offending field.
type adminError struct {
	status int
	field  string
	msg    string
}

func adminBadField(field, format string, args ...interface{}) *adminError {
	return &adminError{http.StatusBadRequest, field, fmt.Sprintf(format, args...)}
}

// AdminHandler serves the simulator's admin API under /admin/.
func AdminHandler() http.Handler {
	return http.HandlerFunc(adminServe)
}

func adminServe(w http.ResponseWriter, r *http.Request) {
	parts := adminPathParts(r)
	res, aerr := adminRoute(r, parts)
	w.Header().Set("Content-Type", "application/json")
	if aerr != nil {
		w.WriteHeader(aerr.status)
		body := map[string]string{"error": aerr.msg}
		if aerr.field != "" {
			body["field"] = aerr.field
		}
		_ = json.NewEncoder(w).Encode(body)
		return
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(res)
}

// adminPathParts splits the path after /admin/ into unescaped segments, so that
// inventory names may hold any character (escaped as %XX).
func adminPathParts(r *http.Request) []string {
	p := strings.TrimPrefix(r.URL.EscapedPath(), "/admin")
	var parts []string
	for _, seg := range strings.Split(strings.Trim(p, "/"), "/") {
		if seg == "" {
			continue
		}
		if u, err := url.PathUnescape(seg); err == nil {
			seg = u
		}
		parts = append(parts, seg)
	}
	return parts
}

func adminMethodNotAllowed(r *http.Request) *adminError {
	return &adminError{http.StatusMethodNotAllowed, "", fmt.Sprintf("%s not allowed on %s", r.Method, r.URL.Path)}
}

func adminNotFound(r *http.Request) *adminError {
	return &adminError{http.StatusNotFound, "", fmt.Sprintf("no admin endpoint %s (see GET /admin/)", r.URL.Path)}
}

func adminRoute(r *http.Request, parts []string) (interface{}, *adminError) {
	if len(parts) == 0 {
		return adminIndex, nil
	}
	switch parts[0] {
	case "faults", "latency":
		return adminRouteRules(r, parts[0] == "latency", parts[1:])
	case "sessions":
		return adminRouteSessions(r, parts[1:])
	case "stats":
		switch r.Method {
		case http.MethodGet:
			return adminStats.snapshot(false), nil
		case http.MethodPost, http.MethodDelete:
			return adminStats.snapshot(true), nil
		}
		return nil, adminMethodNotAllowed(r)
	case "reset":
		if r.Method != http.MethodPost {
			return nil, adminMethodNotAllowed(r)
		}
		adminInjector.remove(false, 0)
		adminInjector.remove(true, 0)
		adminStats.snapshot(true)
		return map[string]bool{"reset": true}, nil
	case "datastores":
		return adminRouteDatastores(r, parts[1:])
	case "hosts":
		if len(parts) != 2 {
			return nil, adminNotFound(r)
		}
		return adminRouteHost(r, parts[1])
	}
	return nil, adminNotFound(r)
}

var adminIndex = map[string]string{
	"GET /admin/faults":                           "list injected faults (with how many times each fired)",
	"POST /admin/faults":                          "inject a fault: {method, fault, message?, count?, skip?, moref?, body_contains?, fields?, task?, drop_connection?, applied?, retry_fault?, retry_task?, end_session?}",
	"DELETE /admin/faults[/ID]":                   "clear all injected faults, or one",
	"GET /admin/latency":                          "list latency rules",
	"POST /admin/latency":                         "add latency: {delay_ms, method?, count?, skip?, moref?, body_contains?}",
	"DELETE /admin/latency[/ID]":                  "clear latency rules",
	"GET /admin/sessions":                         "list sessions",
	"POST /admin/sessions/invalidate":             "end every session now",
	"GET /admin/stats":                            "per-method SOAP request counts and response bytes",
	"POST /admin/stats":                           "reset the statistics (answers the figures up to the reset)",
	"POST /admin/reset":                           "clear faults, latency and statistics",
	"GET|POST /admin/datastores/NAME":             "read or set {datacenter?, capacity_gb, free_gb, uncommitted_gb, accessible, maintenance_mode}",
	"GET|POST /admin/datastores/NAME/mounts/HOST": "read or set a host mount {datacenter?, accessible, mounted, access_mode}",
	"GET|POST /admin/hosts/NAME":                  "read or set {datacenter?, connection_state, maintenance}",
}

// adminFields is a decoded JSON object whose fields are taken one by one, so
// errors name the field and unknown fields are refused.
type adminFields map[string]json.RawMessage

func adminReadFields(r *http.Request) (adminFields, *adminError) {
	f := adminFields{}
	data, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return nil, adminBadField("", "reading the request body: %v", err)
	}
	if strings.TrimSpace(string(data)) == "" {
		return f, nil
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, adminBadField("", "the request body is not a JSON object: %v", err)
	}
	return f, nil
}

// take decodes field name into dst if present; says whether it was.
func (f adminFields) take(name string, dst interface{}, what string) (bool, *adminError) {
	raw, ok := f[name]
	if !ok {
		return false, nil
	}
	delete(f, name)
	if err := json.Unmarshal(raw, dst); err != nil || string(raw) == "null" {
		return false, adminBadField(name, "%s must be %s", name, what)
	}
	return true, nil
}

// done refuses any field not taken.
func (f adminFields) done() *adminError {
	var names []string
	for name := range f {
		names = append(names, name)
	}
	if len(names) == 0 {
		return nil
	}
	sort.Strings(names)
	return adminBadField(names[0], "unknown field %q", names[0])
}

// ---- faults and latency ----

func adminRouteRules(r *http.Request, latency bool, rest []string) (interface{}, *adminError) {
	key := "faults"
	if latency {
		key = "latency"
	}
	switch {
	case r.Method == http.MethodGet && len(rest) == 0:
		return map[string]interface{}{key: adminInjector.list(latency)}, nil
	case r.Method == http.MethodPost && len(rest) == 0:
		f, aerr := adminReadFields(r)
		if aerr != nil {
			return nil, aerr
		}
		rule, aerr := adminParseRule(f, latency)
		if aerr != nil {
			return nil, aerr
		}
		return adminInjector.add(rule), nil
	case r.Method == http.MethodDelete && len(rest) <= 1:
		id := 0
		if len(rest) == 1 {
			n, err := strconv.Atoi(rest[0])
			if err != nil || n <= 0 {
				return nil, adminBadField("id", "%q is not a rule id", rest[0])
			}
			id = n
		}
		n := adminInjector.remove(latency, id)
		if id != 0 && n == 0 {
			return nil, &adminError{http.StatusNotFound, "id", fmt.Sprintf("no %s rule %d", key, id)}
		}
		return map[string]int{"removed": n}, nil
	}
	return nil, adminMethodNotAllowed(r)
}

// adminParseRule validates a fault (or latency) rule from its JSON fields.
func adminParseRule(f adminFields, latency bool) (*faultRule, *adminError) {
	rule := &faultRule{Method: "*", Count: -1}
	checks := []struct {
		name string
		dst  interface{}
		what string
	}{
		{"method", &rule.Method, "a SOAP method name or \"*\""},
		{"moref", &rule.Moref, "a managed object id such as \"vm-42\""},
		{"body_contains", &rule.BodyContains, "a string"},
		{"count", &rule.Count, "an integer (-1: every call)"},
		{"skip", &rule.Skip, "a non-negative integer"},
	}
	if latency {
		checks = append(checks, struct {
			name string
			dst  interface{}
			what string
		}{"delay_ms", &rule.DelayMs, "a positive integer (milliseconds)"})
	} else {
		for _, c := range []struct {
			name string
			dst  interface{}
		}{{"fault", &rule.Fault}, {"message", &rule.Message}, {"retry_fault", &rule.RetryFault}} {
			checks = append(checks, struct {
				name string
				dst  interface{}
				what string
			}{c.name, c.dst, "a string"})
		}
		for _, c := range []struct {
			name string
			dst  *bool
		}{{"task", &rule.Task}, {"drop_connection", &rule.DropConnection}, {"applied", &rule.Applied}} {
			checks = append(checks, struct {
				name string
				dst  interface{}
				what string
			}{c.name, c.dst, "true or false"})
		}
	}
	for _, c := range checks {
		if _, aerr := f.take(c.name, c.dst, c.what); aerr != nil {
			return nil, aerr
		}
	}
	var endSession, retryTask *bool
	if !latency {
		if raw, ok := f["fields"]; ok {
			delete(f, "fields")
			var obj map[string]json.RawMessage
			if json.Unmarshal(raw, &obj) != nil {
				return nil, adminBadField("fields", "fields must be a JSON object of the fault's properties")
			}
			rule.Fields = raw
		}
		var b, rt bool
		if ok, aerr := f.take("end_session", &b, "true or false"); aerr != nil {
			return nil, aerr
		} else if ok {
			endSession = &b
		}
		if ok, aerr := f.take("retry_task", &rt, "true or false"); aerr != nil {
			return nil, aerr
		} else if ok {
			retryTask = &rt
		}
	}
	if aerr := f.done(); aerr != nil {
		return nil, aerr
	}
	if aerr := adminValidateRule(rule, latency); aerr != nil {
		return nil, aerr
	}
	// A real NotAuthenticated means the session is gone; clients (oslo.vmware)
	// check SessionIsActive before logging in again, so end it by default.
	rule.EndSession = rule.Fault == "NotAuthenticated" && !rule.Task
	if endSession != nil {
		rule.EndSession = *endSession
	}
	// vCenter refuses a *_Task call's retry through the task it answers.
	rule.RetryTask = rule.RetryFault != "" && strings.HasSuffix(rule.Method, vTaskSuffix)
	if retryTask != nil {
		if rule.RetryFault == "" {
			return nil, adminBadField("retry_task", "retry_task only goes with retry_fault")
		}
		if *retryTask && !strings.HasSuffix(rule.Method, vTaskSuffix) {
			return nil, adminBadField("retry_task", "retry_task needs a *_Task method, not %q", rule.Method)
		}
		rule.RetryTask = *retryTask
	}
	return rule, nil
}

func adminValidateRule(rule *faultRule, latency bool) *adminError {
	if rule.Method != "*" {
		if _, ok := types.TypeFunc()(rule.Method); !ok || rule.Method == "" {
			return adminBadField("method", "unknown vim25 method %q", rule.Method)
		}
	}
	if rule.Count < -1 || rule.Count == 0 {
		return adminBadField("count", "count must be a positive integer, or -1 for every call")
	}
	if rule.Skip < 0 {
		return adminBadField("skip", "skip must be a non-negative integer")
	}
	if latency {
		if rule.DelayMs <= 0 {
			return adminBadField("delay_ms", "delay_ms must be a positive integer (milliseconds)")
		}
		return nil
	}
	if rule.RetryFault != "" {
		if !rule.DropConnection || !rule.Applied {
			return adminBadField("retry_fault", "retry_fault goes with applied and drop_connection")
		}
		if rule.Method == "*" {
			return adminBadField("method", "retry_fault needs a method (the call whose retry is refused)")
		}
		if _, err := newFaultByName(rule.RetryFault, rule.Fields); err != nil {
			field := "retry_fault"
			if strings.Contains(err.Error(), "fields") {
				field = "fields"
			}
			return adminBadField(field, "%v", err)
		}
	}
	if rule.DropConnection {
		if rule.Fault != "" || rule.Task {
			return adminBadField("drop_connection", "drop_connection excludes fault and task")
		}
		if len(rule.Fields) > 0 && rule.RetryFault == "" {
			return adminBadField("fields", "fields go with fault or retry_fault")
		}
		return nil
	}
	if rule.Applied {
		return adminBadField("applied", "applied only goes with drop_connection")
	}
	if rule.Fault == "" {
		return adminBadField("fault", "fault is required (a vim25 fault type name), unless drop_connection is set")
	}
	if _, err := newFaultByName(rule.Fault, rule.Fields); err != nil {
		field := "fault"
		if strings.Contains(err.Error(), "fields") {
			field = "fields"
		}
		return adminBadField(field, "%v", err)
	}
	if rule.Task && !strings.HasSuffix(rule.Method, vTaskSuffix) {
		return adminBadField("task", "task needs a *_Task method, not %q", rule.Method)
	}
	return nil
}

// ---- sessions ----

func adminRouteSessions(r *http.Request, rest []string) (interface{}, *adminError) {
	switch {
	case len(rest) == 0 && r.Method == http.MethodGet:
		return map[string]interface{}{"sessions": adminListSessions()}, nil
	case len(rest) == 1 && rest[0] == "invalidate" && r.Method == http.MethodPost:
		return map[string]int{"invalidated": (&Service{}).invalidateSessions()}, nil
	case len(rest) == 1 && rest[0] == "invalidate":
		return nil, adminMethodNotAllowed(r)
	}
	return nil, adminNotFound(r)
}

type adminSessionInfo struct {
	Key       string `json:"key"`
	UserName  string `json:"user_name"`
	CallCount int64  `json:"call_count"`
}

func adminListSessions() []adminSessionInfo {
	sm := Map.SessionManager()
	sessionMutex.Lock()
	defer sessionMutex.Unlock()
	out := []adminSessionInfo{}
	for _, s := range sm.sessions {
		out = append(out, adminSessionInfo{s.Key, s.UserName, s.CallCount})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// ---- inventory ----

const adminGiB = float64(1 << 30)

func adminToGiB(b int64) float64 { return float64(b) / adminGiB }

// adminFindEntity finds the one entity of kind named name, optionally within
// the named datacenter.
func adminFindEntity(kind, name, datacenter string) (mo.Entity, *adminError) {
	var found []mo.Entity
	for _, e := range Map.All(kind) {
		if e.Entity().Name != name {
			continue
		}
		if datacenter != "" {
			dc := Map.getEntityDatacenter(e)
			if dc == nil || dc.Name != datacenter {
				continue
			}
		}
		found = append(found, e)
	}
	what := strings.ToLower(kind)
	switch len(found) {
	case 0:
		where := ""
		if datacenter != "" {
			where = " in datacenter " + strconv.Quote(datacenter)
		}
		return nil, &adminError{http.StatusNotFound, "name", fmt.Sprintf("no %s named %q%s", what, name, where)}
	case 1:
		return found[0], nil
	}
	return nil, &adminError{http.StatusConflict, "datacenter",
		fmt.Sprintf("%d %ss are named %q: give datacenter", len(found), what, name)}
}

// adminTarget reads the optional datacenter (body field or query).
func adminTarget(r *http.Request) (adminFields, string, *adminError) {
	f := adminFields{}
	if r.Method == http.MethodPost {
		var aerr *adminError
		if f, aerr = adminReadFields(r); aerr != nil {
			return nil, "", aerr
		}
	}
	dc := r.URL.Query().Get("datacenter")
	if _, aerr := f.take("datacenter", &dc, "a datacenter name"); aerr != nil {
		return nil, "", aerr
	}
	return f, dc, nil
}

func adminRouteDatastores(r *http.Request, rest []string) (interface{}, *adminError) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		return nil, adminMethodNotAllowed(r)
	}
	if len(rest) != 1 && !(len(rest) == 3 && rest[1] == "mounts") {
		return nil, adminNotFound(r)
	}
	f, dcName, aerr := adminTarget(r)
	if aerr != nil {
		return nil, aerr
	}
	e, aerr := adminFindEntity("Datastore", rest[0], dcName)
	if aerr != nil {
		return nil, aerr
	}
	ds := e.(*Datastore)
	if len(rest) == 3 {
		h, aerr := adminFindEntity("HostSystem", rest[2], dcName)
		if aerr != nil {
			aerr.field = "host"
			return nil, aerr
		}
		return adminSetMount(ds, h.(*HostSystem), f)
	}
	return adminSetDatastore(ds, f)
}

func adminDatastoreView(ds *Datastore) map[string]interface{} {
	mounts := []map[string]interface{}{}
	for _, m := range ds.Host {
		mounts = append(mounts, adminMountView(m))
	}
	return map[string]interface{}{
		"name": ds.Name, "moref": ds.Self.Value, "type": ds.Summary.Type,
		"capacity_gb": adminToGiB(ds.Summary.Capacity), "free_gb": adminToGiB(ds.Summary.FreeSpace),
		"uncommitted_gb": adminToGiB(ds.Summary.Uncommitted), "accessible": ds.Summary.Accessible,
		"maintenance_mode": ds.Summary.MaintenanceMode, "url": ds.Summary.Url, "mounts": mounts,
	}
}

func adminMountView(m types.DatastoreHostMount) map[string]interface{} {
	v := map[string]interface{}{"host": m.Key.Value, "access_mode": m.MountInfo.AccessMode,
		"mounted":    m.MountInfo.Mounted != nil && *m.MountInfo.Mounted,
		"accessible": m.MountInfo.Accessible != nil && *m.MountInfo.Accessible}
	if h, ok := Map.Get(m.Key).(*HostSystem); ok {
		v["host"] = h.Name
	}
	return v
}

// adminField is one expected field: its name, where to decode it, and
// what it must be (for the error message).
type adminField struct {
	name string
	dst  interface{}
	what string
}

// takeAll decodes every field in fields, then checks nothing else was sent;
// it reports which fields were present.
func (f adminFields) takeAll(fields []adminField) (map[string]bool, *adminError) {
	has := map[string]bool{}
	for _, c := range fields {
		ok, aerr := f.take(c.name, c.dst, c.what)
		if aerr != nil {
			return nil, aerr
		}
		has[c.name] = ok
	}
	return has, f.done()
}

var adminMaintenanceModes = map[string]bool{"normal": true, "enteringMaintenance": true, "inMaintenance": true}

// adminSetDatastore applies the datastore fields in f (all validated first).
func adminSetDatastore(ds *Datastore, f adminFields) (interface{}, *adminError) {
	var capacity, free, uncommitted float64
	var accessible bool
	var mode string
	has, aerr := f.takeAll([]adminField{
		{"capacity_gb", &capacity, "a number of GiB"}, {"free_gb", &free, "a number of GiB"},
		{"uncommitted_gb", &uncommitted, "a number of GiB"}, {"accessible", &accessible, "true or false"},
		{"maintenance_mode", &mode, "normal, enteringMaintenance or inMaintenance"},
	})
	if aerr != nil {
		return nil, aerr
	}
	for name, v := range map[string]float64{"capacity_gb": capacity, "free_gb": free, "uncommitted_gb": uncommitted} {
		if has[name] && v < 0 {
			return nil, adminBadField(name, "%s must not be negative", name)
		}
	}
	if has["maintenance_mode"] && !adminMaintenanceModes[mode] {
		return nil, adminBadField("maintenance_mode", "maintenance_mode must be normal, enteringMaintenance or inMaintenance, not %q", mode)
	}
	var view map[string]interface{}
	Map.WithLock(ds, func() {
		var changes []types.PropertyChange
		info := ds.Info.GetDatastoreInfo()
		if has["capacity_gb"] {
			ds.Summary.Capacity = int64(capacity * adminGiB)
			changes = append(changes, types.PropertyChange{Name: "summary.capacity", Val: ds.Summary.Capacity})
			if vmfs, ok := ds.Info.(*types.VmfsDatastoreInfo); ok && vmfs.Vmfs != nil {
				vmfs.Vmfs.Capacity = ds.Summary.Capacity
				changes = append(changes, types.PropertyChange{Name: "info.vmfs.capacity", Val: ds.Summary.Capacity})
			}
		}
		if has["free_gb"] {
			ds.Summary.FreeSpace = int64(free * adminGiB)
			info.FreeSpace = ds.Summary.FreeSpace
			changes = append(changes,
				types.PropertyChange{Name: "summary.freeSpace", Val: ds.Summary.FreeSpace},
				types.PropertyChange{Name: "info.freeSpace", Val: info.FreeSpace})
		}
		if has["uncommitted_gb"] {
			ds.Summary.Uncommitted = int64(uncommitted * adminGiB)
			changes = append(changes, types.PropertyChange{Name: "summary.uncommitted", Val: ds.Summary.Uncommitted})
		}
		if has["accessible"] {
			ds.Summary.Accessible = accessible
			changes = append(changes, types.PropertyChange{Name: "summary.accessible", Val: accessible})
		}
		if has["maintenance_mode"] {
			ds.Summary.MaintenanceMode = mode
			changes = append(changes, types.PropertyChange{Name: "summary.maintenanceMode", Val: mode})
		}
		if len(changes) > 0 {
			// "info" is an interface field the PropertyCollector cannot
			// address by sub-path; announce it whole as well.
			if has["capacity_gb"] || has["free_gb"] {
				changes = append(changes, types.PropertyChange{Name: "info", Val: ds.Info})
			}
			Map.Update(ds, changes)
		}
		view = adminDatastoreView(ds)
	})
	return view, nil
}

var adminAccessModes = map[string]bool{"readWrite": true, "readOnly": true}

// adminSetMount applies mount fields in f to the host's mount of ds.
func adminSetMount(ds *Datastore, h *HostSystem, f adminFields) (interface{}, *adminError) {
	var accessible, mounted bool
	var mode, reason string
	has, aerr := f.takeAll([]adminField{
		{"accessible", &accessible, "true or false"}, {"mounted", &mounted, "true or false"},
		{"access_mode", &mode, "readWrite or readOnly"}, {"inaccessible_reason", &reason, "a string"},
	})
	if aerr != nil {
		return nil, aerr
	}
	if has["access_mode"] && !adminAccessModes[mode] {
		return nil, adminBadField("access_mode", "access_mode must be readWrite or readOnly, not %q", mode)
	}
	var view interface{}
	Map.WithLock(ds, func() {
		i := -1
		for j := range ds.Host {
			if ds.Host[j].Key == h.Self {
				i = j
			}
		}
		if i < 0 {
			aerr = &adminError{http.StatusNotFound, "host", fmt.Sprintf("host %q does not mount datastore %q", h.Name, ds.Name)}
			return
		}
		mi := &ds.Host[i].MountInfo
		if has["accessible"] {
			mi.Accessible = types.NewBool(accessible)
			mi.InaccessibleReason = ""
			if !accessible {
				mi.InaccessibleReason = "AllPathsDown_Start"
			}
		}
		if has["inaccessible_reason"] {
			mi.InaccessibleReason = reason
		}
		if has["mounted"] {
			mi.Mounted = types.NewBool(mounted)
		}
		if has["access_mode"] {
			mi.AccessMode = mode
		}
		hosts := append([]types.DatastoreHostMount(nil), ds.Host...)
		Map.Update(ds, []types.PropertyChange{{Name: "host", Val: hosts}})
		view = adminMountView(ds.Host[i])
	})
	return view, aerr
}

var adminConnectionStates = map[string]bool{"connected": true, "disconnected": true, "notResponding": true}

func adminHostView(h *HostSystem) map[string]interface{} {
	return map[string]interface{}{
		"name": h.Name, "moref": h.Self.Value,
		"connection_state": h.Runtime.ConnectionState, "maintenance": h.Runtime.InMaintenanceMode,
	}
}

func adminRouteHost(r *http.Request, name string) (interface{}, *adminError) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		return nil, adminMethodNotAllowed(r)
	}
	f, dcName, aerr := adminTarget(r)
	if aerr != nil {
		return nil, aerr
	}
	e, aerr := adminFindEntity("HostSystem", name, dcName)
	if aerr != nil {
		return nil, aerr
	}
	h := e.(*HostSystem)
	var state string
	var maintenance bool
	hasState, aerr := f.take("connection_state", &state, "connected, disconnected or notResponding")
	if aerr != nil {
		return nil, aerr
	}
	hasMaint, aerr := f.take("maintenance", &maintenance, "true or false")
	if aerr != nil {
		return nil, aerr
	}
	if aerr := f.done(); aerr != nil {
		return nil, aerr
	}
	if hasState && !adminConnectionStates[state] {
		return nil, adminBadField("connection_state", "connection_state must be connected, disconnected or notResponding, not %q", state)
	}
	var view map[string]interface{}
	Map.WithLock(h, func() {
		var changes []types.PropertyChange
		if hasState {
			h.Runtime.ConnectionState = types.HostSystemConnectionState(state)
			changes = append(changes,
				types.PropertyChange{Name: "runtime.connectionState", Val: h.Runtime.ConnectionState})
		}
		if hasMaint {
			h.Runtime.InMaintenanceMode = maintenance
			changes = append(changes,
				types.PropertyChange{Name: "runtime.inMaintenanceMode", Val: maintenance})
		}
		if len(changes) > 0 {
			// summary.runtime points at runtime in vcsim: announce both paths.
			for _, c := range changes {
				changes = append(changes, types.PropertyChange{Name: "summary." + c.Name, Val: c.Val})
			}
			Map.Update(h, changes)
		}
		view = adminHostView(h)
	})
	return view, nil
}
