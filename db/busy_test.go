package db_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/db"
	"github.com/examgate/examgate/db/dbtest"
)

// An autosave on SQLite while another process holds the write lock ends
// with its caller's deadline, as an outage (UNAVAILABLE once presented),
// writes nothing, and the next save after the lock lands.
func TestSaveUnderHeldSQLiteWriteLock(t *testing.T) {
	store, path := dbtest.OpenSQLiteFile(t)
	a := openAttempt(t, store, 1)
	other, err := db.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	tx, err := other.Bun().BeginTx(context.Background(), nil) // BEGIN IMMEDIATE: the write lock
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, wrote, err := store.SaveIfOpen(ctx, guardOf(a), examgate.Answer{ItemID: "q1", Choices: []string{"a"}, ClientSeq: 1, SavedAt: saveT0}, false)
	// Ended by the caller's deadline, not by SQLite's 10 s busy timeout
	// (the group commit's batch no longer runs without one).
	if wrote || !errors.Is(err, context.DeadlineExceeded) || examgate.ErrorCode(examgate.Outage(err, "busy")) != examgate.EUNAVAILABLE {
		t.Fatalf("save under a held write lock: wrote %v, err %v; want the deadline, as an outage", wrote, err)
	}
	_ = tx.Rollback()
	if _, wrote, err := store.SaveIfOpen(context.Background(), guardOf(a), examgate.Answer{ItemID: "q1", Choices: []string{"a"}, ClientSeq: 2, SavedAt: saveT0}, false); err != nil || !wrote {
		t.Fatalf("save after the lock: %v %v", wrote, err)
	}
}

// SQLite's answer when another writer holds the lock past the busy timeout
// is an outage, not an internal error.
func TestSQLiteBusyIsAnOutage(t *testing.T) {
	store, path := dbtest.OpenSQLiteFile(t)
	tx, err := store.Bun().BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	// A connection that does not wait: the busy answer comes at once.
	impatient, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(0)")
	if err != nil {
		t.Fatal(err)
	}
	defer impatient.Close()
	_, err = impatient.Exec("BEGIN IMMEDIATE")
	if err == nil {
		t.Fatal("a second writer took the lock")
	}
	if got := examgate.Outage(examgate.Wrap(examgate.EINTERNAL, err, "database error"), "busy"); examgate.ErrorCode(got) != examgate.EUNAVAILABLE {
		t.Fatalf("SQLite busy (%v) is %s, want UNAVAILABLE", err, examgate.ErrorCode(got))
	}
}
