package examgate

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Webhook event types a partner may subscribe to.
const (
	EventBookingCreated     = "booking.created"
	EventBookingRescheduled = "booking.rescheduled"
	EventBookingCancelled   = "booking.cancelled"
	EventBookingNoShow      = "booking.no_show"
	EventAttemptCompleted   = "attempt.completed"
)

// WebhookEventTypes lists every event type, in documentation order.
var WebhookEventTypes = []string{
	EventBookingCreated, EventBookingRescheduled, EventBookingCancelled,
	EventBookingNoShow, EventAttemptCompleted,
}

// Job kinds of webhooks. A change enqueues one JobWebhookEvent in its
// transaction, keyed per candidate so that one person's events are fanned
// out in the order they happened; its handler writes one delivery (log row
// and JobWebhookDelivery) per subscribed endpoint, keyed per endpoint and
// booking, so that a booking's events reach each endpoint in order while a
// slow or dead endpoint holds back nobody else.
const (
	JobWebhookEvent    = "webhook.event"
	JobWebhookDelivery = "webhook.delivery"
)

// Webhook delivery states as the log shows them.
const (
	WebhookPending   = "pending"   // waiting for its first or next attempt
	WebhookDelivered = "delivered" // the endpoint answered 2xx
	WebhookFailed    = "failed"    // given up: 410 Gone, endpoint disabled, or 3 days of failures
)

// Limits on what an admin registers.
const (
	MaxWebhookURLLen    = 2000
	MinWebhookSecretLen = 24
	MaxWebhookSecretLen = 200
	MaxWebhookDescLen   = 200
	maxWebhookEndpoints = 100
)

// WebhookEndpoint is a partner's receiver of events.
type WebhookEndpoint struct {
	ID          int64
	URL         string
	Secret      string // signs deliveries; returned only when the endpoint is added
	Events      []string
	Description string
	// DisabledAt is set when the receiver answered 410 Gone: no more events
	// are sent until it is added again.
	DisabledAt     *time.Time
	DisabledReason string
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Subscribed reports whether the endpoint wants events of type typ.
func (e *WebhookEndpoint) Subscribed(typ string) bool { return slices.Contains(e.Events, typ) }

// WebhookDelivery is one event on its way to one endpoint: a row of the
// delivery log.
type WebhookDelivery struct {
	ID            int64
	EndpointID    int64
	EventID       string
	EventType     string
	BookingID     int64 // 0 for an attempt without a booking
	State         string
	Attempts      int    // HTTP requests made
	LastStatus    int    // HTTP status of the last attempt; 0 when none answered
	LastError     string // why the last attempt failed; empty after success
	CreatedAt     time.Time
	LastAttemptAt *time.Time
	DeliveredAt   *time.Time
	NextTryAt     *time.Time // while pending
	JobID         int64
}

// WebhookEvent is an event as partners receive it: the JSON body of a
// delivery.
type WebhookEvent struct {
	ID      string               `json:"id"`
	Type    string               `json:"type"`
	Time    time.Time            `json:"time"`
	Booking *WebhookEventBooking `json:"booking"`
	Result  *WebhookEventResult  `json:"result,omitempty"`
}

// WebhookEventBooking is the booking an event is about, as it was when the
// event happened.
type WebhookEventBooking struct {
	ID        string                `json:"id"`
	ExamCode  string                `json:"examCode"`
	Candidate WebhookEventCandidate `json:"candidate"`
	Status    string                `json:"status"`
	StartsAt  time.Time             `json:"startsAt"`
	EndsAt    time.Time             `json:"endsAt"`
	UpdatedAt time.Time             `json:"updatedAt"`
}

// WebhookBookingStatus spells a booking's status as the GraphQL API's
// BookingStatus enum does (NO_SHOW, not no_show), so that an event and the
// feed can be compared as they are.
func WebhookBookingStatus(s BookingStatus) string { return strings.ToUpper(string(s)) }

// WebhookEventCandidate identifies the person booked.
type WebhookEventCandidate struct {
	ExternalID string `json:"externalId"`
	Email      string `json:"email"`
}

// WebhookEventResult is the outcome of attempt.completed.
type WebhookEventResult struct {
	AttemptID string  `json:"attemptId"`
	ExamCode  string  `json:"examCode"`
	Score     float64 `json:"score"`
	MaxScore  float64 `json:"maxScore"`
	Percent   float64 `json:"percent"`
	PassMark  float64 `json:"passMark"`
	Passed    bool    `json:"passed"`
	// Candidate is set here too, because an on-demand exam has no booking.
	Candidate   WebhookEventCandidate `json:"candidate"`
	CompletedAt time.Time             `json:"completedAt"`
}

// webhookEventJob is the payload of JobWebhookEvent: what is known inside
// the transaction of the change. The candidate is looked up when the event
// is fanned out.
type webhookEventJob struct {
	ID          string    `json:"id"`
	Type        string    `json:"type"`
	Time        time.Time `json:"time"`
	CandidateID int64     `json:"candidateId"`
	Booking     *Booking  `json:"booking,omitempty"`
	// For attempt.completed.
	Result *Result `json:"result,omitempty"`
}

// WebhookDeliveryJob is the payload of JobWebhookDelivery.
type WebhookDeliveryJob struct {
	DeliveryID int64 `json:"deliveryId"`
}

// WebhookStore is the persistence webhooks need.
type WebhookStore interface {
	AddWebhookEndpoint(ctx context.Context, e *WebhookEndpoint) (*WebhookEndpoint, error)
	// WebhookEndpoints lists endpoints without their secrets.
	WebhookEndpoints(ctx context.Context) ([]*WebhookEndpoint, error)
	// WebhookEndpoint returns one endpoint with its secret, or NotFound.
	WebhookEndpoint(ctx context.Context, id int64) (*WebhookEndpoint, error)
	// RemoveWebhookEndpoint deletes an endpoint with its delivery log; its
	// queued deliveries find nothing to send.
	RemoveWebhookEndpoint(ctx context.Context, id int64) error
	DisableWebhookEndpoint(ctx context.Context, id int64, reason string, now time.Time) error
	// FanOutWebhookEvent writes, in one transaction, a delivery and its job
	// for each endpoint in endpointIDs that has none yet for the event, and
	// returns how many it wrote.
	FanOutWebhookEvent(ctx context.Context, endpointIDs []int64, eventID, eventType string, bookingID int64, jobKey func(endpointID int64) string, body []byte, now time.Time) (int, error)
	// WebhookDelivery returns a delivery with its body, or NotFound.
	WebhookDelivery(ctx context.Context, id int64) (*WebhookDelivery, []byte, error)
	// RecordWebhookAttempt notes the outcome of one HTTP attempt.
	RecordWebhookAttempt(ctx context.Context, id int64, status int, errMsg string, delivered bool, now time.Time) error
	// WebhookDeliveries lists an endpoint's deliveries newest first, those
	// with an id below beforeID when it is not 0.
	WebhookDeliveries(ctx context.Context, endpointID, beforeID int64, limit int) ([]*WebhookDelivery, error)
	CandidateByID(ctx context.Context, id int64) (*Candidate, error)
	AttemptByID(ctx context.Context, id int64) (*Attempt, error)
	BookingByID(ctx context.Context, id int64) (*Booking, error)
}

// Webhooks registers partner endpoints and delivers events to them.
type Webhooks struct {
	Store  WebhookStore
	Clock  Clock
	Logger *slog.Logger
	Sender *WebhookSender
	// Wake, when set, tells this process's worker that jobs were enqueued.
	Wake func()
}

// AddWebhook registers an endpoint, for admins. An empty secret makes one;
// either way the returned endpoint carries it, and nothing shows it again.
func (w *Webhooks) AddWebhook(ctx context.Context, rawURL string, events []string, secret, description string) (*WebhookEndpoint, error) {
	if err := RequireAdmin(ctx); err != nil {
		return nil, err
	}
	return w.Add(ctx, rawURL, events, secret, description)
}

// Add registers an endpoint; the caller is the operator (the command line).
func (w *Webhooks) Add(ctx context.Context, rawURL string, events []string, secret, description string) (*WebhookEndpoint, error) {
	u, err := w.Sender.CheckURL(ctx, rawURL)
	if err != nil {
		return nil, err
	}
	evs, err := parseEventTypes(events)
	if err != nil {
		return nil, err
	}
	if secret == "" {
		secret = NewWebhookSecret()
	} else if err := checkSecret(secret); err != nil {
		return nil, err
	}
	if len(description) > MaxWebhookDescLen {
		return nil, Errorf(EINVALID, "The description is longer than %d characters; shorten it.", MaxWebhookDescLen)
	}
	existing, err := w.Store.WebhookEndpoints(ctx)
	if err != nil {
		return nil, err
	}
	if len(existing) >= maxWebhookEndpoints {
		return nil, Errorf(EINVALID, "There are already %d webhook endpoints; remove one first.", maxWebhookEndpoints)
	}
	now := w.Clock.Now()
	return w.Store.AddWebhookEndpoint(ctx, &WebhookEndpoint{
		URL: u, Secret: secret, Events: evs, Description: description, CreatedAt: now, UpdatedAt: now,
	})
}

// List returns the endpoints without secrets, for admins.
func (w *Webhooks) List(ctx context.Context) ([]*WebhookEndpoint, error) {
	if err := RequireAdmin(ctx); err != nil {
		return nil, err
	}
	return w.Store.WebhookEndpoints(ctx)
}

// Remove deletes an endpoint and its delivery log, for admins.
func (w *Webhooks) Remove(ctx context.Context, id int64) error {
	if err := RequireAdmin(ctx); err != nil {
		return err
	}
	return w.Store.RemoveWebhookEndpoint(ctx, id)
}

// Deliveries lists an endpoint's delivery log newest first, for admins.
// first may be one more than a page, to tell whether another follows.
func (w *Webhooks) Deliveries(ctx context.Context, endpointID int64, first int, beforeID int64) ([]*WebhookDelivery, error) {
	if err := RequireAdmin(ctx); err != nil {
		return nil, err
	}
	if first < 1 || first > 201 {
		return nil, Errorf(EINVALID, "first must be between 1 and 200.")
	}
	if _, err := w.Store.WebhookEndpoint(ctx, endpointID); err != nil {
		if ErrorCode(err) == ENOTFOUND {
			return nil, Errorf(ENOTFOUND, "No webhook endpoint with id %d.", endpointID)
		}
		return nil, err
	}
	return w.Store.WebhookDeliveries(ctx, endpointID, beforeID, first)
}

// NewWebhookSecret returns a random signing secret.
func NewWebhookSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return "whsec_" + base64.RawURLEncoding.EncodeToString(b)
}

func checkSecret(s string) error {
	if len(s) < MinWebhookSecretLen || len(s) > MaxWebhookSecretLen {
		return Errorf(EINVALID, "The secret must be %d to %d characters; leave it out to have one made for you.", MinWebhookSecretLen, MaxWebhookSecretLen)
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return Errorf(EINVALID, "The secret must be printable ASCII without spaces; leave it out to have one made for you.")
		}
	}
	return nil
}

func parseEventTypes(events []string) ([]string, error) {
	var out []string
	for _, e := range events {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		if !slices.Contains(WebhookEventTypes, e) {
			return nil, Errorf(EINVALID, "%q is not an event type; use any of %s.", truncateForMessage(e), strings.Join(WebhookEventTypes, ", "))
		}
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	if len(out) == 0 {
		return nil, Errorf(EINVALID, "Subscribe to at least one event: %s.", strings.Join(WebhookEventTypes, ", "))
	}
	return out, nil
}

// SignWebhook returns the X-Examgate-Signature value of a body sent at t:
// the HMAC-SHA256, keyed with the secret, of "<unix seconds>.<body>".
func SignWebhook(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// newEventID makes an event id: random, so that receivers can use it as a
// deduplication key, and fixed in the job so that retries repeat it.
func newEventID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "evt_" + hex.EncodeToString(b)
}

// eventJob is the JobWebhookEvent announcing an event.
func eventJob(p webhookEventJob) (Job, error) {
	payload, err := json.Marshal(p)
	if err != nil {
		return Job{}, err
	}
	return Job{Kind: JobWebhookEvent, Payload: payload, Key: fmt.Sprintf("webhook:candidate:%d", p.CandidateID)}, nil
}

// BookingEventJobs is Bookings.Events: the job announcing a booking event,
// enqueued in the transaction of the change.
func BookingEventJobs(event string, b *Booking) ([]Job, error) {
	j, err := eventJob(webhookEventJob{ID: newEventID(), Type: event, Time: b.UpdatedAt.UTC(), CandidateID: b.CandidateID, Booking: b})
	if err != nil {
		return nil, err
	}
	return []Job{j}, nil
}

// ResultEventJobs is Attempts.ResultEvents: the job announcing
// attempt.completed, enqueued in the transaction that stores the result.
func ResultEventJobs(r *Result) ([]Job, error) {
	res := *r
	res.Items = nil // partners get the score, not the answers
	j, err := eventJob(webhookEventJob{ID: newEventID(), Type: EventAttemptCompleted, Time: r.CreatedAt.UTC(), CandidateID: r.CandidateID, Result: &res})
	if err != nil {
		return nil, err
	}
	return []Job{j}, nil
}

// HandleEvent is the JobWebhookEvent handler: it builds the event's body
// once and writes a delivery for every endpoint subscribed to its type. Run
// twice, it writes nothing new.
func (w *Webhooks) HandleEvent(ctx context.Context, job *QueuedJob) error {
	var p webhookEventJob
	if err := json.Unmarshal(job.Payload, &p); err != nil || p.ID == "" {
		return Permanent(fmt.Errorf("webhook event job %d: bad payload", job.ID))
	}
	endpoints, err := w.Store.WebhookEndpoints(ctx)
	if err != nil {
		return err
	}
	var ids []int64
	for _, e := range endpoints {
		if e.DisabledAt == nil && e.Subscribed(p.Type) {
			ids = append(ids, e.ID)
		}
	}
	if len(ids) == 0 {
		return nil // nobody listens; an endpoint added later starts with later events
	}
	cand, err := w.Store.CandidateByID(ctx, p.CandidateID)
	if err != nil {
		return err
	}
	who := WebhookEventCandidate{ExternalID: cand.ExternalID, Email: cand.Email}
	ev := WebhookEvent{ID: p.ID, Type: p.Type, Time: p.Time}
	b := p.Booking
	if r := p.Result; r != nil {
		ev.Result = &WebhookEventResult{
			AttemptID: strconv.FormatInt(r.AttemptID, 10), ExamCode: r.ExamCode,
			Score: r.Points, MaxScore: r.MaxPoints, Percent: r.Percent, PassMark: r.PassMark, Passed: r.Passed,
			Candidate: who, CompletedAt: r.CreatedAt.UTC(),
		}
		a, err := w.Store.AttemptByID(ctx, r.AttemptID)
		if err != nil {
			return err
		}
		if a.BookingID != 0 {
			// Completed in the result's transaction and final since.
			if b, err = w.Store.BookingByID(ctx, a.BookingID); err != nil {
				return err
			}
		}
	}
	var bookingID int64
	if b != nil {
		bookingID = b.ID
		ev.Booking = &WebhookEventBooking{
			ID: strconv.FormatInt(b.ID, 10), ExamCode: b.ExamCode, Candidate: who, Status: WebhookBookingStatus(b.Status),
			StartsAt: b.StartsAt.UTC(), EndsAt: b.EndsAt.UTC(), UpdatedAt: b.UpdatedAt.UTC(),
		}
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return Permanent(err)
	}
	key := func(endpointID int64) string {
		if bookingID != 0 {
			return fmt.Sprintf("webhook:%d:booking:%d", endpointID, bookingID)
		}
		return fmt.Sprintf("webhook:%d:candidate:%d", endpointID, p.CandidateID)
	}
	n, err := w.Store.FanOutWebhookEvent(ctx, ids, p.ID, p.Type, bookingID, key, body, w.Clock.Now())
	if err != nil {
		return err
	}
	if n > 0 && w.Wake != nil {
		w.Wake()
	}
	return nil
}

// HandleDelivery is the JobWebhookDelivery handler: one signed POST.
func (w *Webhooks) HandleDelivery(ctx context.Context, job *QueuedJob) error {
	var p WebhookDeliveryJob
	if err := json.Unmarshal(job.Payload, &p); err != nil || p.DeliveryID == 0 {
		return Permanent(fmt.Errorf("webhook delivery job %d: bad payload", job.ID))
	}
	d, body, err := w.Store.WebhookDelivery(ctx, p.DeliveryID)
	if ErrorCode(err) == ENOTFOUND {
		return nil // the endpoint was removed with its log
	}
	if err != nil {
		return err
	}
	if d.DeliveredAt != nil {
		return nil // delivered before a crash kept the job from finishing
	}
	ep, err := w.Store.WebhookEndpoint(ctx, d.EndpointID)
	if ErrorCode(err) == ENOTFOUND {
		return nil
	}
	if err != nil {
		return err
	}
	if ep.DisabledAt != nil {
		// Not sent; the log shows the job's error as the reason.
		return Permanent(fmt.Errorf("not sent: endpoint %d is disabled (%s); add it again to receive events", ep.ID, ep.DisabledReason))
	}
	out := w.Sender.Send(ctx, ep.URL, ep.Secret, d.EventID, body, w.Clock.Now())
	now := w.Clock.Now()
	if err := w.Store.RecordWebhookAttempt(ctx, d.ID, out.Status, out.errText(), out.Err == nil, now); err != nil {
		return err
	}
	switch {
	case out.Err == nil:
		return nil
	case out.Status == 410:
		// The receiver says it is gone for good: stop sending it anything.
		reason := fmt.Sprintf("answered 410 Gone at %s", now.Format(time.RFC3339))
		if err := w.Store.DisableWebhookEndpoint(ctx, ep.ID, reason, now); err != nil {
			return err
		}
		w.logger().WarnContext(ctx, "webhook endpoint disabled", "endpoint", ep.ID, "reason", reason)
		return Permanent(fmt.Errorf("webhook delivery %d: endpoint %d %s and was disabled", d.ID, ep.ID, reason))
	case out.RetryAfter > 0:
		return RetryAfter(out.RetryAfter, fmt.Errorf("webhook delivery %d to endpoint %d: %w", d.ID, ep.ID, out.Err))
	default:
		return fmt.Errorf("webhook delivery %d to endpoint %d: %w", d.ID, ep.ID, out.Err)
	}
}

func (w *Webhooks) logger() *slog.Logger {
	if w.Logger == nil {
		return slog.Default()
	}
	return w.Logger
}
