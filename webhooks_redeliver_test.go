package examgate_test

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/db"
	"github.com/examgate/examgate/db/dbtest"
)

// receiver adds an endpoint for events at a new receiver that checks its
// secret.
func (e *hookEnv) receiver(t *testing.T, events ...string) (*receiver, *examgate.WebhookEndpoint) {
	t.Helper()
	rc := newReceiver(t, "")
	ep := e.add(t, rc.url, events...)
	rc.secret = ep.Secret
	return rc, ep
}

func answerAlways(status int) func(int, received) (int, http.Header) {
	return func(int, received) (int, http.Header) { return status, nil }
}

// An endpoint down for longer than the retries last gets every failed
// delivery of a time range again, each booking's events in order and
// before that booking's later events; one delivered delivery is sent again
// on demand; a pending one is not.
func TestWebhookRedeliverAfterAnOutage(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		e := newHookEnv(t, store, 2)
		rc, ep := e.receiver(t, examgate.WebhookEventTypes...)
		rc.setAnswer(answerAlways(503))
		ada, bob := e.cands[0], e.cands[1]

		before := *e.now
		b1, err := e.svc.Book(ctx, ada, "EX-1", at(10+30, 10), key("book"))
		if err != nil {
			t.Fatal(err)
		}
		*e.now = e.now.Add(time.Minute)
		if _, err := e.svc.Reschedule(ctx, ada, b1.ID, at(11+30, 11), key("move")); err != nil {
			t.Fatal(err)
		}
		*e.now = e.now.Add(time.Minute)
		b2, err := e.svc.Book(ctx, bob, "EX-1", at(10+30, 11), key("bob"))
		if err != nil {
			t.Fatal(err)
		}
		outageEnd := e.now.Add(time.Minute)
		e.drain(t, e.now.Add(4*24*time.Hour))
		log := e.log(t, ep)
		if len(log) != 3 {
			t.Fatalf("log: %d deliveries", len(log))
		}
		for _, d := range log {
			if d.State != examgate.WebhookFailed || d.LastStatus != 503 {
				t.Fatalf("after 4 days down: %+v", d)
			}
		}
		firstTries, _ := rc.got()

		// The receiver is back. Outside the range nothing is sent again.
		rc.setAnswer(answerAlways(204))
		if got, err := e.hooks.RedeliverFailed(e.admin, ep.ID, outageEnd, time.Time{}); err != nil || len(got) != 0 {
			t.Fatalf("range after the failures: %d %v", len(got), err)
		}
		again, err := e.hooks.RedeliverFailed(e.admin, ep.ID, before, outageEnd)
		if err != nil || len(again) != 3 || again[0].State != examgate.WebhookPending {
			t.Fatalf("redeliver the range: %d %v", len(again), err)
		}
		// Ada's booking changes again before the redeliveries go out: its
		// event waits behind them.
		if _, err := e.svc.Cancel(ctx, ada, b1.ID, key("cancel")); err != nil {
			t.Fatal(err)
		}
		e.drain(t, e.now.Add(time.Hour))
		_, accepted := rc.got()
		a1, b2ID := strconv.FormatInt(b1.ID, 10), strconv.FormatInt(b2.ID, 10)
		var adas, bobs []string
		for _, r := range accepted {
			switch r.Event.Booking.ID {
			case a1:
				adas = append(adas, r.Event.Type)
			case b2ID:
				bobs = append(bobs, r.Event.Type)
			}
		}
		if !slices.Equal(adas, []string{"booking.created", "booking.rescheduled", "booking.cancelled"}) || !slices.Equal(bobs, []string{"booking.created"}) {
			t.Fatalf("accepted: Ada %v, Bob %v", adas, bobs)
		}
		// The same events: ids and bodies as first sent.
		sent := map[string]string{}
		for _, r := range firstTries {
			sent[r.EventID] = string(r.Body)
		}
		for _, r := range accepted[:3] {
			if sent[r.EventID] != string(r.Body) {
				t.Fatalf("redelivered %s is not the event first sent: %s", r.EventID, r.Body)
			}
		}
		for _, d := range e.log(t, ep) {
			if d.State != examgate.WebhookDelivered || d.LastStatus != 204 || d.NextTryAt != nil {
				t.Fatalf("after redelivery: %+v", d)
			}
		}

		// One delivered delivery, again: the receiver lost it.
		created := e.log(t, ep)[3]
		if created.EventType != examgate.EventBookingCreated || created.BookingID != b1.ID {
			t.Fatalf("oldest delivery: %+v", created)
		}
		if d, err := e.hooks.Redeliver(e.admin, created.ID); err != nil || d.State != examgate.WebhookPending || d.DeliveredAt != nil {
			t.Fatalf("redeliver one: %+v %v", d, err)
		}
		// Queued again, it is pending: asking once more is refused.
		if _, err := e.hooks.Redeliver(e.admin, created.ID); examgate.ErrorCode(err) != examgate.ECONFLICT {
			t.Fatalf("redeliver a pending one: %v", err)
		}
		e.drain(t, e.now.Add(time.Hour))
		_, accepted = rc.got()
		if last := accepted[len(accepted)-1]; last.EventID != created.EventID || last.Event.Type != examgate.EventBookingCreated {
			t.Fatalf("last accepted: %s", last.Body)
		}
		if d := e.log(t, ep)[3]; d.State != examgate.WebhookDelivered || d.Attempts != created.Attempts+1 {
			t.Fatalf("after the redelivery: %+v", d)
		}

		if _, err := e.hooks.Redeliver(e.admin, 999999); examgate.ErrorCode(err) != examgate.ENOTFOUND {
			t.Fatalf("unknown delivery: %v", err)
		}
		if _, err := e.hooks.RedeliverFailed(e.admin, ep.ID, outageEnd, before); examgate.ErrorCode(err) != examgate.EINVALID {
			t.Fatalf("since after until: %v", err)
		}
		for name, ctx := range map[string]context.Context{"no key": ctx, "partner key": examgate.NewContextWithAPIKey(ctx, &examgate.APIKey{Scopes: []string{examgate.ScopeBookingsRead}})} {
			if _, err := e.hooks.Redeliver(ctx, created.ID); err == nil {
				t.Fatalf("redeliver with %s", name)
			}
			if _, err := e.hooks.RedeliverFailed(ctx, ep.ID, before, outageEnd); err == nil {
				t.Fatalf("redeliver failed with %s", name)
			}
		}
	})
}

// A ping goes at once, signed, to any endpoint, and its delivery keeps the
// status, the latency and the first KiB of the answer.
func TestWebhookPing(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		e := newHookEnv(t, store, 0)
		rc, ep := e.receiver(t, examgate.EventBookingCancelled)
		const slow = 20 * time.Millisecond
		rc.reply = strings.Repeat("é", 1500) // 3000 bytes, of two bytes each
		rc.setAnswer(func(int, received) (int, http.Header) {
			time.Sleep(slow) // a receiver that takes its time to answer
			return 200, nil
		})
		d, err := e.hooks.Ping(e.admin, ep.ID)
		if err != nil {
			t.Fatal(err)
		}
		if d.EventType != examgate.EventPing || d.State != examgate.WebhookDelivered || d.LastStatus != 200 || d.Attempts != 1 ||
			d.LastLatency < slow || d.LastResponse != strings.Repeat("é", 512) || d.NextTryAt != nil {
			t.Fatalf("ping delivery: %+v (latency %s, %d bytes kept)", d, d.LastLatency, len(d.LastResponse))
		}
		_, accepted := rc.got()
		if len(accepted) != 1 || accepted[0].Event.Type != "ping" || accepted[0].Event.Booking != nil || accepted[0].EventID != d.EventID {
			t.Fatalf("received: %+v", accepted)
		}

		rc.reply = "\x00down for maintenance"
		rc.setAnswer(answerAlways(500))
		d, err = e.hooks.Ping(e.admin, ep.ID)
		if err != nil {
			t.Fatal(err)
		}
		if d.State != examgate.WebhookFailed || d.LastStatus != 500 || d.LastResponse != "down for maintenance" || !strings.Contains(d.LastError, "500") {
			t.Fatalf("failed ping: %+v", d)
		}
		// Not retried, and not sent to other events' endpoints.
		e.drain(t, e.now.Add(24*time.Hour))
		if req, _ := rc.got(); len(req) != 2 {
			t.Fatalf("%d requests", len(req))
		}
		if log := e.log(t, ep); len(log) != 2 || log[0].ID != d.ID {
			t.Fatalf("log: %+v", log)
		}
		if _, err := e.hooks.Ping(e.admin, ep.ID+100); examgate.ErrorCode(err) != examgate.ENOTFOUND {
			t.Fatalf("ping of an unknown endpoint: %v", err)
		}
		if _, err := e.hooks.Ping(context.Background(), ep.ID); err == nil {
			t.Fatal("ping without admin")
		}
	})
}

// An endpoint disabled by a 410 is enabled again with its secret; what it
// missed is sent by redelivering the failed range.
func TestWebhookEnableAfterGone(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		e := newHookEnv(t, store, 1)
		rc, ep := e.receiver(t, examgate.WebhookEventTypes...)
		rc.setAnswer(answerAlways(410))
		since := *e.now
		b, err := e.svc.Book(ctx, e.cands[0], "EX-1", at(2+30, 10), key("book"))
		if err != nil {
			t.Fatal(err)
		}
		e.drain(t, e.now.Add(time.Hour))
		if list, _ := e.hooks.List(e.admin); list[0].DisabledAt == nil {
			t.Fatal("not disabled by the 410")
		}
		rc.setAnswer(answerAlways(204))
		en, err := e.hooks.Enable(e.admin, ep.ID)
		if err != nil || en.DisabledAt != nil || en.DisabledReason != "" || en.Secret != ep.Secret {
			t.Fatalf("enabled: %+v %v", en, err)
		}
		if got, err := e.hooks.RedeliverFailed(e.admin, ep.ID, since, time.Time{}); err != nil || len(got) != 1 {
			t.Fatalf("redeliver: %d %v", len(got), err)
		}
		if _, err := e.svc.Cancel(ctx, e.cands[0], b.ID, key("cancel")); err != nil {
			t.Fatal(err)
		}
		e.drain(t, e.now.Add(time.Hour))
		_, accepted := rc.got()
		if len(accepted) != 2 || accepted[0].Event.Type != examgate.EventBookingCreated || accepted[1].Event.Type != examgate.EventBookingCancelled {
			t.Fatalf("after enabling: %v", types(accepted))
		}
		if _, err := e.hooks.Enable(ctx, ep.ID); err == nil {
			t.Fatal("enable without admin")
		}
	})
}

// A rotated secret keeps signing for the overlap: each request carries a
// signature for the new secret and one for the old, so the receiver can
// deploy the new secret at any time within it; after it only the new one.
func TestWebhookSecretRotation(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		e := newHookEnv(t, store, 1)
		rc := newReceiver(t, "")
		ep := e.add(t, rc.url, examgate.WebhookEventTypes...)
		old := ep.Secret
		rot, err := e.hooks.RotateSecret(e.admin, ep.ID, "", time.Hour)
		if err != nil || rot.Secret == old || !strings.HasPrefix(rot.Secret, "whsec_") || rot.PreviousSecretUntil == nil || !rot.PreviousSecretUntil.Equal(e.now.Add(time.Hour)) {
			t.Fatalf("rotated: %+v %v", rot, err)
		}
		rc.secret = rot.Secret
		b, err := e.svc.Book(ctx, e.cands[0], "EX-1", at(2+30, 10), key("book"))
		if err != nil {
			t.Fatal(err)
		}
		e.drain(t, e.now.Add(time.Minute))
		*e.now = e.now.Add(2 * time.Hour)
		if _, err := e.svc.Cancel(ctx, e.cands[0], b.ID, key("cancel")); err != nil {
			t.Fatal(err)
		}
		e.drain(t, e.now.Add(time.Minute))
		_, accepted := rc.got()
		if len(accepted) != 2 {
			t.Fatalf("accepted %v", types(accepted))
		}
		during, after := accepted[0], accepted[1]
		if strings.Count(during.Signature, "v1=") != 2 || !validSignature(old, during.Signature, during.Body) || !validSignature(rot.Secret, during.Signature, during.Body) {
			t.Fatalf("during the overlap: %s", during.Signature)
		}
		if strings.Count(after.Signature, "v1=") != 1 || validSignature(old, after.Signature, after.Body) || !validSignature(rot.Secret, after.Signature, after.Body) {
			t.Fatalf("after the overlap: %s", after.Signature)
		}
		// A rotation without overlap stops the old secret at once; a given
		// secret is checked like one given when adding.
		given := "partner-chosen-secret-0123456789"
		if rot2, err := e.hooks.RotateSecret(e.admin, ep.ID, given, 0); err != nil || rot2.Secret != given {
			t.Fatalf("rotate to a given secret: %+v %v", rot2, err)
		}
		for name, c := range map[string]struct {
			secret  string
			overlap time.Duration
		}{"the same secret": {given, 0}, "too short": {"short", 0}, "overlap too long": {"", 8 * 24 * time.Hour}, "negative overlap": {"", -time.Hour}} {
			if _, err := e.hooks.RotateSecret(e.admin, ep.ID, c.secret, c.overlap); examgate.ErrorCode(err) != examgate.EINVALID {
				t.Errorf("%s: %v", name, err)
			}
		}
		if _, err := e.hooks.RotateSecret(ctx, ep.ID, "", 0); err == nil {
			t.Fatal("rotate without admin")
		}
	})
}

// booking.started comes when the candidate starts the exam, between the
// booking's earlier events and attempt.completed, with the booking STARTED.
func TestWebhookBookingStarted(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		e := newHookEnv(t, store, 1)
		rc, _ := e.receiver(t, examgate.EventBookingCreated, examgate.EventBookingStarted)
		slot := at(2+30, 10)
		b, err := e.svc.Book(ctx, e.cands[0], "EX-1", slot, key("book"))
		if err != nil {
			t.Fatal(err)
		}
		*e.now = slot.Add(-10 * time.Minute)
		started, err := e.svc.Start(ctx, e.cands[0], b.ID, key("start"))
		if err != nil {
			t.Fatal(err)
		}
		e.drain(t, e.now.Add(time.Minute))
		_, accepted := rc.got()
		id := strconv.FormatInt(b.ID, 10)
		if got := types(accepted); !slices.Equal(got, []string{"booking.created#" + id, "booking.started#" + id}) {
			t.Fatalf("events: %v", got)
		}
		ev := accepted[1].Event
		if ev.Booking.Status != "STARTED" || !ev.Time.Equal(started.UpdatedAt) || !ev.Booking.UpdatedAt.Equal(started.UpdatedAt) {
			t.Fatalf("booking.started: %s (booking updatedAt %s)", accepted[1].Body, started.UpdatedAt)
		}
	})
}

// A partner's key with webhooks:manage registers endpoints of its own, for
// the events its read scopes cover, and manages those only; revoking it
// stops its endpoints at once, queued deliveries included.
func TestWebhookPartnerKeysManageTheirOwn(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		e := newHookEnv(t, store, 1)
		keys := &examgate.APIKeys{Store: store, Clock: e.svc.Clock}
		as := func(scopes ...string) (*examgate.APIKey, context.Context) {
			k, _, err := keys.Create(ctx, "partner", scopes)
			if err != nil {
				t.Fatal(err)
			}
			return k, examgate.NewContextWithAPIKey(ctx, k)
		}
		keyA, a := as(examgate.ScopeWebhooksManage, examgate.ScopeBookingsRead)
		_, b := as(examgate.ScopeWebhooksManage, examgate.ScopeBookingsRead, examgate.ScopeResultsRead)
		_, reader := as(examgate.ScopeBookingsRead)
		rcA, rcB := newReceiver(t, ""), newReceiver(t, "")
		epA, err := e.hooks.AddWebhook(a, rcA.url, []string{examgate.EventBookingCreated}, "", "A")
		if err != nil || epA.OwnerKeyID != keyA.ID {
			t.Fatalf("A adds: %+v %v", epA, err)
		}
		epB, err := e.hooks.AddWebhook(b, rcB.url, []string{examgate.EventBookingCreated, examgate.EventAttemptCompleted}, "", "B")
		if err != nil {
			t.Fatal(err)
		}
		rcA.secret, rcB.secret = epA.Secret, epB.Secret
		if _, err := e.hooks.AddWebhook(a, rcA.url, []string{examgate.EventAttemptCompleted}, "", ""); examgate.ErrorCode(err) != examgate.EFORBIDDEN || !strings.Contains(err.Error(), "results:read") {
			t.Fatalf("attempt.completed without results:read: %v", err)
		}
		if _, err := e.hooks.AddWebhook(reader, rcA.url, []string{examgate.EventBookingCreated}, "", ""); examgate.ErrorCode(err) != examgate.EFORBIDDEN {
			t.Fatalf("without webhooks:manage: %v", err)
		}
		if _, err := e.hooks.AddWebhook(ctx, rcA.url, []string{examgate.EventBookingCreated}, "", ""); examgate.ErrorCode(err) != examgate.EUNAUTHORIZED {
			t.Fatalf("without a key: %v", err)
		}
		if list, err := e.hooks.List(a); err != nil || len(list) != 1 || list[0].ID != epA.ID {
			t.Fatalf("A lists %+v %v", list, err)
		}
		if list, err := e.hooks.List(e.admin); err != nil || len(list) != 2 {
			t.Fatalf("admin lists %+v %v", list, err)
		}

		booking, err := e.svc.Book(ctx, e.cands[0], "EX-1", at(2+30, 10), key("book"))
		if err != nil {
			t.Fatal(err)
		}
		e.drain(t, e.now.Add(time.Minute))
		logB, err := e.hooks.Deliveries(b, epB.ID, 10, 0)
		if err != nil || len(logB) != 1 {
			t.Fatalf("B's log: %+v %v", logB, err)
		}
		// A cannot reach B's endpoint in any way: it does not exist for A.
		notFound := map[string]error{}
		_, notFound["deliveries"] = e.hooks.Deliveries(a, epB.ID, 10, 0)
		_, notFound["ping"] = e.hooks.Ping(a, epB.ID)
		_, notFound["enable"] = e.hooks.Enable(a, epB.ID)
		_, notFound["rotate"] = e.hooks.RotateSecret(a, epB.ID, "", 0)
		_, notFound["redeliver"] = e.hooks.Redeliver(a, logB[0].ID)
		_, notFound["redeliver failed"] = e.hooks.RedeliverFailed(a, epB.ID, at(1, 0), time.Time{})
		notFound["remove"] = e.hooks.Remove(a, epB.ID)
		for name, err := range notFound {
			if examgate.ErrorCode(err) != examgate.ENOTFOUND {
				t.Errorf("A's %s of B's endpoint: %v", name, err)
			}
		}
		if _, err := e.hooks.Redeliver(b, logB[0].ID); err != nil {
			t.Fatalf("B redelivers its own: %v", err)
		}
		e.drain(t, e.now.Add(time.Minute))

		// A's key is revoked while an event for it waits: nothing more
		// goes to A's endpoint.
		if _, err := e.svc.Cancel(ctx, e.cands[0], booking.ID, key("cancel")); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Book(ctx, e.cands[0], "EX-1", at(3+30, 10), key("book2")); err != nil {
			t.Fatal(err)
		}
		for range 2 { // the fan-outs of the cancellation and of the new booking
			if worked, err := e.worker.RunOnce(ctx); err != nil || !worked {
				t.Fatalf("fan-out: %v %v", worked, err)
			}
		}
		if log := e.log(t, epA); len(log) != 2 || log[0].State != examgate.WebhookPending {
			t.Fatalf("A's log before the revocation: %+v", log)
		}
		if err := keys.Revoke(ctx, keyA.ID); err != nil {
			t.Fatal(err)
		}
		e.drain(t, e.now.Add(time.Hour))
		reqA, _ := rcA.got()
		_, accB := rcB.got()
		if len(reqA) != 1 || len(accB) != 3 {
			t.Fatalf("A received %v, B accepted %v", types(reqA), types(accB))
		}
		if log := e.log(t, epA); len(log) != 2 || log[0].State != examgate.WebhookFailed || !strings.Contains(log[0].LastError, "revoked") {
			t.Fatalf("A's log after the revocation: %+v", log[0])
		}
	})
}
