package simulator

// The change journal: every registry event (Put, Update, Remove) in order, so
// WaitForUpdatesEx re-reads only what changed since a filter last reported
// (property_filter_ext.go) instead of diffing the filter's whole state.
//
// govmomi edits many fields in place without registry events (a folder's
// childEntity, a host's vm list, ...). A SOAP method that may change the
// inventory therefore counts as an untracked change once it returns, and
// every filter diffs its whole state once after it: still correct, and
// nothing to do when nothing happened. Read-only methods (below) do not
// count, so a client polling an idle inventory costs nothing.

import (
	"strings"
	"sync"

	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

type changeKind int

const (
	changePut changeKind = iota
	changeUpdate
	changeRemove
)

type journalEntry struct {
	ref   types.ManagedObjectReference
	kind  changeKind
	names []string // changeUpdate: the changed property paths
}

// journalMaxEntries bounds the journal; a filter that fell further behind
// diffs its whole state instead.
const journalMaxEntries = 1 << 16

type changeJournal struct {
	mu        sync.Mutex
	base      int64 // sequence number of entries[0]
	entries   []journalEntry
	untracked int64
	wake      chan struct{} // closed and replaced on every change
}

var inventoryJournal = &changeJournal{wake: make(chan struct{})}

// Reference makes the journal a registry handler (RegisterObject).
func (j *changeJournal) Reference() types.ManagedObjectReference {
	return types.ManagedObjectReference{Type: "ChangeJournal", Value: "change-journal"}
}

func (j *changeJournal) PutObject(o mo.Reference) {
	j.append(journalEntry{ref: o.Reference(), kind: changePut})
}

func (j *changeJournal) UpdateObject(o mo.Reference, changes []types.PropertyChange) {
	names := make([]string, len(changes))
	for i := range changes {
		names[i] = changes[i].Name
	}
	j.append(journalEntry{ref: o.Reference(), kind: changeUpdate, names: names})
}

func (j *changeJournal) RemoveObject(ref types.ManagedObjectReference) {
	j.append(journalEntry{ref: ref, kind: changeRemove})
}

func (j *changeJournal) append(e journalEntry) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.entries = append(j.entries, e)
	if len(j.entries) > journalMaxEntries {
		drop := len(j.entries) / 2
		j.entries = append([]journalEntry(nil), j.entries[drop:]...)
		j.base += int64(drop)
	}
	j.signal()
}

// signal wakes every waiting WaitForUpdatesEx; the caller holds j.mu.
func (j *changeJournal) signal() {
	close(j.wake)
	j.wake = make(chan struct{})
}

// noteUntracked records a change made without registry events.
func (j *changeJournal) noteUntracked() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.untracked++
	j.signal()
}

// position is the journal's next sequence number and untracked count; read
// it before reading the inventory, so nothing after it is taken as seen.
func (j *changeJournal) position() (seq, untracked int64) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.base + int64(len(j.entries)), j.untracked
}

// between returns the entries from sequence number from up to to; ok is
// false when some were already dropped.
func (j *changeJournal) between(from, to int64) ([]journalEntry, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if from < j.base {
		return nil, false
	}
	end := j.base + int64(len(j.entries))
	if to > end {
		to = end
	}
	if from >= to {
		return nil, true
	}
	return append([]journalEntry(nil), j.entries[from-j.base:to-j.base]...), true
}

// changed is closed at the next change.
func (j *changeJournal) changed() <-chan struct{} {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.wake
}

// readOnlyMethods change nothing in the inventory (tasks they create are
// registry objects, journaled like any other).
var readOnlyMethods = make(map[string]bool)

func init() {
	for _, name := range []string{
		"RetrieveServiceContent", "PbmRetrieveServiceContent", "Login", "LoginByToken",
		"LoginExtensionByCertificate", "Logout", "SessionIsActive", "CloneSession",
		"AcquireCloneTicket", "CurrentTime", "Fetch",
		"RetrieveProperties", "RetrievePropertiesEx", "ContinueRetrievePropertiesEx",
		"CancelRetrievePropertiesEx", "CreatePropertyCollector", "DestroyPropertyCollector",
		"CreateFilter", "DestroyPropertyFilter", "WaitForUpdates", "WaitForUpdatesEx",
		"CheckForUpdates", "CancelWaitForUpdates",
		"CreateContainerView", "CreateListView", "CreateListViewFromView", "CreateInventoryView",
		"DestroyView",
		"FindByUuid", "FindAllByUuid", "FindByInventoryPath", "FindChild", "FindByDatastorePath",
		"FindByIp", "FindAllByIp", "FindByDnsName", "FindAllByDnsName",
		"QueryVirtualDiskUuid", "QueryIORMConfigOption", "HasPrivilegeOnEntity",
		"HasPrivilegeOnEntities", "FetchUserPrivilegeOnEntities", "RetrieveUserGroups",
		"SearchDatastore_Task", "SearchDatastoreSubFolders_Task",
	} {
		readOnlyMethods[name] = true
	}
}

// noteMethodDone is called after every SOAP method (adminCall). PBM methods
// (pbm_*_ext.go) read vim objects but never change them.
func noteMethodDone(method string) {
	if !readOnlyMethods[method] && !strings.HasPrefix(method, "Pbm") {
		inventoryJournal.noteUntracked()
	}
}
