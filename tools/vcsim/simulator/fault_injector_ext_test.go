package simulator

// Go tests of the "answer lost" fault modes: a call applied and its
// connection dropped (for *_Task methods the task runs to completion
// first), its retry refused with retry_fault, and drops in a row.

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// addRule adds a fault rule given as the admin API's JSON, validated as
// the admin API validates it.
func addRule(t *testing.T, js string) *faultRule {
	t.Helper()
	var f adminFields
	if err := json.Unmarshal([]byte(js), &f); err != nil {
		t.Fatal(err)
	}
	rule, aerr := adminParseRule(f, false)
	if aerr != nil {
		t.Fatalf("%s: %s (%s)", js, aerr.msg, aerr.field)
	}
	return adminInjector.add(rule)
}

func ruleNow(t *testing.T, id int) faultRule {
	t.Helper()
	for _, r := range adminInjector.list(false) {
		if r.ID == id {
			return r
		}
	}
	t.Fatalf("no rule %d", id)
	return faultRule{}
}

// soapFaultName is the vim25 fault type of a SOAP fault error ("" if the
// error is not a SOAP fault, e.g. a dropped connection).
func soapFaultName(err error) string {
	if err == nil || !soap.IsSoapFault(err) {
		return ""
	}
	f := soap.ToSoapFault(err).VimFault()
	if f == nil {
		return "?"
	}
	return reflect.Indirect(reflect.ValueOf(f)).Type().Name()
}

func TestAppliedDropThenRetryRefused(t *testing.T) {
	vmsRun(t, func(e *vmsEnv) {
		defer adminInjector.remove(false, 0)
		fm := object.NewFileManager(e.c)
		ds := "[" + e.ds[0].Name + "] "

		// A plain method: applied, the answer lost, the retry refused.
		r := addRule(t, `{"method": "MakeDirectory", "applied": true, "drop_connection": true, "retry_fault": "FileFault", "count": 1}`)
		err := fm.MakeDirectory(e.ctx, ds+"made", e.dc, false)
		if err == nil || soapFaultName(err) != "" {
			t.Fatalf("first call: want a dropped connection, got %v", err)
		}
		if !e.exists(ds + "made") {
			t.Fatal("the dropped MakeDirectory was not applied")
		}
		if got := ruleNow(t, r.ID); got.RetriesPending != 1 || !got.Active {
			t.Fatalf("rule after the drop: %+v", got)
		}
		// Another call of the method is no retry: it runs (vCenter
		// refuses only the same call again).
		if err := fm.MakeDirectory(e.ctx, ds+"unrelated", e.dc, false); err != nil {
			t.Fatalf("another MakeDirectory refused as a retry: %v", err)
		}
		err = fm.MakeDirectory(e.ctx, ds+"made", e.dc, false)
		if name := soapFaultName(err); name != "FileFault" {
			t.Fatalf("retry: want FileFault, got %q (%v)", name, err)
		}
		if got := ruleNow(t, r.ID); got.RetryFired != 1 || got.RetriesPending != 0 || got.Active {
			t.Fatalf("rule after the retry: %+v", got)
		}
		// spent: the call runs as usual again
		if err := fm.MakeDirectory(e.ctx, ds+"other", e.dc, false); err != nil {
			t.Fatal(err)
		}

		// A *_Task method: the task runs to completion before the drop,
		// and the retry is refused through a failed task.
		vdm := *e.c.ServiceContent.VirtualDiskManager
		spec := &types.FileBackedVirtualDiskSpec{
			VirtualDiskSpec: types.VirtualDiskSpec{DiskType: "thin", AdapterType: "lsiLogic"},
			CapacityKb:      1024,
		}
		req := types.CreateVirtualDisk_Task{This: vdm, Name: ds + "made/d.vmdk", Datacenter: e.dcRef(), Spec: spec}
		addRule(t, `{"method": "CreateVirtualDisk_Task", "applied": true, "drop_connection": true, "retry_fault": "FileNotFound", "count": 1}`)
		var tm mo.TaskManager
		if _, err := methods.CreateVirtualDisk_Task(e.ctx, e.c, &req); err == nil || soapFaultName(err) != "" {
			t.Fatalf("first create: want a dropped connection, got %v", err)
		}
		if !e.exists(ds + "made/d.vmdk") {
			t.Fatal("the dropped CreateVirtualDisk_Task was not applied")
		}
		if err := property.DefaultCollector(e.c).RetrieveOne(e.ctx, *e.c.ServiceContent.TaskManager, []string{"recentTask"}, &tm); err != nil {
			t.Fatal(err)
		}
		var last mo.Task
		if err := property.DefaultCollector(e.c).RetrieveOne(e.ctx, tm.RecentTask[len(tm.RecentTask)-1], []string{"info"}, &last); err != nil {
			t.Fatal(err)
		}
		if last.Info.DescriptionId != "VirtualDiskManager.createVirtualDisk" || last.Info.State != types.TaskInfoStateSuccess {
			t.Fatalf("the applied task: %s %s", last.Info.DescriptionId, last.Info.State)
		}
		res, err := methods.CreateVirtualDisk_Task(e.ctx, e.c, &req)
		if err != nil {
			t.Fatalf("retry: want a failed task, got %v", err)
		}
		ferr := e.waitFault(object.NewTask(e.c, res.Returnval), nil)
		if ferr == nil || !isFault(ferr, "FileNotFound") {
			t.Fatalf("retry task: want FileNotFound, got %v", ferr)
		}

		// retry_task false: the refusal is a SOAP fault of the method.
		addRule(t, `{"method": "CreateVirtualDisk_Task", "applied": true, "drop_connection": true, "retry_fault": "FileAlreadyExists", "retry_task": false, "count": 1}`)
		req.Name = ds + "made/e.vmdk"
		_, _ = methods.CreateVirtualDisk_Task(e.ctx, e.c, &req)
		if _, err := methods.CreateVirtualDisk_Task(e.ctx, e.c, &req); soapFaultName(err) != "FileAlreadyExists" {
			t.Fatalf("retry: want FileAlreadyExists, got %v", err)
		}
	})
}

func TestDroppedTwiceInARow(t *testing.T) {
	vmsRun(t, func(e *vmsEnv) {
		defer adminInjector.remove(false, 0)
		fm := object.NewFileManager(e.c)
		ds := "[" + e.ds[0].Name + "] "
		r := addRule(t, `{"method": "MakeDirectory", "drop_connection": true, "count": 2}`)
		for i := 0; i < 2; i++ {
			if err := fm.MakeDirectory(e.ctx, ds+"twice", e.dc, false); err == nil || soapFaultName(err) != "" {
				t.Fatalf("call %d: want a dropped connection, got %v", i+1, err)
			}
			if e.exists(ds + "twice") {
				t.Fatalf("call %d was applied", i+1)
			}
		}
		if err := fm.MakeDirectory(e.ctx, ds+"twice", e.dc, false); err != nil {
			t.Fatalf("third call: %v", err)
		}
		if got := ruleNow(t, r.ID); got.Fired != 2 || got.Active {
			t.Fatalf("rule: %+v", got)
		}
	})
}

func TestRetryFaultRuleValidation(t *testing.T) {
	for js, field := range map[string]string{
		`{"method": "MakeDirectory", "drop_connection": true, "retry_fault": "FileFault"}`:                                      "retry_fault",
		`{"method": "MakeDirectory", "fault": "FileFault", "retry_fault": "FileFault"}`:                                         "retry_fault",
		`{"method": "*", "drop_connection": true, "applied": true, "retry_fault": "FileFault"}`:                                 "method",
		`{"method": "MakeDirectory", "drop_connection": true, "applied": true, "retry_fault": "Nope"}`:                          "retry_fault",
		`{"method": "MakeDirectory", "drop_connection": true, "applied": true, "retry_fault": "Datastore"}`:                     "retry_fault",
		`{"method": "MakeDirectory", "drop_connection": true, "applied": true, "retry_fault": "FileFault", "retry_task": true}`: "retry_task",
		`{"method": "MakeDirectory", "drop_connection": true, "retry_task": false}`:                                             "retry_task",
		`{"method": "MakeDirectory", "drop_connection": true, "fields": {"file": "x"}}`:                                         "fields",
	} {
		var f adminFields
		if err := json.Unmarshal([]byte(js), &f); err != nil {
			t.Fatal(err)
		}
		_, aerr := adminParseRule(f, false)
		if aerr == nil || aerr.field != field {
			t.Errorf("%s: want an error on %q, got %+v", js, field, aerr)
		}
	}
}
