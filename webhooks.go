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
	EventBookingStarted     = "booking.started"
	EventAttemptCompleted   = "attempt.completed"
	// EventPing is sent on demand to one endpoint (Webhooks.Ping), whatever
	// it subscribed to; it is not an event type to subscribe to.
	EventPing = "ping"
)

// WebhookEventTypes lists every event type, in documentation order.
var WebhookEventTypes = []string{
	EventBookingCreated, EventBookingRescheduled, EventBookingCancelled,
	EventBookingNoShow, EventBookingStarted, EventAttemptCompleted,
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
	maxEndpointsPerKey  = 10 // of a partner's key (webhooks:manage)
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
	// PreviousSecret, after a rotation, also signs deliveries until
	// PreviousSecretUntil, so that the receiver can switch without a gap.
	// Like Secret, it is read only to sign.
	PreviousSecret      string
	PreviousSecretUntil *time.Time
	// OwnerKeyID is the API key (with ScopeWebhooksManage) that registered
	// the endpoint and may manage it; 0 for the operator's. OwnerRevoked:
	// that key was revoked, and the endpoint gets nothing more.
	OwnerKeyID   int64
	OwnerRevoked bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// signingSecrets returns the secrets a delivery sent at now is signed
// with: the current one, and the previous one during its overlap.
func (e *WebhookEndpoint) signingSecrets(now time.Time) []string {
	out := []string{e.Secret}
	if e.PreviousSecret != "" && e.PreviousSecretUntil != nil && now.Before(*e.PreviousSecretUntil) {
		out = append(out, e.PreviousSecret)
	}
	return out
}

// Subscribed reports whether the endpoint wants events of type typ.
func (e *WebhookEndpoint) Subscribed(typ string) bool { return slices.Contains(e.Events, typ) }

// WebhookDelivery is one event on its way to one endpoint: a row of the
// delivery log.
type WebhookDelivery struct {
	ID         int64
	EndpointID int64
	EventID    string
	EventType  string
	BookingID  int64 // 0 for an attempt without a booking
	State      string
	Attempts   int    // HTTP requests made
	LastStatus int    // HTTP status of the last attempt; 0 when none answered
	LastError  string // why the last attempt failed; empty after success
	// LastLatency is how long the last attempt took, from sending to the
	// end of the answer's headers (or the failure).
	LastLatency time.Duration
	// LastResponse is the start (MaxWebhookResponseKept bytes) of the
	// receiver's answer to the last attempt.
	LastResponse  string
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

// RedeliveryFilter selects the deliveries to send again.
type RedeliveryFilter struct {
	DeliveryID   int64 // one delivery; or all of:
	EndpointID   int64
	Since, Until time.Time
	Limit        int
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
	RecordWebhookAttempt(ctx context.Context, id int64, out WebhookOutcome, now time.Time) error
	// EnableWebhookEndpoint clears an endpoint's disabled mark.
	EnableWebhookEndpoint(ctx context.Context, id int64, now time.Time) error
	// RotateWebhookSecret makes secret the endpoint's, keeping the one it
	// replaces as the previous secret until previousUntil.
	RotateWebhookSecret(ctx context.Context, id int64, secret string, previousUntil, now time.Time) error
	// AddWebhookPing writes a delivery without a job, for Ping to send.
	AddWebhookPing(ctx context.Context, endpointID int64, eventID string, body []byte, now time.Time) (*WebhookDelivery, error)
	// RedeliverWebhooks queues again, in one transaction and in the order
	// they were made, the deliveries f selects (a new job each, keyed by
	// jobKey), and returns them. f.DeliveryID selects one delivered or
	// failed delivery; otherwise the failed ones of f.EndpointID made in
	// [f.Since, f.Until), at most f.Limit.
	RedeliverWebhooks(ctx context.Context, f RedeliveryFilter, jobKey func(*WebhookDelivery) string, now time.Time) ([]*WebhookDelivery, error)
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

// webhookAccess is who may manage which endpoints: an admin key every
// one, a key with ScopeWebhooksManage those it registered.
type webhookAccess struct {
	all   bool
	owner *APIKey
}

// accessOf tells which endpoints the request's key may manage.
func accessOf(ctx context.Context) (webhookAccess, error) {
	k := APIKeyFromContext(ctx)
	switch {
	case k == nil:
		return webhookAccess{}, Errorf(EUNAUTHORIZED, "This needs an API key with the %s or %s scope: send it as Authorization: Bearer <key>.", ScopeAdmin, ScopeWebhooksManage)
	case k.Has(ScopeAdmin):
		return webhookAccess{all: true}, nil
	case k.Has(ScopeWebhooksManage) && k.ID != 0:
		return webhookAccess{owner: k}, nil
	}
	return webhookAccess{}, Errorf(EFORBIDDEN, "This API key (%s) lacks the %s scope; it has %s. Ask the examgate operator for a key with it.",
		k.Name, ScopeWebhooksManage, strings.Join(k.Scopes, ", "))
}

func (a webhookAccess) may(e *WebhookEndpoint) bool {
	return a.all || a.owner != nil && e.OwnerKeyID == a.owner.ID
}

// eventScopes are the read scopes a partner's key needs to subscribe to
// an event: an event carries what those scopes read.
func eventScopes(event string) []string {
	switch event {
	case EventAttemptCompleted:
		return []string{ScopeBookingsRead, ScopeResultsRead}
	default:
		return []string{ScopeBookingsRead}
	}
}

// AddWebhook registers an endpoint: with an admin key, the operator's;
// with a webhooks:manage key, that key's, for events whose data the key
// may read. An empty secret makes one; either way the returned endpoint
// carries it, and nothing shows it again.
func (w *Webhooks) AddWebhook(ctx context.Context, rawURL string, events []string, secret, description string) (*WebhookEndpoint, error) {
	a, err := accessOf(ctx)
	if err != nil {
		return nil, err
	}
	var owner int64
	if !a.all {
		owner = a.owner.ID
		for _, e := range events {
			for _, sc := range eventScopes(strings.TrimSpace(e)) {
				if !a.owner.Has(sc) {
					return nil, Errorf(EFORBIDDEN, "%s events carry what the %s scope reads, which this API key (%s) lacks.", truncateForMessage(e), sc, a.owner.Name)
				}
			}
		}
	}
	return w.add(ctx, owner, rawURL, events, secret, description)
}

// Add registers an endpoint; the caller is the operator (the command line).
func (w *Webhooks) Add(ctx context.Context, rawURL string, events []string, secret, description string) (*WebhookEndpoint, error) {
	return w.add(ctx, 0, rawURL, events, secret, description)
}

func (w *Webhooks) add(ctx context.Context, owner int64, rawURL string, events []string, secret, description string) (*WebhookEndpoint, error) {
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
	if owner != 0 && len(slices.DeleteFunc(existing, func(e *WebhookEndpoint) bool { return e.OwnerKeyID != owner })) >= maxEndpointsPerKey {
		return nil, Errorf(EINVALID, "This API key has registered %d webhook endpoints already; remove one first.", maxEndpointsPerKey)
	}
	now := w.Clock.Now()
	return w.Store.AddWebhookEndpoint(ctx, &WebhookEndpoint{
		URL: u, Secret: secret, Events: evs, Description: description, CreatedAt: now, UpdatedAt: now, OwnerKeyID: owner,
	})
}

// List returns the endpoints the key may manage, without secrets.
func (w *Webhooks) List(ctx context.Context) ([]*WebhookEndpoint, error) {
	a, err := accessOf(ctx)
	if err != nil {
		return nil, err
	}
	all, err := w.Store.WebhookEndpoints(ctx)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, e := range all {
		if a.may(e) {
			out = append(out, e)
		}
	}
	return out, nil
}

// Remove deletes an endpoint and its delivery log.
func (w *Webhooks) Remove(ctx context.Context, id int64) error {
	if _, err := w.endpoint(ctx, id); err != nil {
		return err
	}
	return w.Store.RemoveWebhookEndpoint(ctx, id)
}

// Deliveries lists an endpoint's delivery log newest first. first may be
// one more than a page, to tell whether another follows.
func (w *Webhooks) Deliveries(ctx context.Context, endpointID int64, first int, beforeID int64) ([]*WebhookDelivery, error) {
	if _, err := w.endpoint(ctx, endpointID); err != nil {
		return nil, err
	}
	if first < 1 || first > 201 {
		return nil, Errorf(EINVALID, "first must be between 1 and 200.")
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
// the HMAC-SHA256, keyed with the secret, of "<unix seconds>.<body>", and
// one more v1 for each of more (the previous secret while a rotation
// overlaps).
func SignWebhook(secret string, t time.Time, body []byte, more ...string) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	h := "t=" + ts
	for _, s := range append([]string{secret}, more...) {
		mac := hmac.New(sha256.New, []byte(s))
		mac.Write([]byte(ts))
		mac.Write([]byte{'.'})
		mac.Write(body)
		h += ",v1=" + hex.EncodeToString(mac.Sum(nil))
	}
	return h
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
		if e.DisabledAt == nil && !e.OwnerRevoked && e.Subscribed(p.Type) {
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
			return bookingDeliveryKey(endpointID, bookingID)
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
		return Permanent(fmt.Errorf("not sent: endpoint %d is disabled (%s); enable it to receive events", ep.ID, ep.DisabledReason))
	}
	if ep.OwnerRevoked {
		return Permanent(fmt.Errorf("not sent: the API key that registered endpoint %d was revoked", ep.ID))
	}
	sent := w.Clock.Now()
	out := w.Sender.Send(ctx, ep.URL, ep.signingSecrets(sent), d.EventID, body, sent)
	now := w.Clock.Now()
	if err := w.Store.RecordWebhookAttempt(ctx, d.ID, out, now); err != nil {
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

// bookingDeliveryKey is the ordering key of the deliveries of one
// booking's events to one endpoint: they go out one at a time, in order.
func bookingDeliveryKey(endpointID, bookingID int64) string {
	return fmt.Sprintf("webhook:%d:booking:%d", endpointID, bookingID)
}

// endpoint returns an endpoint the request's key may manage, with its
// secrets; another's is not found, as if it did not exist.
func (w *Webhooks) endpoint(ctx context.Context, id int64) (*WebhookEndpoint, error) {
	a, err := accessOf(ctx)
	if err != nil {
		return nil, err
	}
	ep, err := w.Store.WebhookEndpoint(ctx, id)
	if ErrorCode(err) == ENOTFOUND || err == nil && !a.may(ep) {
		return nil, Errorf(ENOTFOUND, "No webhook endpoint with id %d.", id)
	}
	return ep, err
}

// Enable sends events to an endpoint that was disabled (by a 410 Gone)
// again, with the secret it had. Deliveries given up on meanwhile stay
// failed: RedeliverFailed sends them.
func (w *Webhooks) Enable(ctx context.Context, id int64) (*WebhookEndpoint, error) {
	if _, err := w.endpoint(ctx, id); err != nil {
		return nil, err
	}
	if err := w.Store.EnableWebhookEndpoint(ctx, id, w.Clock.Now()); err != nil {
		return nil, err
	}
	return w.endpoint(ctx, id)
}

// MaxSecretOverlap bounds how long a rotated secret keeps signing.
const MaxSecretOverlap = 7 * 24 * time.Hour

// RotateSecret gives an endpoint a new secret (made when secret is empty)
// and keeps signing with the old one as well for overlap, so that the
// receiver can deploy the new one while requests still verify with the
// old: each request carries a v1 signature for each. The returned endpoint
// carries the new secret, which nothing shows again.
func (w *Webhooks) RotateSecret(ctx context.Context, id int64, secret string, overlap time.Duration) (*WebhookEndpoint, error) {
	ep, err := w.endpoint(ctx, id)
	if err != nil {
		return nil, err
	}
	if overlap < 0 || overlap > MaxSecretOverlap {
		return nil, Errorf(EINVALID, "The overlap must be between 0 and %d hours.", int(MaxSecretOverlap.Hours()))
	}
	if secret == "" {
		secret = NewWebhookSecret()
	} else if err := checkSecret(secret); err != nil {
		return nil, err
	}
	if secret == ep.Secret {
		return nil, Errorf(EINVALID, "The new secret is the one the endpoint has; give another or leave it out to have one made.")
	}
	now := w.Clock.Now()
	if err := w.Store.RotateWebhookSecret(ctx, id, secret, now.Add(overlap), now); err != nil {
		return nil, err
	}
	if ep, err = w.endpoint(ctx, id); err != nil {
		return nil, err
	}
	return ep, nil
}

// Ping sends a ping event to an endpoint now, whatever it subscribed to and
// even when it is disabled, signed as every delivery is, and returns its
// delivery with the outcome. It is not retried.
func (w *Webhooks) Ping(ctx context.Context, id int64) (*WebhookDelivery, error) {
	ep, err := w.endpoint(ctx, id)
	if err != nil {
		return nil, err
	}
	now := w.Clock.Now()
	ev := WebhookEvent{ID: newEventID(), Type: EventPing, Time: now.UTC()}
	body, err := json.Marshal(ev)
	if err != nil {
		return nil, err
	}
	d, err := w.Store.AddWebhookPing(ctx, ep.ID, ev.ID, body, now)
	if err != nil {
		return nil, err
	}
	out := w.Sender.Send(ctx, ep.URL, ep.signingSecrets(now), ev.ID, body, now)
	if err := w.Store.RecordWebhookAttempt(ctx, d.ID, out, w.Clock.Now()); err != nil {
		return nil, err
	}
	return w.delivery(ctx, ep.ID, d.ID)
}

// delivery returns one delivery of the log, with its state.
func (w *Webhooks) delivery(ctx context.Context, endpointID, id int64) (*WebhookDelivery, error) {
	list, err := w.Store.WebhookDeliveries(ctx, endpointID, id+1, 1)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 || list[0].ID != id {
		return nil, Errorf(ENOTFOUND, "No webhook delivery with id %d.", id)
	}
	return list[0], nil
}

// Redeliver sends one delivery again, with the same event id and body:
// one that was delivered (the receiver lost it) or failed. One still
// pending is refused: it is sent anyway. It waits behind the pending
// deliveries of its booking, and later events of that booking wait
// behind it.
func (w *Webhooks) Redeliver(ctx context.Context, deliveryID int64) (*WebhookDelivery, error) {
	if _, err := accessOf(ctx); err != nil {
		return nil, err
	}
	d, _, err := w.Store.WebhookDelivery(ctx, deliveryID)
	if err == nil {
		_, err = w.endpoint(ctx, d.EndpointID)
	}
	if ErrorCode(err) == ENOTFOUND {
		return nil, Errorf(ENOTFOUND, "No webhook delivery with id %d.", deliveryID)
	} else if err != nil {
		return nil, err
	}
	list, err := w.redeliver(ctx, RedeliveryFilter{DeliveryID: deliveryID})
	if err != nil {
		return nil, err
	}
	return list[0], nil
}

// MaxRedeliveries is how many deliveries one RedeliverFailed sends again.
const MaxRedeliveries = 1000

// RedeliverFailed sends again every failed delivery of an endpoint made
// from since up to until (now when zero), oldest first, at most
// MaxRedeliveries at a time, and returns them. Each booking's events go
// in the order they happened.
func (w *Webhooks) RedeliverFailed(ctx context.Context, endpointID int64, since, until time.Time) ([]*WebhookDelivery, error) {
	if _, err := w.endpoint(ctx, endpointID); err != nil {
		return nil, err
	}
	if until.IsZero() {
		until = w.Clock.Now().Add(time.Second)
	}
	if !since.Before(until) {
		return nil, Errorf(EINVALID, "since must be before until.")
	}
	return w.redeliver(ctx, RedeliveryFilter{EndpointID: endpointID, Since: since, Until: until, Limit: MaxRedeliveries})
}

func (w *Webhooks) redeliver(ctx context.Context, f RedeliveryFilter) ([]*WebhookDelivery, error) {
	key := func(d *WebhookDelivery) string {
		if d.BookingID != 0 {
			return bookingDeliveryKey(d.EndpointID, d.BookingID)
		}
		return fmt.Sprintf("webhook:%d:delivery:%d", d.EndpointID, d.ID)
	}
	list, err := w.Store.RedeliverWebhooks(ctx, f, key, w.Clock.Now())
	if err != nil {
		return nil, err
	}
	if len(list) > 0 && w.Wake != nil {
		w.Wake()
	}
	return list, nil
}
