package examgate_test

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/db"
	"github.com/examgate/examgate/db/dbtest"
)

// receiver is a partner's webhook endpoint on a real HTTP listener. It
// checks every request as a partner would and answers what the test says.
type receiver struct {
	t      *testing.T
	secret string
	url    string

	mu       sync.Mutex
	requests []received // every request, in arrival order
	accepted []received // those answered 2xx
	answer   func(n int, r received) (status int, header http.Header)
	reply    string // the body of every answer; "noted" when empty
}

type received struct {
	EventID   string
	Signature string
	Event     examgate.WebhookEvent
	Body      []byte
}

func newReceiver(t *testing.T, secret string) *receiver {
	rc := &receiver{t: t, secret: secret}
	srv := httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(srv.Close)
	rc.url = srv.URL + "/hooks/examgate"
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	got := received{EventID: r.Header.Get("X-Examgate-Event-Id"), Signature: r.Header.Get("X-Examgate-Signature"), Body: body}
	bad := ""
	switch {
	case r.Method != http.MethodPost:
		bad = "method " + r.Method
	case r.Header.Get("Content-Type") != "application/json":
		bad = "content type " + r.Header.Get("Content-Type")
	case !validSignature(rc.secret, got.Signature, body):
		bad = "bad signature " + got.Signature
	case json.Unmarshal(body, &got.Event) != nil:
		bad = "body is not an event: " + string(body)
	case got.Event.ID != got.EventID:
		bad = "event id header " + got.EventID + " differs from body " + got.Event.ID
	}
	if bad != "" {
		rc.t.Errorf("receiver: %s", bad)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	n := len(rc.requests)
	rc.requests = append(rc.requests, got)
	status, header := 204, http.Header(nil)
	if rc.answer != nil {
		status, header = rc.answer(n, got)
	}
	if status >= 200 && status < 300 {
		rc.accepted = append(rc.accepted, got)
	}
	reply := cmp.Or(rc.reply, "noted")
	rc.mu.Unlock()
	for k, v := range header {
		w.Header()[k] = v
	}
	w.WriteHeader(status)
	fmt.Fprint(w, reply)
}

func (rc *receiver) setAnswer(f func(n int, r received) (int, http.Header)) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.answer = f
}

func (rc *receiver) got() (requests, accepted []received) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.requests), slices.Clone(rc.accepted)
}

// validSignature checks the header as the partner guide tells receivers to
// (any v1 may match: two are sent while a secret is rotated), written
// independently of SignWebhook.
func validSignature(secret, header string, body []byte) bool {
	var ts string
	var sigs []string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	if _, err := strconv.ParseInt(ts, 10, 64); err != nil || len(sigs) == 0 {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "." + string(body)))
	want := hex.EncodeToString(mac.Sum(nil))
	for _, sig := range sigs {
		if hmac.Equal([]byte(want), []byte(sig)) {
			return true
		}
	}
	return false
}

// hookEnv is the booking environment with webhooks wired as the command
// wires them, and a worker the test drives by hand.
type hookEnv struct {
	*bookingEnv
	hooks  *examgate.Webhooks
	worker *examgate.Worker
	admin  context.Context
}

func newHookEnv(t *testing.T, store *db.DB, candidates int) *hookEnv {
	t.Helper()
	e := &hookEnv{bookingEnv: newBookingEnv(t, store, candidates), admin: examgate.NewContextWithAdmin(context.Background())}
	e.svc.Events = examgate.BookingEventJobs
	clock := e.svc.Clock
	logger := slog.New(slog.DiscardHandler)
	e.hooks = &examgate.Webhooks{Store: store, Clock: clock, Logger: logger, Sender: examgate.NewWebhookSender(true)}
	e.worker = &examgate.Worker{Store: store, Clock: clock, Logger: logger, Backoff: hookBackoff}
	e.worker.Handle(examgate.JobWebhookEvent, e.hooks.HandleEvent)
	e.worker.Handle(examgate.JobWebhookDelivery, e.hooks.HandleDelivery)
	return e
}

// hookBackoff is deterministic: 13 s, doubling, at most 8 h, so that the
// three days until a delivery is given up take few attempts to simulate.
func hookBackoff(attempt int) time.Duration {
	d := 13 * time.Second
	for i := 1; i < attempt && d < 8*time.Hour; i++ {
		d *= 2
	}
	return min(d, 8*time.Hour)
}

func (e *hookEnv) add(t *testing.T, url string, events ...string) *examgate.WebhookEndpoint {
	t.Helper()
	ep, err := e.hooks.AddWebhook(e.admin, url, events, "", "")
	if err != nil {
		t.Fatal(err)
	}
	return ep
}

// drain runs every due job; then, while jobs wait for a retry, it moves the
// clock to the next one, until the queue is empty or the clock reaches
// until.
func (e *hookEnv) drain(t *testing.T, until time.Time) {
	t.Helper()
	ctx := context.Background()
	for range 100000 {
		worked, err := e.worker.RunOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if worked {
			continue
		}
		queued, err := e.store.Jobs(ctx, examgate.JobFilter{State: examgate.JobQueued, Limit: 500,
			Kinds: []string{examgate.JobWebhookEvent, examgate.JobWebhookDelivery}})
		if err != nil {
			t.Fatal(err)
		}
		// Jobs due but not claimed wait behind another of their key; the
		// clock moves to the earliest retry.
		var next time.Time
		for _, j := range queued {
			if j.RunAt.After(*e.now) && (next.IsZero() || j.RunAt.Before(next)) {
				next = j.RunAt
			}
		}
		if next.IsZero() || !next.Before(until) {
			return
		}
		*e.now = next
	}
	t.Fatal("the queue never ran dry")
}

func (e *hookEnv) log(t *testing.T, ep *examgate.WebhookEndpoint) []*examgate.WebhookDelivery {
	t.Helper()
	list, err := e.hooks.Deliveries(e.admin, ep.ID, 200, 0)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func types(rs []received) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Event.Type+"#"+r.Event.Booking.ID)
	}
	return out
}

func TestWebhooksOrderRetryAndFilter(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		e := newHookEnv(t, store, 2)
		all := newReceiver(t, "")
		cancels := newReceiver(t, "")
		epAll := e.add(t, all.url, examgate.WebhookEventTypes...)
		epCancel := e.add(t, cancels.url, examgate.EventBookingCancelled)
		all.secret, cancels.secret = epAll.Secret, epCancel.Secret
		if !strings.HasPrefix(epAll.Secret, "whsec_") || epAll.Secret == epCancel.Secret {
			t.Fatalf("secrets %q %q", epAll.Secret, epCancel.Secret)
		}
		// The first request fails with a 500: the booking's later events
		// must wait for it, not overtake it.
		all.setAnswer(func(n int, _ received) (int, http.Header) {
			if n == 0 {
				return 500, nil
			}
			return 200, nil
		})

		ada, bob := e.cands[0], e.cands[1]
		b, err := e.svc.Book(ctx, ada, "EX-1", at(2+30, 10), key("book"))
		if err != nil {
			t.Fatal(err)
		}
		*e.now = e.now.Add(time.Minute)
		if _, err := e.svc.Reschedule(ctx, ada, b.ID, at(3+30, 11), key("move")); err != nil {
			t.Fatal(err)
		}
		*e.now = e.now.Add(time.Minute)
		if _, err := e.svc.Cancel(ctx, ada, b.ID, key("cancel")); err != nil {
			t.Fatal(err)
		}
		// Bob's booking is missed: a no-show.
		start := at(30, 11)
		bb, err := e.svc.Book(ctx, bob, "EX-1", start, key("bob"))
		if err != nil {
			t.Fatal(err)
		}
		e.drain(t, e.now.Add(time.Second)) // the retry of the 500 is not due yet
		requests, accepted := all.got()
		if len(requests) != 2 || requests[0].Event.Type != examgate.EventBookingCreated ||
			requests[1].Event.Booking.ID != strconv.FormatInt(bb.ID, 10) {
			// Only Bob's booking went through: Ada's events wait behind the failed one.
			t.Fatalf("before the retry: %v", types(requests))
		}
		failedAt := *e.now
		*e.now = start.Add(15 * time.Minute)
		if n, err := e.svc.SweepNoShows(ctx); err != nil || n != 1 {
			t.Fatalf("no-show sweep: %d %v", n, err)
		}
		e.drain(t, failedAt.Add(24*time.Hour))

		requests, accepted = all.got()
		ab, bbID := strconv.FormatInt(b.ID, 10), strconv.FormatInt(bb.ID, 10)
		var adas []received
		for _, r := range accepted {
			if r.Event.Booking.ID == ab {
				adas = append(adas, r)
			}
		}
		if got := types(adas); !slices.Equal(got, []string{
			"booking.created#" + ab, "booking.rescheduled#" + ab, "booking.cancelled#" + ab,
		}) {
			t.Fatalf("Ada's events in order of acceptance: %v", got)
		}
		if len(accepted) != 5 || len(requests) != 6 {
			t.Fatalf("accepted %v of requests %v", types(accepted), types(requests))
		}
		// The retry repeats the event: same id, same body, fresh signature time allowed.
		if requests[0].EventID != adas[0].EventID || string(requests[0].Body) != string(adas[0].Body) {
			t.Fatalf("retry changed the event: %s vs %s", requests[0].Body, adas[0].Body)
		}
		ids := map[string]bool{}
		for _, r := range accepted {
			if ids[r.EventID] {
				t.Fatalf("event %s delivered twice", r.EventID)
			}
			ids[r.EventID] = true
		}
		// The payload: booking as it was at each event.
		created, moved, cancelled := adas[0].Event, adas[1].Event, adas[2].Event
		if created.Booking.Status != "PENDING" || !created.Booking.StartsAt.Equal(at(2+30, 10)) ||
			created.Booking.ExamCode != "EX-1" || created.Booking.Candidate.ExternalID != "ext-0" ||
			created.Booking.Candidate.Email != "c0@example.com" || created.Result != nil {
			t.Fatalf("created = %+v", created.Booking)
		}
		if !moved.Booking.StartsAt.Equal(at(3+30, 11)) || moved.Booking.Status != "PENDING" ||
			!moved.Time.Equal(bookNow.Add(time.Minute)) {
			t.Fatalf("rescheduled = %+v at %v", moved.Booking, moved.Time)
		}
		if cancelled.Booking.Status != "CANCELLED" || !cancelled.Booking.UpdatedAt.Equal(bookNow.Add(2*time.Minute)) {
			t.Fatalf("cancelled = %+v", cancelled.Booking)
		}
		var noShow *examgate.WebhookEvent
		for _, r := range accepted {
			if r.Event.Type == examgate.EventBookingNoShow {
				noShow = &r.Event
			}
		}
		if noShow == nil || noShow.Booking.ID != bbID || noShow.Booking.Status != "NO_SHOW" || noShow.Booking.Candidate.ExternalID != "ext-1" {
			t.Fatalf("no-show event = %+v", noShow)
		}

		// The cancel-only endpoint got only the cancellation.
		_, onlyCancels := cancels.got()
		if got := types(onlyCancels); !slices.Equal(got, []string{"booking.cancelled#" + ab}) {
			t.Fatalf("cancel subscriber got %v", got)
		}
		if onlyCancels[0].EventID != cancelled.ID {
			t.Fatalf("the two endpoints got different ids for one event: %s, %s", onlyCancels[0].EventID, cancelled.ID)
		}

		// The delivery log: newest first; the created event took two attempts.
		log := e.log(t, epAll)
		if len(log) != 5 {
			t.Fatalf("log has %d deliveries", len(log))
		}
		first := log[len(log)-1]
		if first.EventType != examgate.EventBookingCreated || first.State != examgate.WebhookDelivered ||
			first.Attempts != 2 || first.LastStatus != 200 || first.LastError != "" || first.DeliveredAt == nil ||
			first.BookingID != b.ID || first.EventID != created.ID {
			t.Fatalf("first delivery = %+v", first)
		}
		for _, d := range log {
			if d.State != examgate.WebhookDelivered {
				t.Fatalf("delivery %+v", d)
			}
		}
		if got := e.log(t, epCancel); len(got) != 1 {
			t.Fatalf("cancel endpoint log = %d", len(got))
		}
	})
}

// TestWebhookEventsMatchFeed: an event's booking.updatedAt (and its time)
// is the booking's updatedAt in the GraphQL feed after that change, even
// when several changes share a clock reading (a no-show sweep, or a fixed
// clock) and the change order stamps them a microsecond apart; its status
// is spelled as the feed's.
func TestWebhookEventsMatchFeed(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		e := newHookEnv(t, store, 3)
		rc := newReceiver(t, "")
		rc.secret = e.add(t, rc.url, examgate.WebhookEventTypes...).Secret
		start := at(30, 11)
		var ids []int64
		for i, c := range e.cands {
			b, err := e.svc.Book(ctx, c, "EX-1", start, key("book", i))
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, b.ID)
		}
		feed := func() map[string]time.Time {
			out := map[string]time.Time{}
			for _, id := range ids {
				b, err := store.BookingByID(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				out[strconv.FormatInt(id, 10)] = b.UpdatedAt
			}
			return out
		}
		booked := feed()
		*e.now = start.Add(15 * time.Minute)
		if n, err := e.svc.SweepNoShows(ctx); err != nil || n != 3 {
			t.Fatalf("no-show sweep: %d %v", n, err)
		}
		missed := feed()
		e.drain(t, e.now.Add(time.Hour))
		_, accepted := rc.got()
		if len(accepted) != 6 {
			t.Fatalf("events: %v", types(accepted))
		}
		stamps := map[time.Time]bool{}
		for _, r := range accepted {
			ev := r.Event
			want, status := booked[ev.Booking.ID], "PENDING"
			if ev.Type == examgate.EventBookingNoShow {
				want, status = missed[ev.Booking.ID], "NO_SHOW"
			}
			if !ev.Booking.UpdatedAt.Equal(want) || !ev.Time.Equal(want) || ev.Booking.Status != status {
				t.Errorf("%s of booking %s: updatedAt %s, time %s, status %s; the feed says %s, %s",
					ev.Type, ev.Booking.ID, ev.Booking.UpdatedAt, ev.Time, ev.Booking.Status, want, status)
			}
			stamps[want] = true
		}
		if len(stamps) != 6 {
			t.Fatalf("the changes share updatedAt values: %v", stamps)
		}
	})
}

func TestWebhookEndpointDownForAWhile(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		e := newHookEnv(t, store, 3)
		up := newReceiver(t, "")
		down := newReceiver(t, "")
		dead := newReceiver(t, "")
		epUp := e.add(t, up.url, examgate.WebhookEventTypes...)
		epDown := e.add(t, down.url, examgate.WebhookEventTypes...)
		epDead := e.add(t, dead.url, examgate.EventBookingCreated)
		up.secret, down.secret, dead.secret = epUp.Secret, epDown.Secret, epDead.Secret

		var mu sync.Mutex
		isDown := true
		down.setAnswer(func(_ int, r received) (int, http.Header) {
			mu.Lock()
			defer mu.Unlock()
			if isDown {
				// Some bookings' events meet a 503 with Retry-After, the
				// others a 502 and the backoff.
				if id, _ := strconv.Atoi(r.Event.Booking.ID); id%2 == 1 {
					return 503, http.Header{"Retry-After": {"1200"}}
				}
				return 502, nil
			}
			return 200, nil
		})
		dead.setAnswer(func(int, received) (int, http.Header) { return 500, nil })

		// Three candidates each book, two reschedule, one cancels, while
		// the endpoint is down.
		var bookings []*examgate.Booking
		for i, c := range e.cands {
			b, err := e.svc.Book(ctx, c, "EX-1", at(2+30, 10+i), key("book", i))
			if err != nil {
				t.Fatal(err)
			}
			bookings = append(bookings, b)
		}
		for i := range 2 {
			*e.now = e.now.Add(time.Minute)
			if _, err := e.svc.Reschedule(ctx, e.cands[i], bookings[i].ID, at(3+30, 10+i), key("move", i)); err != nil {
				t.Fatal(err)
			}
		}
		*e.now = e.now.Add(time.Minute)
		if _, err := e.svc.Cancel(ctx, e.cands[0], bookings[0].ID, key("cancel")); err != nil {
			t.Fatal(err)
		}
		t0 := *e.now
		e.drain(t, t0.Add(6*time.Hour))
		if _, acc := up.got(); len(acc) != 6 {
			t.Fatalf("the healthy endpoint got %d events, want 6", len(acc))
		}
		if _, acc := down.got(); len(acc) != 0 {
			t.Fatalf("down endpoint accepted %d", len(acc))
		}
		// A 503 with Retry-After: 1200 is retried after exactly 20 minutes.
		var sawRetryAfter bool
		tried := 0
		for _, d := range e.log(t, epDown) {
			if d.LastStatus == 503 && d.NextTryAt != nil && d.LastAttemptAt != nil {
				if got := d.NextTryAt.Sub(*d.LastAttemptAt); got != 20*time.Minute {
					t.Fatalf("next try %v after a Retry-After of 1200 s", got)
				}
				sawRetryAfter = true
			}
			// The first of each booking is being retried; the others wait
			// behind it, not yet sent.
			if d.State != examgate.WebhookPending || (d.Attempts > 0) != (d.LastError != "") {
				t.Fatalf("while down: %+v", d)
			}
			if d.Attempts > 0 {
				tried++
			}
		}
		if tried != 3 {
			t.Fatalf("%d deliveries tried while down, want the first of each of the 3 bookings", tried)
		}
		if !sawRetryAfter {
			t.Fatal("no delivery waits on a Retry-After")
		}

		// Back up after six hours: everything arrives, each booking's
		// events in order.
		mu.Lock()
		isDown = false
		mu.Unlock()
		e.drain(t, t0.Add(4*24*time.Hour))
		_, acc := down.got()
		if len(acc) != 6 {
			t.Fatalf("after recovery: %v", types(acc))
		}
		_, want := up.got()
		for _, b := range bookings {
			id := strconv.FormatInt(b.ID, 10)
			var got, exp []string
			for _, r := range acc {
				if r.Event.Booking.ID == id {
					got = append(got, r.EventID)
				}
			}
			for _, r := range want {
				if r.Event.Booking.ID == id {
					exp = append(exp, r.EventID)
				}
			}
			if !slices.Equal(got, exp) {
				t.Fatalf("booking %s: got %v, want %v", id, got, exp)
			}
		}
		retried := 0
		for _, d := range e.log(t, epDown) {
			if d.State != examgate.WebhookDelivered || d.LastStatus != 200 || d.LastError != "" {
				t.Fatalf("after recovery: %+v", d)
			}
			if d.Attempts > 1 {
				retried++
			}
		}
		if retried != 3 {
			t.Fatalf("%d deliveries were retried, want the first of each booking", retried)
		}
		// The endpoint that never came back is given up on after three days.
		log := e.log(t, epDead)
		if len(log) != 3 {
			t.Fatalf("dead endpoint log = %d", len(log))
		}
		for _, d := range log {
			if d.State != examgate.WebhookFailed || !strings.Contains(d.LastError, "gave up") || d.LastStatus != 500 {
				t.Fatalf("dead endpoint delivery = %+v", d)
			}
		}
	})
}

func TestWebhookGoneDisablesEndpoint(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		e := newHookEnv(t, store, 1)
		rc := newReceiver(t, "")
		ep := e.add(t, rc.url, examgate.WebhookEventTypes...)
		rc.secret = ep.Secret
		rc.setAnswer(func(int, received) (int, http.Header) { return 410, nil })
		b, err := e.svc.Book(ctx, e.cands[0], "EX-1", at(2+30, 10), key("book"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Cancel(ctx, e.cands[0], b.ID, key("cancel")); err != nil {
			t.Fatal(err)
		}
		e.drain(t, e.now.Add(time.Hour))
		if req, _ := rc.got(); len(req) != 1 {
			t.Fatalf("after a 410, %d requests", len(req))
		}
		list, err := e.hooks.List(e.admin)
		if err != nil || len(list) != 1 || list[0].DisabledAt == nil || !strings.Contains(list[0].DisabledReason, "410") || list[0].Secret != "" {
			t.Fatalf("endpoints = %+v %v", list, err)
		}
		log := e.log(t, ep)
		if len(log) != 2 || log[0].State != examgate.WebhookFailed || !strings.Contains(log[0].LastError, "disabled") ||
			log[1].State != examgate.WebhookFailed || log[1].LastStatus != 410 {
			t.Fatalf("log = %+v, %+v", log[0], log[1])
		}
		// Later events are not fanned out to it at all.
		if _, err := e.svc.Book(ctx, e.cands[0], "EX-1", at(4+30, 10), key("book2")); err != nil {
			t.Fatal(err)
		}
		e.drain(t, e.now.Add(time.Hour))
		if got := e.log(t, ep); len(got) != 2 {
			t.Fatalf("disabled endpoint got %d deliveries", len(got))
		}
		// Removing it removes its log.
		if err := e.hooks.Remove(e.admin, ep.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := e.hooks.Deliveries(e.admin, ep.ID, 10, 0); examgate.ErrorCode(err) != examgate.ENOTFOUND {
			t.Fatalf("log of a removed endpoint: %v", err)
		}
		if err := e.hooks.Remove(e.admin, ep.ID); examgate.ErrorCode(err) != examgate.ENOTFOUND {
			t.Fatalf("second remove: %v", err)
		}
	})
}

func TestWebhookAttemptCompleted(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		e := newRDEnv(t, store, nil)
		hooks := &examgate.Webhooks{Store: store, Clock: e.clock, Logger: slog.New(slog.DiscardHandler), Sender: examgate.NewWebhookSender(true)}
		e.attempts.ResultJobs, e.attempts.ResultEvents = examgate.TIResultJobs, examgate.ResultEventJobs
		e.worker.Handle(examgate.JobWebhookEvent, hooks.HandleEvent)
		e.worker.Handle(examgate.JobWebhookDelivery, hooks.HandleDelivery)
		rc := newReceiver(t, "")
		ep, err := hooks.Add(context.Background(), rc.url, []string{examgate.EventAttemptCompleted}, "a-secret-given-by-the-partner-0123", "LMS")
		if err != nil {
			t.Fatal(err)
		}
		rc.secret = ep.Secret
		if ep.Secret != "a-secret-given-by-the-partner-0123" {
			t.Fatalf("given secret not kept: %q", ep.Secret)
		}
		l := e.learner(t, true, "")
		r := e.sit(t, l, true)
		e.drain(t)
		_, acc := rc.got()
		if len(acc) != 1 {
			t.Fatalf("got %d events", len(acc))
		}
		ev := acc[0].Event
		if ev.Type != examgate.EventAttemptCompleted || ev.Booking != nil || ev.Result == nil ||
			ev.Result.AttemptID != strconv.FormatInt(r.AttemptID, 10) || !ev.Result.Passed || ev.Result.Percent != 100 ||
			ev.Result.Score != 1 || ev.Result.MaxScore != 1 || ev.Result.Candidate.Email != l.cand.Email || ev.Result.ExamCode != rdExam ||
			!ev.Time.Equal(r.CreatedAt) {
			t.Fatalf("event = %s", acc[0].Body)
		}
		if strings.Contains(string(acc[0].Body), "Items") || strings.Contains(string(acc[0].Body), "q1") {
			t.Fatalf("the event leaks answers: %s", acc[0].Body)
		}
		// The TI result went out as before.
		if st := e.state(t, r.ID); st != examgate.DeliverySent {
			t.Fatalf("TI delivery %s", st)
		}
	})
}

func TestWebhookAdminOnlyAndInputBounds(t *testing.T) {
	store := dbtest.OpenSQLite(t)
	hooks := &examgate.Webhooks{Store: store, Clock: examgate.SystemClock{}, Sender: examgate.NewWebhookSender(true)}
	ctx := context.Background()
	admin := examgate.NewContextWithAdmin(ctx)
	// No key is UNAUTHENTICATED; a partner key without the admin scope is FORBIDDEN.
	partner := examgate.NewContextWithAPIKey(ctx, &examgate.APIKey{ID: 7, Name: "partner", Scopes: []string{examgate.ScopeBookingsRead}})
	for _, c := range []struct {
		ctx  context.Context
		want string
	}{{ctx, examgate.EUNAUTHORIZED}, {partner, examgate.EFORBIDDEN}} {
		if _, err := hooks.AddWebhook(c.ctx, "http://127.0.0.1:9/x", []string{examgate.EventBookingCreated}, "", ""); examgate.ErrorCode(err) != c.want {
			t.Fatalf("add without admin: %v", err)
		}
		if _, err := hooks.List(c.ctx); examgate.ErrorCode(err) != c.want {
			t.Fatalf("list without admin: %v", err)
		}
		if err := hooks.Remove(c.ctx, 1); examgate.ErrorCode(err) != c.want {
			t.Fatalf("remove without admin: %v", err)
		}
		if _, err := hooks.Deliveries(c.ctx, 1, 10, 0); examgate.ErrorCode(err) != c.want {
			t.Fatalf("deliveries without admin: %v", err)
		}
	}
	for name, c := range map[string]struct {
		url, secret string
		events      []string
	}{
		"unknown event":   {"http://127.0.0.1:9/x", "", []string{"booking.exploded"}},
		"no event":        {"http://127.0.0.1:9/x", "", nil},
		"short secret":    {"http://127.0.0.1:9/x", "short", []string{examgate.EventBookingCreated}},
		"secret space":    {"http://127.0.0.1:9/x", "a secret with spaces in it, long enough", []string{examgate.EventBookingCreated}},
		"long URL":        {"https://example.com/" + strings.Repeat("a", examgate.MaxWebhookURLLen), "", []string{examgate.EventBookingCreated}},
		"relative URL":    {"/hooks", "", []string{examgate.EventBookingCreated}},
		"credentials":     {"http://user:pw@127.0.0.1:9/x", "", []string{examgate.EventBookingCreated}},
		"http not local":  {"http://partner.example.com/x", "", []string{examgate.EventBookingCreated}},
		"other scheme":    {"ftp://127.0.0.1/x", "", []string{examgate.EventBookingCreated}},
		"fragment":        {"http://127.0.0.1:9/x#frag", "", []string{examgate.EventBookingCreated}},
		"javascript":      {"javascript:alert(1)", "", []string{examgate.EventBookingCreated}},
		"empty":           {"", "", []string{examgate.EventBookingCreated}},
		"secret too long": {"http://127.0.0.1:9/x", strings.Repeat("s", examgate.MaxWebhookSecretLen+1), []string{examgate.EventBookingCreated}},
	} {
		if _, err := hooks.AddWebhook(admin, c.url, c.events, c.secret, ""); examgate.ErrorCode(err) != examgate.EINVALID {
			t.Errorf("%s: %v", name, err)
		}
	}
	ep, err := hooks.AddWebhook(admin, "http://localhost:9/x", []string{" booking.created", "booking.created", "attempt.completed"}, "", "")
	if err != nil || !slices.Equal(ep.Events, []string{examgate.EventBookingCreated, examgate.EventAttemptCompleted}) {
		t.Fatalf("events = %v, %v", ep, err)
	}
	if _, err := hooks.Deliveries(admin, ep.ID+1, 10, 0); examgate.ErrorCode(err) != examgate.ENOTFOUND {
		t.Fatalf("deliveries of an unknown endpoint: %v", err)
	}
	if _, err := hooks.Deliveries(admin, ep.ID, 0, 0); examgate.ErrorCode(err) != examgate.EINVALID {
		t.Fatalf("first = 0: %v", err)
	}
}

func TestWebhookSSRFRefused(t *testing.T) {
	ctx := context.Background()
	strict := examgate.NewWebhookSender(false)
	for _, u := range []string{
		"https://127.0.0.1/hook",
		"https://localhost/hook",
		"https://[::1]/hook",
		"https://10.1.2.3/hook",
		"https://172.16.0.1/hook",
		"https://192.168.1.1/hook",
		"https://169.254.169.254/latest/meta-data",
		"https://100.64.0.1/hook",
		"https://0.0.0.0/hook",
		"https://[::ffff:127.0.0.1]/hook",
		"https://[fd00::1]/hook",
		"https://[fe80::1]/hook",
		"https://224.0.0.1/hook",
		"https://[::10.0.0.1]/hook",       // IPv4-compatible
		"https://[2002:7f00:1::1]/hook",   // 6to4 of 127.0.0.1
		"https://[2001:0:7f00:1::1]/hook", // Teredo
		"https://[fec0::1]/hook",          // site-local
		"https://[100::1]/hook",           // discard-only
		"http://127.0.0.1/hook",           // and http is refused without the flag
	} {
		if _, err := strict.CheckURL(ctx, u); examgate.ErrorCode(err) != examgate.EINVALID {
			t.Errorf("%s accepted: %v", u, err)
		}
	}
	// A public address passes without a DNS lookup.
	if got, err := strict.CheckURL(ctx, "https://93.184.215.14:8443/hooks?src=examgate"); err != nil || got != "https://93.184.215.14:8443/hooks?src=examgate" {
		t.Fatalf("public address: %q %v", got, err)
	}
	for _, u := range []string{"https://[2001:4860:4860::8888]/hook", "https://[2606:4700::1111]/hook"} {
		if _, err := strict.CheckURL(ctx, u); err != nil {
			t.Errorf("public IPv6 address %s refused: %v", u, err)
		}
	}

	// An endpoint registered while private addresses were allowed, or a
	// name re-pointed after registration, is refused when connecting.
	var hits int
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits++
		mu.Unlock()
	}))
	defer srv.Close()
	out := strict.Send(ctx, srv.URL, []string{"secret"}, "evt_1", []byte(`{}`), time.Now())
	if out.Err == nil || out.Status != 0 || !strings.Contains(out.Err.Error(), "non-public address") {
		t.Fatalf("send to loopback: %+v", out)
	}
	mu.Lock()
	defer mu.Unlock()
	if hits != 0 {
		t.Fatalf("the loopback server was reached %d times", hits)
	}
}

func TestWebhookSenderAnswers(t *testing.T) {
	var redirected bool
	var mu sync.Mutex
	mux := http.NewServeMux()
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	})
	mux.HandleFunc("/elsewhere", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		redirected = true
		mu.Unlock()
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(500)
		w.Write([]byte(strings.Repeat("x", 1<<20)))
	})
	mux.HandleFunc("/date", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "Tue, 01 Dec 2026 10:05:00 GMT")
		w.WriteHeader(429)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	s := examgate.NewWebhookSender(true)
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	ctx := context.Background()

	out := s.Send(ctx, srv.URL+"/redirect", []string{"k"}, "evt", []byte(`{}`), now)
	if out.Status != 302 || out.Err == nil || !strings.Contains(out.Err.Error(), "not followed") {
		t.Fatalf("redirect: %+v", out)
	}
	mu.Lock()
	if redirected {
		t.Fatal("the redirect was followed")
	}
	mu.Unlock()
	out = s.Send(ctx, srv.URL+"/big", []string{"k"}, "evt", []byte(`{}`), now)
	if out.Status != 500 || len(out.Err.Error()) > 300 {
		t.Fatalf("big error body: %d, %d bytes of error", out.Status, len(out.Err.Error()))
	}
	out = s.Send(ctx, srv.URL+"/date", []string{"k"}, "evt", []byte(`{}`), now)
	if out.Status != 429 || out.RetryAfter != 5*time.Minute {
		t.Fatalf("Retry-After date: %+v", out)
	}
}

// TestWebhookErrorHidesURLPathAndQuery: a token in the endpoint's path
// (Slack-style) or query never reaches the stored error or the logs.
func TestWebhookErrorHidesURLPathAndQuery(t *testing.T) {
	ctx := context.Background()
	for _, s := range []*examgate.WebhookSender{examgate.NewWebhookSender(false), examgate.NewWebhookSender(true)} {
		// Port 1 on loopback: refused by the strict sender, nothing listens for the other.
		endpoint := "http://127.0.0.1:1/services/T000/B000/pathSECRET?token=querySECRET"
		out := s.Send(ctx, endpoint, []string{"k"}, "evt", []byte(`{}`), time.Now())
		if out.Err == nil {
			t.Fatalf("send to a closed port succeeded: %+v", out)
		}
		msg := out.Err.Error()
		if strings.Contains(msg, "SECRET") || strings.Contains(msg, "/services") || !strings.Contains(msg, "http://127.0.0.1:1") {
			t.Fatalf("error: %s", msg)
		}
	}
}

func TestSignWebhook(t *testing.T) {
	body := []byte(`{"id":"evt_1"}`)
	at := time.Unix(1700000000, 0)
	got := examgate.SignWebhook("whsec_test", at, body)
	mac := hmac.New(sha256.New, []byte("whsec_test"))
	mac.Write([]byte("1700000000." + string(body)))
	if want := "t=1700000000,v1=" + hex.EncodeToString(mac.Sum(nil)); got != want {
		t.Fatalf("signature %s, want %s", got, want)
	}
	if !validSignature("whsec_test", got, body) || validSignature("whsec_other", got, body) ||
		validSignature("whsec_test", got, []byte(`{"id":"evt_2"}`)) {
		t.Fatal("signature check does not tell right from wrong")
	}
}
