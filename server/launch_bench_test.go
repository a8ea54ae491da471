package server_test

// The launch benchmarks measure GET /launch/ti end to end through the real
// handler: token check, replay check, candidate lookup, the two calls to a
// fake Thought Industries over loopback HTTP, and the launch transaction.
// docs/performance.md explains how to run them and how to read the numbers.

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/db"
	"github.com/examgate/examgate/db/dbtest"
	"github.com/examgate/examgate/server"
	"github.com/examgate/examgate/tiapi"
	"github.com/examgate/examgate/tiapi/titest"
)

const (
	benchSecret  = "bench-launch-secret"
	benchAPIKey  = "bench-ti-api-key"
	benchExam    = "DEMO-101"
	benchCourse  = "3f2b8c1e-5d4a-4e6b-9c7d-1a2b3c4d5e6f"
	benchSkew    = 500 * time.Second
	benchCatalog = `exams:
  - code: DEMO-101
    title: Demo Certification Exam
    eligibilityDays: 90
    ti:
      courseIds: ["3f2b8c1e-5d4a-4e6b-9c7d-1a2b3c4d5e6f"]
      courseSlug: demo-course
      assignmentId: "5a7e1c9d-2b4f-4d6a-8e3c-7f9a1b2c3d4e"
`
)

// benchNow is the fixed time of every benchmark: tokens are signed before the
// timer starts, so a wall clock could let them age out in a long run.
var benchNow = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

// benchEnv is one examgate handler wired as cmd/examgate wires it, with a
// fake TI behind a real loopback HTTP server.
type benchEnv struct {
	handler http.Handler
	ti      *titest.Server
	seq     int // learners created so far, for unique emails
}

func benchSetup(b *testing.B, store *db.DB) *benchEnv {
	b.Helper()
	catalog, err := examgate.ParseCatalog([]byte(benchCatalog))
	if err != nil {
		b.Fatal(err)
	}
	fake := titest.New(benchAPIKey)
	tiSrv := httptest.NewServer(fake)
	b.Cleanup(tiSrv.Close)

	clock := examgate.ClockFunc(func() time.Time { return benchNow })
	// Production logs JSON to stdout; formatting is kept, the write is not.
	logger := slog.New(server.LogHandler{Handler: slog.NewJSONHandler(io.Discard, nil)})
	ti := tiapi.NewClient(tiSrv.URL, benchAPIKey)
	ti.Logger = logger
	base, _ := url.Parse("http://127.0.0.1:8080")
	h := server.New(server.Deps{
		BaseURL: base, Store: store, Catalog: catalog, Clock: clock, Logger: logger,
		Verifier: tiapi.NewLaunchVerifier([]string{benchSecret}, benchSkew, clock),
		Launcher: &examgate.Launcher{
			Store: store, TI: ti, Catalog: catalog, Clock: clock, Logger: logger,
			ReplayWindow: 2 * benchSkew,
		},
	})
	return &benchEnv{handler: h, ti: fake}
}

// benchLearner is a TI user who bought the demo course ten days ago.
type benchLearner struct {
	email, external string
}

func (e *benchEnv) benchNewLearner() benchLearner {
	e.seq++
	l := benchLearner{
		email:    fmt.Sprintf("learner%d@example.com", e.seq),
		external: fmt.Sprintf("cust-%d", e.seq),
	}
	u := e.ti.AddUser(titest.User{Email: l.email, ExternalCustomerID: l.external, FirstName: "Ada", LastName: "Lovelace"})
	e.ti.AddPurchase(titest.Purchase{
		UserID: u.ID, CourseID: benchCourse, Slug: "demo-course", SKU: benchExam,
		Time: benchNow.AddDate(0, 0, -10),
	})
	return l
}

// benchLaunchURL signs a launch link for l the way TI does. The exp claim
// differs per i so that every token is distinct, hence not a replay, even
// for the same learner within the same second.
func benchLaunchURL(b *testing.B, l benchLearner, i int) string {
	b.Helper()
	tok, err := titest.SignLaunch(benchSecret, titest.LaunchToken{
		Email: l.email, FirstName: "Ada", LastName: "Lovelace", ExternalCustomerID: l.external,
		CourseID: benchCourse, AssignmentID: "5a7e1c9d-2b4f-4d6a-8e3c-7f9a1b2c3d4e",
		IssuedAt: benchNow, ExpiresAt: benchNow.Add(time.Hour + time.Duration(i)*time.Second),
	})
	if err != nil {
		b.Fatal(err)
	}
	return titest.LaunchURL("", benchExam, tok)
}

// benchLaunch performs one launch and checks that it signed the learner in.
func (e *benchEnv) benchLaunch(target string) error {
	req := httptest.NewRequest(http.MethodGet, target, nil)
	rec := httptest.NewRecorder()
	e.handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/exams/"+benchExam {
		return fmt.Errorf("launch answered %d (Location %q), want 303 to /exams/%s:\n%s",
			rec.Code, rec.Header().Get("Location"), benchExam, rec.Body.String())
	}
	return nil
}

func BenchmarkLaunch(b *testing.B) {
	stores := []struct {
		name string
		open func(b *testing.B) *db.DB
	}{
		// A file, not :memory:, because production SQLite is a WAL file.
		{"sqlite", func(b *testing.B) *db.DB { s, _ := dbtest.OpenSQLiteFile(b); return s }},
		{"postgres", func(b *testing.B) *db.DB { return dbtest.OpenPostgres(b) }},
	}
	for _, st := range stores {
		b.Run(st.name, func(b *testing.B) {
			// new: a learner launches for the first time; the candidate is
			// created and TI is asked for the user id and the purchase.
			b.Run("new", func(b *testing.B) {
				env := benchSetup(b, st.open(b))
				urls := make([]string, b.N)
				for i := range urls {
					urls[i] = benchLaunchURL(b, env.benchNewLearner(), i)
				}
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if err := env.benchLaunch(urls[i]); err != nil {
						b.Fatal(err)
					}
				}
			})
			// returning: the same learner launches again with a new token;
			// the candidate is updated and TI is asked for the purchase only
			// (the stored TI user id is reused).
			b.Run("returning", func(b *testing.B) {
				env := benchSetup(b, st.open(b))
				l := env.benchNewLearner()
				if err := env.benchLaunch(benchLaunchURL(b, l, -1)); err != nil {
					b.Fatal(err)
				}
				urls := make([]string, b.N)
				for i := range urls {
					urls[i] = benchLaunchURL(b, l, i)
				}
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if err := env.benchLaunch(urls[i]); err != nil {
						b.Fatal(err)
					}
				}
			})
			// new-parallel: new learners launching from 4×GOMAXPROCS
			// goroutines at once, which shows how the launch transaction
			// contends for the database.
			b.Run("new-parallel", func(b *testing.B) {
				env := benchSetup(b, st.open(b))
				urls := make([]string, b.N)
				for i := range urls {
					urls[i] = benchLaunchURL(b, env.benchNewLearner(), i)
				}
				var next atomic.Int64
				b.SetParallelism(4)
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if err := env.benchLaunch(urls[next.Add(1)-1]); err != nil {
							b.Error(err) // Fatal must not be called off the benchmark goroutine
							return
						}
					}
				})
			})
		})
	}
}

// BenchmarkVerify measures the launch token check alone: signature, claims
// and the replay key, with no database and no TI.
func BenchmarkVerify(b *testing.B) {
	clock := examgate.ClockFunc(func() time.Time { return benchNow })
	v := tiapi.NewLaunchVerifier([]string{benchSecret}, benchSkew, clock)
	tok, err := titest.SignLaunch(benchSecret, titest.LaunchToken{
		Email: "learner1@example.com", FirstName: "Ada", LastName: "Lovelace", ExternalCustomerID: "cust-1",
		CourseID: benchCourse, AssignmentID: "5a7e1c9d-2b4f-4d6a-8e3c-7f9a1b2c3d4e", IssuedAt: benchNow,
		ExpiresAt: benchNow.Add(time.Hour),
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLaunchSteps times the steps of a launch one by one, to show where
// the time of BenchmarkLaunch goes: the reads done before TI is asked, the
// two TI calls over loopback HTTP, and the launch transaction, serially and
// from 4×GOMAXPROCS goroutines at once. Reads cycle over benchSeeded learners
// so that their cost does not depend on b.N.
func BenchmarkLaunchSteps(b *testing.B) {
	const benchSeeded = 1000
	stores := []struct {
		name string
		open func(b *testing.B) *db.DB
	}{
		{"sqlite", func(b *testing.B) *db.DB { s, _ := dbtest.OpenSQLiteFile(b); return s }},
		{"postgres", func(b *testing.B) *db.DB { return dbtest.OpenPostgres(b) }},
	}
	for _, st := range stores {
		b.Run(st.name, func(b *testing.B) {
			store := st.open(b)
			ctx := b.Context()
			for i := range benchSeeded {
				if _, err := store.CompleteLaunch(ctx, benchRecord(fmt.Sprintf("seed-%d", i))); err != nil {
					b.Fatal(err)
				}
			}
			b.Run("token-used", func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if _, err := store.LaunchTokenUsed(ctx, fmt.Sprintf("token-seed-%d", i%benchSeeded)); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
			b.Run("candidate-by-email", func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if _, err := store.CandidateByEmail(ctx, fmt.Sprintf("seed-%d@example.com", i%benchSeeded)); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
			b.Run("complete", func(b *testing.B) {
				recs := benchRecords(b.N)
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if _, err := store.CompleteLaunch(ctx, recs[i]); err != nil {
						b.Fatal(err)
					}
				}
			})
			// complete-parallel also reports the p99 and the worst latency of
			// one transaction, where waiting for the database's write lock shows.
			b.Run("complete-parallel", func(b *testing.B) {
				recs := benchRecords(b.N)
				lat := make([]time.Duration, b.N)
				var next atomic.Int64
				b.SetParallelism(4)
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						i := next.Add(1) - 1
						t := time.Now()
						if _, err := store.CompleteLaunch(ctx, recs[i]); err != nil {
							b.Error(err)
							return
						}
						lat[i] = time.Since(t)
					}
				})
				b.StopTimer()
				slices.Sort(lat)
				b.ReportMetric(float64(lat[(len(lat)*99+99)/100-1])/1e6, "p99-ms")
				b.ReportMetric(float64(lat[len(lat)-1])/1e6, "max-ms")
			})
		})
	}
	b.Run("ti", func(b *testing.B) {
		fake := titest.New(benchAPIKey)
		srv := httptest.NewServer(fake)
		b.Cleanup(srv.Close)
		ti := tiapi.NewClient(srv.URL, benchAPIKey)
		ids := make([]string, benchSeeded)
		for i := range ids {
			u := fake.AddUser(titest.User{Email: fmt.Sprintf("seed-%d@example.com", i)})
			fake.AddPurchase(titest.Purchase{UserID: u.ID, CourseID: benchCourse, Time: benchNow.AddDate(0, 0, -10)})
			ids[i] = u.ID
		}
		ctx := b.Context()
		b.Run("user-id", func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := ti.UserID(ctx, fmt.Sprintf("seed-%d@example.com", i%benchSeeded)); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
		b.Run("latest-purchase", func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := ti.LatestPurchase(ctx, ids[i%benchSeeded], benchCourse); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	})
}

// benchRecord is what a new learner's launch writes.
func benchRecord(id string) *examgate.LaunchRecord {
	return &examgate.LaunchRecord{
		TokenID:        "token-" + id,
		TokenExpiresAt: benchNow.Add(time.Hour),
		Candidate: examgate.Candidate{ExternalID: "cust-" + id, Email: id + "@example.com",
			FirstName: "Ada", LastName: "Lovelace", TIUserID: "ti-" + id},
		Eligibility: examgate.Eligibility{ExamCode: benchExam, CourseID: benchCourse, AssignmentID: "5a7e1c9d-2b4f-4d6a-8e3c-7f9a1b2c3d4e",
			PurchasedAt: benchNow.AddDate(0, 0, -10), EndsAt: benchNow.AddDate(0, 0, 80), CheckedAt: benchNow},
		Session: examgate.Session{TokenHash: "hash-" + id, CreatedAt: benchNow, ExpiresAt: benchNow.Add(examgate.SessionLifetime)},
	}
}

// benchRecords returns n launch records of learners not seen before, unique
// across the runs of one benchmark (they share a database).
func benchRecords(n int) []*examgate.LaunchRecord {
	run := benchRun.Add(1)
	recs := make([]*examgate.LaunchRecord, n)
	for i := range recs {
		recs[i] = benchRecord(fmt.Sprintf("r%d-%d", run, i))
	}
	return recs
}

var benchRun atomic.Int64
