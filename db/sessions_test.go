package db_test

import (
	"context"
	"testing"
	"time"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/db"
	"github.com/examgate/examgate/db/dbtest"
)

const testIdle = 30 * time.Minute

// idleSetup stores a learner signed in at saveT0 (session "hash-<id>",
// 12 h lifetime) with an open three-hour attempt, under a 30-minute idle
// timeout.
func idleSetup(t *testing.T, store *db.DB, id string) (*examgate.Attempt, string) {
	t.Helper()
	store.SetSessionIdle(testIdle)
	return openAttemptFor(t, store, id, 3*time.Hour, examgate.SessionLifetime), "hash-" + id
}

// lastSeen reads a session's stored last-seen time.
func lastSeen(t *testing.T, store *db.DB, hash string) time.Time {
	t.Helper()
	var at time.Time
	if err := store.Bun().NewSelect().Table("sessions").Column("last_seen_at").Where("token_hash = ?", hash).Scan(context.Background(), &at); err != nil {
		t.Fatal(err)
	}
	return at.UTC()
}

// A session unused for longer than the idle timeout reads as signed out,
// and the sweep removes it; one in use stays.
func TestSessionIdleTimeout(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		_, idle := idleSetup(t, store, "idle")
		_, used := idleSetup(t, store, "used")
		if _, err := store.SessionByTokenHash(ctx, used, saveT0.Add(testIdle-time.Second)); err != nil {
			t.Fatalf("a session used within the idle timeout: %v", err)
		}
		if _, err := store.SessionByTokenHash(ctx, idle, saveT0.Add(testIdle)); examgate.ErrorCode(err) != examgate.EUNAUTHORIZED {
			t.Fatalf("a session idle for the whole timeout: err = %v, want signed out", err)
		}
		if n, err := store.LiveSessions(ctx, saveT0.Add(testIdle)); err != nil || n != 1 {
			t.Fatalf("LiveSessions = %d, %v; want 1", n, err)
		}
		if err := store.DeleteExpired(ctx, saveT0.Add(testIdle)); err != nil {
			t.Fatal(err)
		}
		if n := count(t, store, "sessions"); n != 1 {
			t.Fatalf("sessions after the sweep = %d, want the one in use", n)
		}
		if _, err := store.SessionByTokenHash(ctx, used, saveT0.Add(2*testIdle-2*time.Second)); err != nil {
			t.Fatalf("the session read at %v is live until %v: %v", testIdle-time.Second, 2*testIdle-time.Second, err)
		}
	})
}

// An exam's autosaves, which check the session in their own statement
// without reading it, keep it alive past the idle timeout, writing its
// last-seen time at most once a minute; once they stop, it idles out and
// a save is refused.
func TestAutosaveKeepsSessionAlive(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		a, hash := idleSetup(t, store, "saver")
		seq := int64(0)
		save := func(at time.Time) bool {
			t.Helper()
			seq++
			g := examgate.SaveGuard{AttemptID: a.ID, CandidateID: a.CandidateID, ExamCode: a.ExamCode, NotBefore: at, TokenHash: hash, Now: at}
			_, wrote, err := store.SaveIfOpen(ctx, g, examgate.Answer{ItemID: "q1", Choices: []string{"a"}, ClientSeq: seq, SavedAt: at}, false)
			if err != nil {
				t.Fatal(err)
			}
			return wrote
		}
		// Saves every 20 minutes for two hours, four idle timeouts.
		var at time.Time
		for at = saveT0.Add(20 * time.Minute); !at.After(saveT0.Add(2 * time.Hour)); at = at.Add(20 * time.Minute) {
			if !save(at) {
				t.Fatalf("save at saveT0+%v refused", at.Sub(saveT0))
			}
			if got := lastSeen(t, store, hash); !got.Equal(at) {
				t.Fatalf("last seen after the save at saveT0+%v = saveT0+%v", at.Sub(saveT0), got.Sub(saveT0))
			}
		}
		last := at.Add(-20 * time.Minute)
		// More saves within the minute write no last-seen time.
		for _, d := range []time.Duration{time.Second, 30 * time.Second, examgate.SessionSeenEvery - time.Microsecond} {
			if !save(last.Add(d)) {
				t.Fatalf("save at +%v refused", d)
			}
			if got := lastSeen(t, store, hash); !got.Equal(last) {
				t.Fatalf("a save %v after the last write moved last seen to saveT0+%v", d, got.Sub(saveT0))
			}
		}
		if _, err := store.SessionByTokenHash(ctx, hash, last.Add(testIdle-time.Second)); err != nil {
			t.Fatalf("session read just within the idle timeout of the last save: %v", err)
		}
		end := last.Add(testIdle - time.Second).Add(testIdle)
		if save(end) {
			t.Fatal("a save after the session idled out was written")
		}
		if _, err := store.SessionByTokenHash(ctx, hash, end); examgate.ErrorCode(err) != examgate.EUNAUTHORIZED {
			t.Fatalf("idle session: err = %v, want signed out", err)
		}
	})
}

// Reading a session records it as seen, at most once a minute.
func TestSessionReadRecordsSeen(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		_, hash := idleSetup(t, store, "reader")
		for _, c := range []struct {
			after time.Duration
			want  time.Duration
		}{{30 * time.Second, 0}, {examgate.SessionSeenEvery, examgate.SessionSeenEvery}, {90 * time.Second, examgate.SessionSeenEvery}} {
			s, err := store.SessionByTokenHash(ctx, hash, saveT0.Add(c.after))
			if err != nil {
				t.Fatal(err)
			}
			if got := lastSeen(t, store, hash); !got.Equal(saveT0.Add(c.want)) || !s.LastSeenAt.Equal(got) {
				t.Fatalf("read at saveT0+%v: stored last seen saveT0+%v, session says saveT0+%v; want saveT0+%v", c.after, got.Sub(saveT0), s.LastSeenAt.Sub(saveT0), c.want)
			}
		}
	})
}
