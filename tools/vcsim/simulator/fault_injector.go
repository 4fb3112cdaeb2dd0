package simulator

// Run-time fault injection for the SOAP endpoint (admin API: admin.go).
//
// Our patch of govmomi's simulator.go renames Service.ServeSDK to serveSDK
// and makes it dispatch through Service.adminCall instead of Service.call.
// ServeSDK below wraps serveSDK to count requests (request_stats.go), and
// adminCall applies, in order: rejection of invalidated sessions, injected
// latency, then the first matching fault rule (plain SOAP fault, failed task,
// or a dropped connection), before handing over to govmomi's Service.call.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
	"github.com/vmware/govmomi/vim25/xml"
)

// faultRule is one injected fault or latency, as listed by the admin API.
type faultRule struct {
	ID           int    `json:"id"`
	Method       string `json:"method"`                  // SOAP method name, "*" for any
	Moref        string `json:"moref,omitempty"`         // match the call's This (value, or Type:value)
	BodyContains string `json:"body_contains,omitempty"` // match a substring of the request body
	Count        int    `json:"count"`                   // calls left to affect; -1 = every call
	Skip         int    `json:"skip,omitempty"`          // matching calls to let through first

	// fault rules
	Fault          string          `json:"fault,omitempty"`
	Message        string          `json:"message,omitempty"`
	Fields         json.RawMessage `json:"fields,omitempty"`
	Task           bool            `json:"task,omitempty"`
	DropConnection bool            `json:"drop_connection,omitempty"`
	Applied        bool            `json:"applied,omitempty"` // drop after running the method
	EndSession     bool            `json:"end_session,omitempty"`
	// RetryFault (with Applied+DropConnection): each drop arms one refusal;
	// the next matching call answers this fault without running (a failed
	// task for *_Task methods unless RetryTask is false).
	RetryFault     string `json:"retry_fault,omitempty"`
	RetryTask      bool   `json:"retry_task,omitempty"`
	RetriesPending int    `json:"retries_pending"`
	RetryFired     int    `json:"retry_fired"`

	// latency rules
	DelayMs int `json:"delay_ms,omitempty"`

	Fired  int  `json:"fired"`
	Active bool `json:"active"`

	retry   bool     // this copy answers an armed retry refusal
	pending [][]byte // SOAP bodies of the dropped calls whose retry is refused
}

// soapBody is a request from its SOAP Body on: a client's retry resends the
// same body (its header, e.g. oslo.vmware's operationID, may differ).
func soapBody(b []byte) []byte {
	if i := bytes.Index(b, []byte("Body")); i >= 0 {
		return b[i:]
	}
	return b
}

// faultInjector holds the rules; the server is concurrent, so one mutex
// guards every rule list and counter.
type faultInjector struct {
	mu          sync.Mutex
	nextID      int
	faults      []*faultRule
	latencies   []*faultRule
	invalidated map[string]bool // session keys ended through the admin API
}

var adminInjector = &faultInjector{invalidated: make(map[string]bool)}

// matches says whether rule r applies to this call (ignoring count/skip).
func (r *faultRule) matches(method *Method, body []byte) bool {
	if r.Method != "*" && r.Method != method.Name {
		return false
	}
	if r.Moref != "" && r.Moref != method.This.Value &&
		r.Moref != method.This.Type+":"+method.This.Value {
		return false
	}
	if r.BodyContains != "" && !strings.Contains(string(body), r.BodyContains) {
		return false
	}
	return true
}

// consume applies count/skip accounting for a matching call and says
// whether the rule fires. Called with the adminInjector's mutex held.
func (r *faultRule) consume(body []byte) bool {
	if r.Count == 0 {
		return false
	}
	if r.Skip > 0 {
		r.Skip--
		return false
	}
	if r.Count > 0 {
		r.Count--
	}
	r.Fired++
	if r.RetryFault != "" {
		r.RetriesPending++ // the drop arms one refusal of the retry
		r.pending = append(r.pending, soapBody(body))
	}
	r.Active = r.Count != 0 || r.RetriesPending > 0
	return true
}

// consumeRetry says whether a matching call is the retry of a dropped call
// that the rule refuses: the same request again (as vCenter refuses only a
// call repeated; another call of the method runs). Called with the
// adminInjector's mutex held.
func (r *faultRule) consumeRetry(body []byte) bool {
	if r.RetriesPending == 0 {
		return false
	}
	want := soapBody(body)
	found := -1
	for i, b := range r.pending {
		if bytes.Equal(b, want) {
			found = i
			break
		}
	}
	if found < 0 {
		return false
	}
	r.pending = append(r.pending[:found], r.pending[found+1:]...)
	r.RetriesPending--
	r.RetryFired++
	r.Active = r.Count != 0 || r.RetriesPending > 0
	return true
}

// pick returns a copy of the first firing fault rule and the total delay.
func (fi *faultInjector) pick(method *Method, body []byte) (*faultRule, time.Duration) {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	var delay time.Duration
	for _, r := range fi.latencies {
		if r.matches(method, body) && r.consume(body) {
			delay += time.Duration(r.DelayMs) * time.Millisecond
		}
	}
	for _, r := range fi.faults {
		if !r.matches(method, body) {
			continue
		}
		if r.consumeRetry(body) {
			fired := *r
			fired.retry = true
			return &fired, delay
		}
		if r.consume(body) {
			fired := *r
			return &fired, delay
		}
	}
	return nil, delay
}

func (fi *faultInjector) add(r *faultRule) *faultRule {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	fi.nextID++
	r.ID = fi.nextID
	r.Active = r.Count != 0
	if r.DelayMs > 0 && r.Fault == "" && !r.DropConnection {
		fi.latencies = append(fi.latencies, r)
	} else {
		fi.faults = append(fi.faults, r)
	}
	c := *r
	return &c
}

// list returns copies of the fault rules (latency=false) or latency rules.
func (fi *faultInjector) list(latency bool) []faultRule {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	rules := fi.faults
	if latency {
		rules = fi.latencies
	}
	out := make([]faultRule, 0, len(rules))
	for _, r := range rules {
		out = append(out, *r)
	}
	return out
}

// remove deletes rule id (0: all) and says how many were removed.
func (fi *faultInjector) remove(latency bool, id int) int {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	rules := &fi.faults
	if latency {
		rules = &fi.latencies
	}
	kept := (*rules)[:0]
	n := 0
	for _, r := range *rules {
		if id == 0 || r.ID == id {
			n++
			continue
		}
		kept = append(kept, r)
	}
	*rules = kept
	return n
}

// newFaultByName instantiates a vim25 fault type by name through govmomi's type
// registry, so the client sees the real typed fault (oslo.vmware translates
// it by xsi:type), then fills optional fields given as JSON.
func newFaultByName(name string, fields []byte) (types.BaseMethodFault, error) {
	typ, ok := types.TypeFunc()(name)
	if !ok {
		return nil, fmt.Errorf("unknown vim25 type %q", name)
	}
	val := reflect.New(typ)
	fault, ok := val.Interface().(types.BaseMethodFault)
	if !ok {
		return nil, fmt.Errorf("%q is not a vim25 fault type", name)
	}
	if len(fields) > 0 {
		if err := json.Unmarshal(fields, val.Interface()); err != nil {
			return nil, fmt.Errorf("fault fields do not fit %s: %v", name, err)
		}
	}
	return fault, nil
}

// faultFor builds the fault of a fired rule for this call (its retry_fault
// when the call is a refused retry).
func (r *faultRule) faultFor(method *Method) (types.BaseMethodFault, string) {
	name := r.Fault
	if r.retry {
		name = r.RetryFault
	}
	fault, err := newFaultByName(name, r.Fields)
	if err != nil { // validated when added; keep the server up regardless
		fault = &types.SystemError{Reason: err.Error()}
	}
	if na, ok := fault.(*types.NotAuthenticated); ok && na.Object.Value == "" {
		// as govmomi's own NotAuthenticated
		na.Object = method.This
		na.PrivilegeId = "System.View"
	}
	msg := r.Message
	switch {
	case msg != "":
	case r.retry:
		msg = fmt.Sprintf("%s (injected by the vcsim admin API: the retry of a call that was applied)", name)
	default:
		msg = fmt.Sprintf("%s (injected by the vcsim admin API)", name)
	}
	return fault, msg
}

// adminSessionFreeMethods may be called without a session (as govmomi allows);
// any other call presenting a cookie of a dead session gets NotAuthenticated.
var adminSessionFreeMethods = map[string]bool{
	"RetrieveServiceContent": true, "PbmRetrieveServiceContent": true,
	"Login": true, "LoginByToken": true, "LoginExtensionByCertificate": true,
	"CloneSession": true,
}

// deadSession says whether the call carries the cookie of a session that no
// longer exists (or that the admin API ended while the call was in flight).
// govmomi itself lets property reads through without a session; a real
// vCenter answers NotAuthenticated, which clients rely on to log in again.
func (s *Service) deadSession(ctx *Context, method *Method) bool {
	if adminSessionFreeMethods[method.Name] || ctx.req == nil {
		return false
	}
	if ctx.Session != nil {
		adminInjector.mu.Lock()
		dead := adminInjector.invalidated[ctx.Session.Key]
		adminInjector.mu.Unlock()
		if dead {
			s.sm.delSession(ctx.Session.Key)
			ctx.Session = nil
		}
		return dead
	}
	_, err := ctx.req.Cookie(soap.SessionCookieName)
	return err == nil
}

// deadSessionFault is the fault a vCenter returns for a dead session.
func deadSessionFault(method *Method) soap.HasFault {
	fault := &types.NotAuthenticated{
		NoPermission: types.NoPermission{Object: method.This, PrivilegeId: "System.View"},
	}
	return &serverFaultBody{Reason: Fault("The session is not authenticated.", fault)}
}

// endSession removes the caller's session, as a real NotAuthenticated
// implies; oslo.vmware then sees SessionIsActive fail and logs in again.
func (s *Service) endSession(ctx *Context) {
	if ctx.Session == nil {
		return
	}
	adminInjector.mu.Lock()
	adminInjector.invalidated[ctx.Session.Key] = true
	adminInjector.mu.Unlock()
	s.sm.delSession(ctx.Session.Key)
}

// invalidateSessions ends every session now and returns how many there were.
func (s *Service) invalidateSessions() int {
	sm := Map.SessionManager()
	sessionMutex.Lock()
	keys := make([]string, 0, len(sm.sessions))
	for key := range sm.sessions {
		keys = append(keys, key)
	}
	sessionMutex.Unlock()
	adminInjector.mu.Lock()
	for _, key := range keys {
		adminInjector.invalidated[key] = true
	}
	adminInjector.mu.Unlock()
	for _, key := range keys {
		sm.delSession(key)
	}
	return len(keys)
}

// adminCall is govmomi's Service.call with the admin API's rules applied.
func (s *Service) adminCall(ctx *Context, method *Method, body []byte) soap.HasFault {
	if w, ok := ctx.res.(*adminStatsWriter); ok {
		w.method = method.Name
	}
	defer noteMethodDone(method.Name) // change_journal.go: untracked changes
	if s.deadSession(ctx, method) {
		return deadSessionFault(method)
	}
	reconfigEmptyInstanceUUID(method, body)
	rule, delay := adminInjector.pick(method, body)
	if delay > 0 {
		time.Sleep(delay)
	}
	if rule == nil {
		return s.call(ctx, method)
	}
	switch {
	case rule.retry:
		if rule.RetryTask {
			if res := s.failedTask(ctx, method, rule); res != nil {
				return res
			}
		}
		fault, msg := rule.faultFor(method)
		return &serverFaultBody{Reason: Fault(msg, fault)}
	case rule.DropConnection:
		var res soap.HasFault
		if rule.Applied {
			// A *_Task method runs its task to completion here (govmomi's
			// Task.Run is synchronous): applied, then the answer is lost.
			res = s.call(ctx, method)
		}
		if rule.EndSession {
			s.endSession(ctx)
		}
		adminDropConnection(ctx.res)
		if res == nil {
			res = serverFault("connection dropped") // never written
		}
		return res
	case rule.Task:
		if res := s.failedTask(ctx, method, rule); res != nil {
			return res
		}
		return s.call(ctx, method) // no such object: let govmomi report it
	}
	fault, msg := rule.faultFor(method)
	if rule.EndSession {
		s.endSession(ctx)
	}
	return &serverFaultBody{Reason: Fault(msg, fault)}
}

// adminDropConnection closes the client's TCP connection without a response.
func adminDropConnection(w http.ResponseWriter) {
	if sw, ok := w.(*adminStatsWriter); ok {
		sw.dropped = true
	}
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			if tcp, ok := conn.(*net.TCPConn); ok {
				_ = tcp.SetLinger(0)
			}
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler) // the server aborts the connection/stream
}

// failedTask answers a *_Task call with a new Task that ends in state error
// with the rule's fault, without running the method (its effect is not
// applied). Returns nil when the target object does not exist.
func (s *Service) failedTask(ctx *Context, method *Method, rule *faultRule) soap.HasFault {
	if ctx.Map.Get(method.This) == nil {
		return nil
	}
	fault, msg := rule.faultFor(method)
	// CreateTask turns "fooTask" into the vmodl "Foo_Task" / "Type.foo".
	name := strings.TrimSuffix(method.Name, vTaskSuffix)
	name = strings.ToLower(name[:1]) + name[1:] + sTaskSuffix
	task := CreateTask(method.This, name, func(*Task) (types.AnyType, types.BaseMethodFault) {
		return nil, fault
	})
	ctx.WithLock(task, func() {
		now := time.Now()
		Map.Update(task, []types.PropertyChange{
			{Name: "info.startTime", Val: now},
			{Name: "info.state", Val: types.TaskInfoStateRunning},
		})
		Map.Update(task, []types.PropertyChange{
			{Name: "info.completeTime", Val: time.Now()},
			{Name: "info.state", Val: types.TaskInfoStateError},
			{Name: "info.error", Val: types.LocalizedMethodFault{Fault: fault, LocalizedMessage: msg}},
		})
	})
	return &injectedTaskBody{Res: &injectedTaskResponse{name: method.Name + "Response", task: task.Self}}
}

// injectedTaskBody is a generic "<Method>_TaskResponse" body: govmomi's response
// encoder takes the element name from the Res field's type, which
// injectedTaskResponse.MarshalXML replaces with the method's response name.
type injectedTaskBody struct {
	Res    *injectedTaskResponse
	Fault_ *soap.Fault
}

func (b *injectedTaskBody) Fault() *soap.Fault { return b.Fault_ }

type injectedTaskResponse struct {
	name string
	task types.ManagedObjectReference
}

func (r *injectedTaskResponse) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	start.Name.Local = r.name
	return e.EncodeElement(struct {
		Returnval types.ManagedObjectReference `xml:"returnval"`
	}{r.task}, start)
}

// adminStatsWriter records what serveSDK answered, and lets a dropped
// connection swallow the response serveSDK still tries to write.
type adminStatsWriter struct {
	http.ResponseWriter
	method  string
	status  int
	bytes   int
	dropped bool
}

func (w *adminStatsWriter) WriteHeader(code int) {
	if w.dropped {
		return
	}
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *adminStatsWriter) Write(b []byte) (int, error) {
	if w.dropped {
		return len(b), nil
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

func (w *adminStatsWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, fmt.Errorf("connection cannot be hijacked")
	}
	return hj.Hijack()
}

// ServeSDK serves the SOAP endpoint (govmomi's, renamed serveSDK by our
// patch) and records per-method statistics.
func (s *Service) ServeSDK(w http.ResponseWriter, r *http.Request) {
	sw := &adminStatsWriter{ResponseWriter: w, status: http.StatusOK}
	start := time.Now()
	defer func() {
		if r.Method == http.MethodPost {
			adminStats.record(sw.method, sw.status, sw.bytes, sw.dropped, time.Since(start))
		}
	}()
	s.serveSDK(sw, r)
}
