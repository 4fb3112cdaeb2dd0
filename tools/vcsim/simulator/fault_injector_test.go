package simulator

// Tests of the fault injector under concurrent clients, run inside
// govmomi's simulator package copy (with -race to check the locking).

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/vim25/mo"
)

func TestInjectedFaultCountUnderConcurrency(t *testing.T) {
	m := VPX()
	defer m.Remove()
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	s := m.Service.NewServer()
	defer s.Close()

	adminInjector.remove(false, 0)
	adminStats.snapshot(true)
	rule := adminInjector.add(&faultRule{Method: "RetrieveProperties", Fault: "InvalidState", Count: 5})

	const clients, calls = 8, 10
	var wg sync.WaitGroup
	failures := make(chan error, clients*calls)
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			c, err := govmomi.NewClient(ctx, s.URL, true)
			if err != nil {
				failures <- err
				return
			}
			for j := 0; j < calls; j++ {
				var root mo.Folder
				if err := c.RetrieveOne(ctx, c.ServiceContent.RootFolder, []string{"name"}, &root); err != nil {
					failures <- err
				}
			}
		}()
	}
	wg.Wait()
	close(failures)
	n := 0
	for err := range failures {
		n++
		if !isFault(err, "InvalidState") {
			t.Errorf("unexpected error: %v", err)
		}
	}
	if n != 5 {
		t.Errorf("%d calls failed, want 5", n)
	}
	got := adminInjector.list(false)[0]
	if got.ID != rule.ID || got.Fired != 5 || got.Active {
		t.Errorf("rule after the run: %+v", got)
	}
	st := adminStats.snapshot(false).Methods["RetrieveProperties"]
	if st == nil || st.Calls != clients*calls || st.Faults != 5 {
		t.Errorf("stats: %+v", st)
	}
}

func isFault(err error, name string) bool {
	return err != nil && strings.Contains(err.Error(), name)
}
