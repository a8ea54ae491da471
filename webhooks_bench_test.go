package examgate_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/db"
	"github.com/examgate/examgate/db/dbtest"
)

// BenchmarkWebhookEvent measures one booking event from its queued
// webhook.event job to its 2xx at every endpoint: the fan-out, then one
// signed POST per endpoint to a local receiver, with one worker.
func BenchmarkWebhookEvent(b *testing.B) {
	for _, endpoints := range []int{1, 5} {
		b.Run(fmt.Sprintf("sqlite/endpoints=%d", endpoints), func(b *testing.B) {
			store, _ := dbtest.OpenSQLiteFile(b)
			benchWebhookEvent(b, store, endpoints)
		})
		b.Run(fmt.Sprintf("postgres/endpoints=%d", endpoints), func(b *testing.B) {
			store, err := db.Open(dbtest.PostgresURL(b))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = store.Close() })
			if err := store.Migrate(context.Background()); err != nil {
				b.Fatal(err)
			}
			benchWebhookEvent(b, store, endpoints)
		})
	}
}

func benchWebhookEvent(b *testing.B, store *db.DB, endpoints int) {
	ctx := context.Background()
	now := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	clock := examgate.ClockFunc(func() time.Time { return now })
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	b.Cleanup(srv.Close)
	hooks := &examgate.Webhooks{Store: store, Clock: clock, Logger: slog.New(slog.DiscardHandler), Sender: examgate.NewWebhookSender(true)}
	admin := examgate.NewContextWithAdmin(ctx)
	for i := range endpoints {
		if _, err := hooks.AddWebhook(admin, fmt.Sprintf("%s/hook/%d", srv.URL, i), examgate.WebhookEventTypes, "", ""); err != nil {
			b.Fatal(err)
		}
	}
	cand, err := store.CompleteLaunch(ctx, &examgate.LaunchRecord{
		TokenID: "bench", TokenExpiresAt: now.Add(time.Hour),
		Candidate:   examgate.Candidate{ExternalID: "ext-bench", Email: "bench@example.com"},
		Eligibility: examgate.Eligibility{ExamCode: "EX-1", CourseID: "c1", PurchasedAt: now, EndsAt: now.AddDate(0, 0, 30), CheckedAt: now},
		Session:     examgate.Session{TokenHash: "bench", CreatedAt: now, ExpiresAt: now.Add(time.Hour)},
	})
	if err != nil {
		b.Fatal(err)
	}
	worker := &examgate.Worker{Store: store, Clock: clock, Logger: slog.New(slog.DiscardHandler)}
	worker.Handle(examgate.JobWebhookEvent, hooks.HandleEvent)
	worker.Handle(examgate.JobWebhookDelivery, hooks.HandleDelivery)
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		// Ten bookings, so that deliveries are not all behind one key.
		jobs, err := examgate.BookingEventJobs(examgate.EventBookingCreated, &examgate.Booking{
			ID: int64(i%10 + 1), CandidateID: cand.ID, ExamCode: "EX-1", StartsAt: now.Add(24 * time.Hour),
			EndsAt: now.Add(25 * time.Hour), Status: examgate.BookingPending, CreatedAt: now, UpdatedAt: now,
		})
		if err != nil {
			b.Fatal(err)
		}
		if err := store.Enqueue(ctx, now, jobs...); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		for {
			worked, err := worker.RunOnce(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if !worked {
				break
			}
		}
	}
}
