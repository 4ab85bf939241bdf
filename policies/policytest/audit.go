package policytest

import (
	"context"
	"fmt"
	"strings"

	"github.com/steward-xmpp/steward/store"
)

// Audit is an in-memory store.AuditReader fed by the Recorder.
type Audit struct {
	Records []store.AuditRecord
}

var _ store.AuditReader = (*Audit)(nil)

func (a *Audit) add(r store.AuditRecord) {
	r.ID = fmt.Sprintf("a%d", len(a.Records)+1)
	a.Records = append(a.Records, r)
}

// Add appends a record (e.g. a ban made before the test started).
func (a *Audit) Add(r store.AuditRecord) { a.add(r) }

func (a *Audit) Get(_ context.Context, id string) (store.AuditRecord, error) {
	for _, r := range a.Records {
		if r.ID == id {
			return r, nil
		}
	}
	return store.AuditRecord{}, store.ErrNotFound
}

func (a *Audit) Recent(_ context.Context, room string, n int) ([]store.AuditRecord, error) {
	var out []store.AuditRecord
	for i := len(a.Records) - 1; i >= 0 && len(out) < n; i-- {
		if a.Records[i].Room == room {
			out = append(out, a.Records[i])
		}
	}
	return out, nil
}

func (a *Audit) ByTarget(_ context.Context, room, bare string) ([]store.AuditRecord, error) {
	var out []store.AuditRecord
	for _, r := range a.Records {
		if r.Room == room && strings.EqualFold(r.TargetJID, bare) {
			out = append(out, r)
		}
	}
	return out, nil
}

func (a *Audit) ByGroup(_ context.Context, room, group string) ([]store.AuditRecord, error) {
	var out []store.AuditRecord
	for _, r := range a.Records {
		if r.Room == room && r.Group == group {
			out = append(out, r)
		}
	}
	return out, nil
}
