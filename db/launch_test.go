package db_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/db"
	"github.com/examgate/examgate/db/dbtest"
)

var t0 = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

func record(token, ext, email string) *examgate.LaunchRecord {
	return &examgate.LaunchRecord{
		TokenID:        token,
		TokenExpiresAt: t0.Add(time.Hour),
		Candidate:      examgate.Candidate{ExternalID: ext, Email: email, FirstName: "Ada", LastName: "Lovelace", TIUserID: "ti-" + ext},
		Eligibility: examgate.Eligibility{ExamCode: "DEMO-101", CourseID: "c1", AssignmentID: "a1",
			PurchasedAt: t0.AddDate(0, 0, -10), EndsAt: t0.AddDate(0, 0, 80), CheckedAt: t0},
		Session: examgate.Session{TokenHash: "hash-" + token, CreatedAt: t0, ExpiresAt: t0.Add(examgate.SessionLifetime)},
	}
}

func count(t *testing.T, store *db.DB, table string) int {
	t.Helper()
	var n int
	if err := store.Bun().QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCompleteLaunch(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		cand, err := store.CompleteLaunch(ctx, record("tok1", "ext-1", "ada@example.com"))
		if err != nil {
			t.Fatal(err)
		}
		if cand.ID == 0 || cand.ExternalID != "ext-1" || cand.Email != "ada@example.com" {
			t.Fatalf("candidate = %+v", cand)
		}
		got, err := store.Eligibility(ctx, cand.ID, "DEMO-101")
		if err != nil {
			t.Fatal(err)
		}
		if !got.EndsAt.Equal(t0.AddDate(0, 0, 80)) || got.AssignmentID != "a1" {
			t.Fatalf("eligibility = %+v", got)
		}
		used, err := store.LaunchTokenUsed(ctx, "tok1")
		if err != nil || !used {
			t.Fatalf("LaunchTokenUsed = %v, %v", used, err)
		}
		s, err := store.SessionByTokenHash(ctx, "hash-tok1", t0.Add(time.Minute))
		if err != nil || s.CandidateID != cand.ID || s.TokenHash != "hash-tok1" ||
			!s.CreatedAt.Equal(t0) || !s.ExpiresAt.Equal(t0.Add(examgate.SessionLifetime)) {
			t.Fatalf("session = %+v, %v", s, err)
		}
		if _, err := store.SessionByTokenHash(ctx, "hash-tok1", t0.Add(examgate.SessionLifetime)); examgate.ErrorCode(err) != examgate.EUNAUTHORIZED {
			t.Fatalf("expired session: err = %v", err)
		}

		// The same person again, with a new email and a later purchase.
		r := record("tok2", "ext-1", "ada@new.example.com")
		r.Eligibility.EndsAt = t0.AddDate(0, 0, 100)
		again, err := store.CompleteLaunch(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		if again.ID != cand.ID || again.Email != "ada@new.example.com" {
			t.Fatalf("update: %+v", again)
		}
		got, _ = store.Eligibility(ctx, cand.ID, "DEMO-101")
		if !got.EndsAt.Equal(t0.AddDate(0, 0, 100)) {
			t.Fatalf("window not refreshed: %v", got.EndsAt)
		}
		if n := count(t, store, "candidates"); n != 1 {
			t.Fatalf("candidates = %d, want 1", n)
		}
	})
}

func TestCompleteLaunchRefusalsWriteNothing(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		if _, err := store.CompleteLaunch(ctx, record("tok1", "ext-1", "ada@example.com")); err != nil {
			t.Fatal(err)
		}
		before := []int{count(t, store, "candidates"), count(t, store, "sessions"), count(t, store, "used_launch_tokens")}

		_, err := store.CompleteLaunch(ctx, record("tok1", "ext-1", "ada@example.com"))
		if examgate.ErrorCode(err) != examgate.EUNAUTHORIZED {
			t.Fatalf("replay: err = %v", err)
		}
		// Another learner claiming Ada's email.
		_, err = store.CompleteLaunch(ctx, record("tok3", "ext-2", "ada@example.com"))
		if examgate.ErrorCode(err) != examgate.ECONFLICT {
			t.Fatalf("email conflict: err = %v", err)
		}
		after := []int{count(t, store, "candidates"), count(t, store, "sessions"), count(t, store, "used_launch_tokens")}
		if fmt.Sprint(before) != fmt.Sprint(after) {
			t.Fatalf("rows changed on refusal: before %v after %v", before, after)
		}
	})
}

func TestCandidateLookups(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		// No externalCustomerId: the candidate is found by email.
		c, err := store.CompleteLaunch(ctx, record("tok1", "", "Grace@Example.com"))
		if err != nil {
			t.Fatal(err)
		}
		if c.ExternalID != "" {
			t.Fatalf("external id = %q", c.ExternalID)
		}
		if _, err := store.CandidateByEmail(ctx, "grace@example.com"); err != nil {
			t.Fatal(err)
		}
		if _, err := store.CandidateByExternalID(ctx, "nobody"); examgate.ErrorCode(err) != examgate.ENOTFOUND {
			t.Fatalf("err = %v", err)
		}
		// Two candidates without external ids do not collide on NULL.
		if _, err := store.CompleteLaunch(ctx, record("tok2", "", "alan@example.com")); err != nil {
			t.Fatal(err)
		}
		byID, err := store.CandidateByID(ctx, c.ID)
		if err != nil || byID.Email != "grace@example.com" {
			t.Fatalf("by id: %+v %v", byID, err)
		}
	})
}

// TestReplayAcrossProcesses presents one token to several store handles at
// once, as several server processes sharing a database would: one wins.
func TestReplayAcrossProcesses(t *testing.T) {
	run := func(t *testing.T, dsn string) {
		const handles = 4
		stores := make([]*db.DB, handles)
		for i := range stores {
			s, err := db.Open(dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			if err := s.Migrate(context.Background()); err != nil {
				t.Fatal(err)
			}
			stores[i] = s
		}
		var wg sync.WaitGroup
		errs := make([]error, handles)
		for i, s := range stores {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := record("same-token", fmt.Sprintf("ext-%d", i), fmt.Sprintf("l%d@example.com", i))
				r.Session.TokenHash = fmt.Sprintf("h%d", i)
				_, errs[i] = s.CompleteLaunch(context.Background(), r)
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch examgate.ErrorCode(err) {
			case "":
				ok++
			case examgate.EUNAUTHORIZED, examgate.ECONFLICT:
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d launches succeeded with one token, want 1 (errors %v)", ok, errs)
		}
		if n := count(t, stores[0], "sessions"); n != 1 {
			t.Fatalf("sessions = %d, want 1", n)
		}
	}
	t.Run("sqlite", func(t *testing.T) {
		_, path := dbtest.OpenSQLiteFile(t)
		run(t, path)
	})
	t.Run("postgres", func(t *testing.T) { run(t, dbtest.PostgresURL(t)) })
}

// Five processes starting at once on an empty database all migrate it, and
// it is migrated once: the migrations table itself is created under the
// lock.
func TestMigrateConcurrentlyOnEmptyDatabase(t *testing.T) {
	run := func(t *testing.T, dsn string) {
		const processes = 5
		stores := make([]*db.DB, processes)
		for i := range stores {
			s, err := db.Open(dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			stores[i] = s
		}
		start := make(chan struct{})
		errs := make([]error, processes)
		var wg sync.WaitGroup
		for i, s := range stores {
			wg.Go(func() {
				<-start
				errs[i] = s.Migrate(context.Background())
			})
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("process %d: %v", i, err)
			}
		}
		var applied, distinct int
		if err := stores[0].Bun().QueryRow("SELECT count(*), count(DISTINCT version) FROM schema_migrations").Scan(&applied, &distinct); err != nil || applied != distinct || applied == 0 {
			t.Fatalf("schema_migrations: %d rows, %d versions, %v", applied, distinct, err)
		}
	}
	t.Run("sqlite", func(t *testing.T) { run(t, filepath.Join(t.TempDir(), "empty.db")) })
	t.Run("postgres", func(t *testing.T) { run(t, dbtest.PostgresURL(t)) })
}

func TestMigrateIsIdempotent(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		if err := store.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}

func TestDeleteExpired(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		if _, err := store.CompleteLaunch(ctx, record("tok1", "ext-1", "ada@example.com")); err != nil {
			t.Fatal(err)
		}
		if err := store.DeleteExpired(ctx, t0.Add(30*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if count(t, store, "sessions") != 1 || count(t, store, "used_launch_tokens") != 1 {
			t.Fatal("live rows deleted")
		}
		if err := store.DeleteExpired(ctx, t0.Add(examgate.SessionLifetime)); err != nil {
			t.Fatal(err)
		}
		if count(t, store, "sessions") != 0 || count(t, store, "used_launch_tokens") != 0 {
			t.Fatal("expired rows kept")
		}
	})
}

// Under bursts of concurrent requests the PostgreSQL pool keeps its
// connections: closing one that is returned while the idle list is full
// makes a later request pay for a new backend and its prepared statements.
func TestPostgresPoolKeepsConnections(t *testing.T) {
	store, err := db.Open(dbtest.PostgresURL(t)) // as served, not as dbtest sets it
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ctx := context.Background()
	if err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := store.CompleteLaunch(ctx, record("tok1", "ext-1", "ada@example.com")); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		var wg sync.WaitGroup
		for range 40 {
			wg.Go(func() {
				if _, err := store.SessionByTokenHash(ctx, "hash-tok1", t0.Add(time.Minute)); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
	// Session reads run on the pool of their own.
	if st := store.HotStats(); st.MaxIdleClosed != 0 || st.OpenConnections < 2 {
		t.Fatalf("pool: %d connections closed on return, %d open", st.MaxIdleClosed, st.OpenConnections)
	}
}

// A launch link without an assignment id keeps the one TI sent before, so a
// result is not posted to the catalog's assignment by a later relaunch.
func TestLaunchKeepsAssignmentID(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		c, err := store.CompleteLaunch(ctx, record("tok1", "ext-1", "ada@example.com"))
		if err != nil {
			t.Fatal(err)
		}
		r := record("tok2", "ext-1", "ada@example.com")
		r.Eligibility.AssignmentID = ""
		if _, err := store.CompleteLaunch(ctx, r); err != nil {
			t.Fatal(err)
		}
		r = record("tok3", "ext-1", "ada@example.com")
		r.Eligibility.AssignmentID = "a2"
		if _, err := store.CompleteLaunch(ctx, r); err != nil {
			t.Fatal(err)
		}
		got, err := store.Eligibility(ctx, c.ID, "DEMO-101")
		if err != nil || got.AssignmentID != "a2" {
			t.Fatalf("assignment = %q, %v; want a2", got.AssignmentID, err)
		}
		r = record("tok4", "ext-1", "ada@example.com")
		r.Eligibility.AssignmentID = ""
		_, _ = store.CompleteLaunch(ctx, r)
		if got, _ = store.Eligibility(ctx, c.ID, "DEMO-101"); got.AssignmentID != "a2" {
			t.Fatalf("a launch without an assignment cleared it: %q", got.AssignmentID)
		}
	})
}

// With every connection of the main pool held (booking reads waiting on a
// locked table), session reads still answer from the pool of their own.
func TestPostgresHotPoolOutlastsAFullMainPool(t *testing.T) {
	store := dbtest.OpenPostgres(t)
	ctx := context.Background()
	if _, err := store.CompleteLaunch(ctx, record("hot-token", "ext-hot", "hot@example.com")); err != nil {
		t.Fatal(err)
	}
	store.Bun().SetMaxOpenConns(2)
	for range 2 {
		conn, err := store.Bun().Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	s, err := store.SessionByTokenHash(rctx, record("hot-token", "ext-hot", "hot@example.com").Session.TokenHash, t0)
	if err != nil || s == nil {
		t.Fatalf("session read with the main pool full: %v", err)
	}
}
