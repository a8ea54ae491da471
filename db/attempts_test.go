package db_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/db"
	"github.com/examgate/examgate/db/dbtest"
)

var saveT0 = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

// openAttempt stores a candidate with an open 30-minute attempt of EX-1.
func openAttempt(t *testing.T, store *db.DB, n int) *examgate.Attempt {
	t.Helper()
	return openAttemptFor(t, store, fmt.Sprint("save-", n), 30*time.Minute, time.Hour)
}

// openAttemptFor stores a candidate signed in at saveT0 for session (token
// hash "hash-<id>") with an open attempt of EX-1 lasting length.
func openAttemptFor(t *testing.T, store *db.DB, id string, length, session time.Duration) *examgate.Attempt {
	t.Helper()
	ctx := context.Background()
	c, err := store.CompleteLaunch(ctx, &examgate.LaunchRecord{
		TokenID: "tok-" + id, TokenExpiresAt: saveT0.Add(time.Hour),
		Candidate:   examgate.Candidate{Email: id + "@example.com"},
		Eligibility: examgate.Eligibility{ExamCode: "EX-1", CourseID: "c1", PurchasedAt: saveT0, EndsAt: saveT0.AddDate(0, 0, 30), CheckedAt: saveT0},
		Session:     examgate.Session{TokenHash: "hash-" + id, CreatedAt: saveT0, ExpiresAt: saveT0.Add(session)},
	})
	if err != nil {
		t.Fatal(err)
	}
	a, err := store.StartAttempt(ctx, &examgate.Attempt{CandidateID: c.ID, ExamCode: "EX-1", Seed: 1,
		StartedAt: saveT0, Deadline: saveT0.Add(length), Status: examgate.AttemptOpen}, nil,
		examgate.Request{CandidateID: c.ID, ClientKey: "start-" + id, Action: examgate.ActionStart, At: saveT0}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func guardOf(a *examgate.Attempt) examgate.SaveGuard {
	return examgate.SaveGuard{AttemptID: a.ID, CandidateID: a.CandidateID, ExamCode: a.ExamCode, NotBefore: saveT0}
}

// SaveIfOpen writes only through its guard, and only over an older save.
func TestSaveIfOpenGuard(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		a := openAttempt(t, store, 1)
		save := func(g examgate.SaveGuard, choice string, seq int64) bool {
			t.Helper()
			ans, wrote, err := store.SaveIfOpen(ctx, g, examgate.Answer{ItemID: "q1", Choices: []string{choice}, ClientSeq: seq, SavedAt: saveT0}, false)
			if err != nil {
				t.Fatal(err)
			}
			if wrote && (ans.ItemID != "q1" || ans.Choices[0] != choice || ans.ClientSeq != seq || !ans.SavedAt.Equal(saveT0)) {
				t.Fatalf("stored %+v, want q1 %s seq %d", ans, choice, seq)
			}
			return wrote
		}
		g := guardOf(a)
		if !save(g, "a", 2) {
			t.Fatal("first save not written")
		}
		if save(g, "b", 2) || save(g, "b", 1) {
			t.Fatal("a repeated or older save was written")
		}
		other := g
		other.CandidateID++
		wrongExam := g
		wrongExam.ExamCode = "EX-2"
		late := g
		late.NotBefore = a.Deadline.Add(time.Microsecond)
		onTime := g
		onTime.NotBefore = a.Deadline
		for name, g := range map[string]examgate.SaveGuard{"another candidate": other, "another exam": wrongExam, "past the deadline": late} {
			if save(g, "b", 10) {
				t.Fatalf("%s: written", name)
			}
		}
		if !save(onTime, "b", 3) {
			t.Fatal("a save with the deadline exactly at now - grace was refused")
		}
		// The flag keeps its own sequence and leaves the choices alone.
		ans, wrote, err := store.SaveIfOpen(ctx, g, examgate.Answer{ItemID: "q1", Flagged: true, ClientSeq: 1, SavedAt: saveT0}, true)
		if err != nil || !wrote || !ans.Flagged || ans.Choices[0] != "b" {
			t.Fatalf("flag: %+v %v %v", ans, wrote, err)
		}
		if _, err := store.CompleteAttempt(ctx, a, examgate.AttemptSubmitted, saveT0, func([]examgate.Answer) examgate.Score { return examgate.Score{} }, nil); err != nil {
			t.Fatal(err)
		}
		if save(g, "a", 20) {
			t.Fatal("a save to a submitted attempt was written")
		}
		answers, err := store.Answers(ctx, a.ID)
		if err != nil || len(answers) != 1 || answers[0].Choices[0] != "b" || !answers[0].Flagged {
			t.Fatalf("answers = %+v %v, want q1 b flagged", answers, err)
		}
	})
}

// Concurrent saves on SQLite share commits, and each caller returns only
// once its save is on disk: a store opened afresh on the file finds them.
func TestSaveGroupCommitIsDurable(t *testing.T) {
	store, path := dbtest.OpenSQLiteFile(t)
	ctx := context.Background()
	const n = 200
	var attempts []*examgate.Attempt
	for i := range 4 {
		attempts = append(attempts, openAttempt(t, store, i))
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := attempts[i%len(attempts)]
			_, wrote, err := store.SaveIfOpen(ctx, guardOf(a), examgate.Answer{ItemID: fmt.Sprint("q", i), Choices: []string{"a"}, ClientSeq: 1, SavedAt: saveT0}, false)
			if err != nil || !wrote {
				t.Errorf("save %d: %v %v", i, wrote, err)
			}
		}()
	}
	wg.Wait()
	again, err := db.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	total := 0
	for _, a := range attempts {
		answers, err := again.Answers(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		total += len(answers)
	}
	if total != n {
		t.Fatalf("%d answers on disk, want %d", total, n)
	}
}

// One failing statement fails alone: the rest of its batch is saved,
// whether it fails to prepare or in the transaction.
func TestSaveBatchIsolatesFailure(t *testing.T) {
	store := dbtest.OpenSQLite(t)
	ctx := context.Background()
	a := openAttempt(t, store, 1)
	save := func(item string) db.RawSave {
		return store.GuardedSave(guardOf(a), examgate.Answer{ItemID: item, Choices: []string{"a"}, ClientSeq: 1, SavedAt: saveT0})
	}
	unprepared := db.RawSave{Query: "INSERT INTO no_such_table VALUES (1) RETURNING 1"}
	// A foreign key violation, raised while the batch's transaction runs.
	failing := db.RawSave{Query: "INSERT INTO answers (attempt_id, item_id, saved_at) VALUES (?, 'q9', '2026-11-27 09:00:00+00:00') RETURNING choices, flagged", Args: []any{a.ID + 1000}}
	wrote, errs := store.RunSaveBatch(ctx, []db.RawSave{save("q1"), unprepared, save("q2"), failing, save("q3")})
	for _, i := range []int{0, 2, 4} {
		if !wrote[i] || errs[i] != nil {
			t.Fatalf("good save %d: wrote %v, error %v", i, wrote[i], errs[i])
		}
	}
	for _, i := range []int{1, 3} {
		if wrote[i] || errs[i] == nil {
			t.Fatalf("bad statement %d: wrote %v, error %v", i, wrote[i], errs[i])
		}
	}
	if answers, _ := store.Answers(ctx, a.ID); len(answers) != 3 {
		t.Fatalf("answers = %+v, want q1, q2 and q3", answers)
	}
	if commits, saves := store.SaveStats(); commits != 3 || saves != 3 {
		t.Fatalf("stats: %d commits of %d saves, want each good save alone after the failed batch", commits, saves)
	}
}
