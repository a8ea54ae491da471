package db_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/db"
	"github.com/examgate/examgate/db/dbtest"
)

func TestWebhookStore(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		t0 := jobT0
		a, err := store.AddWebhookEndpoint(ctx, &examgate.WebhookEndpoint{
			URL: "https://a.example.com/hook", Secret: "whsec_aaaaaaaaaaaaaaaaaaaaaaaa",
			Events: []string{examgate.EventBookingCreated, examgate.EventAttemptCompleted}, Description: "LMS",
			CreatedAt: t0, UpdatedAt: t0,
		})
		if err != nil {
			t.Fatal(err)
		}
		b, err := store.AddWebhookEndpoint(ctx, &examgate.WebhookEndpoint{
			URL: "https://b.example.com/hook", Secret: "whsec_bbbbbbbbbbbbbbbbbbbbbbbb",
			Events: []string{examgate.EventBookingCancelled}, CreatedAt: t0, UpdatedAt: t0,
		})
		if err != nil {
			t.Fatal(err)
		}
		// Listed without secrets; read one by one with it, for signing.
		list, err := store.WebhookEndpoints(ctx)
		if err != nil || len(list) != 2 || list[0].ID != a.ID || list[0].Secret != "" || list[1].Secret != "" ||
			!slices.Equal(list[0].Events, a.Events) || list[0].Description != "LMS" || !list[0].CreatedAt.Equal(t0) {
			t.Fatalf("list = %+v %v", list, err)
		}
		got, err := store.WebhookEndpoint(ctx, a.ID)
		if err != nil || got.Secret != "whsec_aaaaaaaaaaaaaaaaaaaaaaaa" || got.URL != a.URL {
			t.Fatalf("endpoint = %+v %v", got, err)
		}
		if _, err := store.WebhookEndpoint(ctx, b.ID+10); examgate.ErrorCode(err) != examgate.ENOTFOUND {
			t.Fatalf("unknown endpoint: %v", err)
		}

		// A fan-out run twice writes each delivery once.
		key := func(ep int64) string { return fmt.Sprintf("webhook:%d:booking:7", ep) }
		body := []byte(`{"id":"evt_1"}`)
		for i, want := range []int{2, 0} {
			n, err := store.FanOutWebhookEvent(ctx, []int64{a.ID, b.ID}, "evt_1", examgate.EventBookingCreated, 7, key, body, t0)
			if err != nil || n != want {
				t.Fatalf("fan-out %d: %d %v", i, n, err)
			}
		}
		jobs, err := store.Jobs(ctx, examgate.JobFilter{Kind: examgate.JobWebhookDelivery})
		if err != nil || len(jobs) != 2 {
			t.Fatalf("jobs = %d %v", len(jobs), err)
		}
		log, err := store.WebhookDeliveries(ctx, a.ID, 0, 10)
		if err != nil || len(log) != 1 {
			t.Fatalf("log = %v %v", log, err)
		}
		d := log[0]
		if d.EventID != "evt_1" || d.BookingID != 7 || d.State != examgate.WebhookPending || d.Attempts != 0 ||
			d.NextTryAt == nil || !d.NextTryAt.Equal(t0) || d.JobID == 0 {
			t.Fatalf("delivery = %+v", d)
		}
		job, err := store.JobByID(ctx, d.JobID)
		if err != nil || job.Key != key(a.ID) || !job.GiveUpAt.Equal(t0.Add(examgate.DefaultJobMaxAge)) {
			t.Fatalf("job = %+v %v", job, err)
		}
		var p examgate.WebhookDeliveryJob
		if err := json.Unmarshal(job.Payload, &p); err != nil || p.DeliveryID != d.ID {
			t.Fatalf("job payload %s", job.Payload)
		}
		one, gotBody, err := store.WebhookDelivery(ctx, d.ID)
		if err != nil || string(gotBody) != string(body) || one.EndpointID != a.ID {
			t.Fatalf("delivery = %+v %s %v", one, gotBody, err)
		}

		// Attempts are counted; a 2xx marks it delivered.
		t1 := t0.Add(time.Minute)
		if err := store.RecordWebhookAttempt(ctx, d.ID, examgate.WebhookOutcome{Status: 500, Err: errors.New("endpoint answered 500")}, t0); err != nil {
			t.Fatal(err)
		}
		if err := store.RecordWebhookAttempt(ctx, d.ID, examgate.WebhookOutcome{Status: 204}, t1); err != nil {
			t.Fatal(err)
		}
		log, _ = store.WebhookDeliveries(ctx, a.ID, 0, 10)
		if d := log[0]; d.State != examgate.WebhookDelivered || d.Attempts != 2 || d.LastStatus != 204 || d.LastError != "" ||
			!d.DeliveredAt.Equal(t1) || !d.LastAttemptAt.Equal(t1) {
			t.Fatalf("after success: %+v", d)
		}

		// Pages, newest first.
		for i := 2; i <= 5; i++ {
			if _, err := store.FanOutWebhookEvent(ctx, []int64{a.ID}, fmt.Sprintf("evt_%d", i), examgate.EventBookingCreated, 0, key, body, t0); err != nil {
				t.Fatal(err)
			}
		}
		page1, _ := store.WebhookDeliveries(ctx, a.ID, 0, 3)
		page2, _ := store.WebhookDeliveries(ctx, a.ID, page1[2].ID, 3)
		var ids []string
		for _, d := range append(page1, page2...) {
			ids = append(ids, d.EventID)
		}
		if !slices.Equal(ids, []string{"evt_5", "evt_4", "evt_3", "evt_2", "evt_1"}) || page2[0].BookingID != 0 {
			t.Fatalf("pages = %v", ids)
		}

		// Disabling keeps the endpoint; removing drops it and its log.
		if err := store.DisableWebhookEndpoint(ctx, a.ID, "answered 410 Gone", t1); err != nil {
			t.Fatal(err)
		}
		got, _ = store.WebhookEndpoint(ctx, a.ID)
		if got.DisabledAt == nil || !got.DisabledAt.Equal(t1) || got.DisabledReason != "answered 410 Gone" {
			t.Fatalf("disabled = %+v", got)
		}
		if err := store.RemoveWebhookEndpoint(ctx, a.ID); err != nil {
			t.Fatal(err)
		}
		if log, _ := store.WebhookDeliveries(ctx, a.ID, 0, 10); len(log) != 0 {
			t.Fatalf("log of removed endpoint: %d", len(log))
		}
		if _, _, err := store.WebhookDelivery(ctx, d.ID); examgate.ErrorCode(err) != examgate.ENOTFOUND {
			t.Fatalf("delivery of removed endpoint: %v", err)
		}
		if err := store.RemoveWebhookEndpoint(ctx, a.ID); examgate.ErrorCode(err) != examgate.ENOTFOUND {
			t.Fatalf("second remove: %v", err)
		}
		if log, _ := store.WebhookDeliveries(ctx, b.ID, 0, 10); len(log) != 1 {
			t.Fatalf("other endpoint's log: %d", len(log))
		}
	})
}
