package db

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/examgate/examgate"
	"github.com/uptrace/bun"
)

var _ examgate.WebhookStore = (*DB)(nil)

type webhookEndpointRow struct {
	bun.BaseModel `bun:"table:webhook_endpoints"`

	ID             int64      `bun:"id,pk,autoincrement"`
	URL            string     `bun:"url"`
	Secret         string     `bun:"secret"`
	Events         string     `bun:"events"`
	Description    string     `bun:"description"`
	DisabledAt     *time.Time `bun:"disabled_at"`
	DisabledReason string     `bun:"disabled_reason"`
	PreviousSecret string     `bun:"previous_secret"`
	PreviousUntil  *time.Time `bun:"previous_secret_until"`
	APIKeyID       *int64     `bun:"api_key_id"`
	// ownerRevoked is read apart: whether api_key_id names a revoked key.
	ownerRevoked bool      `bun:"-"`
	CreatedAt    time.Time `bun:"created_at"`
	UpdatedAt    time.Time `bun:"updated_at"`
}

func (r *webhookEndpointRow) domain(withSecret bool) *examgate.WebhookEndpoint {
	e := &examgate.WebhookEndpoint{
		ID: r.ID, URL: r.URL, Events: strings.Split(r.Events, ","), Description: r.Description,
		DisabledAt: utcPtr(r.DisabledAt), DisabledReason: r.DisabledReason,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), PreviousSecretUntil: utcPtr(r.PreviousUntil),
	}
	if withSecret {
		e.Secret, e.PreviousSecret = r.Secret, r.PreviousSecret
	}
	if r.APIKeyID != nil {
		e.OwnerKeyID, e.OwnerRevoked = *r.APIKeyID, r.ownerRevoked
	}
	return e
}

type webhookDeliveryRow struct {
	bun.BaseModel `bun:"table:webhook_deliveries,alias:d"`

	ID            int64      `bun:"id,pk,autoincrement"`
	EndpointID    int64      `bun:"endpoint_id"`
	EventID       string     `bun:"event_id"`
	EventType     string     `bun:"event_type"`
	BookingID     *int64     `bun:"booking_id"`
	Body          string     `bun:"body"`
	JobID         *int64     `bun:"job_id"`
	Attempts      int        `bun:"attempts"`
	LastStatus    int        `bun:"last_status"`
	LastError     string     `bun:"last_error"`
	LastMS        int64      `bun:"last_duration_ms"`
	LastResponse  string     `bun:"last_response"`
	CreatedAt     time.Time  `bun:"created_at"`
	LastAttemptAt *time.Time `bun:"last_attempt_at"`
	DeliveredAt   *time.Time `bun:"delivered_at"`
}

// webhookLogRow is a delivery with the state of its job.
type webhookLogRow struct {
	webhookDeliveryRow `bun:",extend"`

	JobState     *string    `bun:"job_state"`
	JobRunAt     *time.Time `bun:"job_run_at"`
	JobLastError *string    `bun:"job_last_error"`
}

func (r *webhookDeliveryRow) domain() *examgate.WebhookDelivery {
	d := &examgate.WebhookDelivery{
		ID: r.ID, EndpointID: r.EndpointID, EventID: r.EventID, EventType: r.EventType,
		Attempts: r.Attempts, LastStatus: r.LastStatus, LastError: r.LastError, CreatedAt: r.CreatedAt.UTC(),
		LastLatency: time.Duration(r.LastMS) * time.Millisecond, LastResponse: r.LastResponse,
		LastAttemptAt: utcPtr(r.LastAttemptAt), DeliveredAt: utcPtr(r.DeliveredAt), State: examgate.WebhookPending,
	}
	if r.BookingID != nil {
		d.BookingID = *r.BookingID
	}
	if r.JobID != nil {
		d.JobID = *r.JobID
	}
	if d.DeliveredAt != nil {
		d.State = examgate.WebhookDelivered
	}
	return d
}

func (r *webhookLogRow) domain() *examgate.WebhookDelivery {
	d := r.webhookDeliveryRow.domain()
	if d.DeliveredAt == nil && r.JobID == nil && d.Attempts > 0 {
		d.State = examgate.WebhookFailed // a ping that was not answered 2xx
	}
	if d.DeliveredAt != nil || r.JobState == nil {
		return d
	}
	switch *r.JobState {
	case examgate.JobFailed:
		d.State = examgate.WebhookFailed
		// The job's error says why it was given up (deadline, 410).
		if r.JobLastError != nil && *r.JobLastError != "" {
			d.LastError = *r.JobLastError
		}
	case examgate.JobDone: // finished without a 2xx: the endpoint was removed meanwhile
		d.State = examgate.WebhookFailed
	default:
		d.NextTryAt = utcPtr(r.JobRunAt)
	}
	return d
}

// AddWebhookEndpoint stores an endpoint.
func (db *DB) AddWebhookEndpoint(ctx context.Context, e *examgate.WebhookEndpoint) (*examgate.WebhookEndpoint, error) {
	row := webhookEndpointRow{
		URL: e.URL, Secret: e.Secret, Events: strings.Join(e.Events, ","), Description: e.Description,
		CreatedAt: e.CreatedAt.UTC(), UpdatedAt: e.UpdatedAt.UTC(),
	}
	if e.OwnerKeyID != 0 {
		row.APIKeyID = &e.OwnerKeyID
	}
	if _, err := db.bun.NewInsert().Model(&row).Returning("id").Exec(ctx); err != nil {
		return nil, examgate.Wrap(examgate.EINTERNAL, err, "could not save the webhook endpoint")
	}
	return row.domain(true), nil
}

// WebhookEndpoints lists endpoints by id, without secrets.
func (db *DB) WebhookEndpoints(ctx context.Context) ([]*examgate.WebhookEndpoint, error) {
	var rows []webhookEndpointRow
	if err := db.bun.NewSelect().Model(&rows).ExcludeColumn("secret", "previous_secret").Order("id").Limit(1000).Scan(ctx); err != nil {
		return nil, notFound(err, "webhook endpoints")
	}
	if err := db.markRevokedOwners(ctx, rows); err != nil {
		return nil, err
	}
	out := make([]*examgate.WebhookEndpoint, len(rows))
	for i := range rows {
		out[i] = rows[i].domain(false)
	}
	return out, nil
}

// WebhookEndpoint returns an endpoint with its secret.
func (db *DB) WebhookEndpoint(ctx context.Context, id int64) (*examgate.WebhookEndpoint, error) {
	rows := make([]webhookEndpointRow, 1)
	if err := db.bun.NewSelect().Model(&rows[0]).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, notFound(err, "webhook endpoint")
	}
	if err := db.markRevokedOwners(ctx, rows); err != nil {
		return nil, err
	}
	return rows[0].domain(true), nil
}

// markRevokedOwners notes which endpoints were registered by a key revoked
// since.
func (db *DB) markRevokedOwners(ctx context.Context, rows []webhookEndpointRow) error {
	var owners []int64
	for _, r := range rows {
		if r.APIKeyID != nil {
			owners = append(owners, *r.APIKeyID)
		}
	}
	if len(owners) == 0 {
		return nil
	}
	var revoked []int64
	if err := db.bun.NewSelect().Table("api_keys").Column("id").Where("id IN (?) AND revoked_at IS NOT NULL", bun.In(owners)).Scan(ctx, &revoked); err != nil {
		return examgate.Wrap(examgate.EINTERNAL, err, "could not read the keys of the webhook endpoints")
	}
	for i := range rows {
		rows[i].ownerRevoked = rows[i].APIKeyID != nil && slices.Contains(revoked, *rows[i].APIKeyID)
	}
	return nil
}

// RemoveWebhookEndpoint deletes an endpoint; its deliveries go with it.
func (db *DB) RemoveWebhookEndpoint(ctx context.Context, id int64) error {
	return db.bun.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		// Explicit, so as not to depend on the connection's foreign-key setting.
		if _, err := tx.NewDelete().Model((*webhookDeliveryRow)(nil)).Where("endpoint_id = ?", id).Exec(ctx); err != nil {
			return examgate.Wrap(examgate.EINTERNAL, err, "could not remove the webhook deliveries")
		}
		res, err := tx.NewDelete().Model((*webhookEndpointRow)(nil)).Where("id = ?", id).Exec(ctx)
		if err != nil {
			return examgate.Wrap(examgate.EINTERNAL, err, "could not remove the webhook endpoint")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return examgate.Errorf(examgate.ENOTFOUND, "No webhook endpoint with id %d.", id)
		}
		return nil
	})
}

// DisableWebhookEndpoint stops deliveries to an endpoint.
func (db *DB) DisableWebhookEndpoint(ctx context.Context, id int64, reason string, now time.Time) error {
	_, err := db.bun.NewUpdate().Model((*webhookEndpointRow)(nil)).
		Set("disabled_at = ?", now).Set("disabled_reason = ?", truncateError(reason)).Set("updated_at = ?", now).
		Where("id = ? AND disabled_at IS NULL", id).Exec(ctx)
	if err != nil {
		return examgate.Wrap(examgate.EINTERNAL, err, "could not disable the webhook endpoint")
	}
	return nil
}

// FanOutWebhookEvent writes the deliveries of an event and their jobs in one
// transaction. The unique (endpoint_id, event_id) pair skips endpoints that
// already have it, so that a fan-out run twice sends nothing twice.
func (db *DB) FanOutWebhookEvent(ctx context.Context, endpointIDs []int64, eventID, eventType string, bookingID int64, jobKey func(int64) string, body []byte, now time.Time) (int, error) {
	var booking *int64
	if bookingID != 0 {
		booking = &bookingID
	}
	written := 0
	err := db.bun.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		written = 0
		for _, ep := range endpointIDs {
			d := webhookDeliveryRow{
				EndpointID: ep, EventID: eventID, EventType: eventType, BookingID: booking,
				Body: string(body), CreatedAt: now,
			}
			res, err := tx.NewInsert().Model(&d).On("CONFLICT (endpoint_id, event_id) DO NOTHING").Returning("id").Exec(ctx)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 || d.ID == 0 {
				continue
			}
			if err := queueDelivery(ctx, tx, d.ID, jobKey(ep), now); err != nil {
				return err
			}
			written++
		}
		return nil
	})
	if err != nil {
		return 0, examgate.Wrap(examgate.EINTERNAL, err, "could not write the webhook deliveries")
	}
	return written, nil
}

// queueDelivery writes the job that sends a delivery and points the
// delivery at it, marking it not delivered (again).
func queueDelivery(ctx context.Context, tx bun.Tx, deliveryID int64, key string, now time.Time) error {
	payload, err := json.Marshal(examgate.WebhookDeliveryJob{DeliveryID: deliveryID})
	if err != nil {
		return err
	}
	job := jobRow{
		Kind: examgate.JobWebhookDelivery, Payload: string(payload), OrderingKey: key,
		State: examgate.JobQueued, MaxAgeMS: examgate.DefaultJobMaxAge.Milliseconds(),
		GiveUpAt: now.Add(examgate.DefaultJobMaxAge), RunAt: now, CreatedAt: now, UpdatedAt: now,
	}
	if _, err := tx.NewInsert().Model(&job).Returning("id").Exec(ctx); err != nil {
		return err
	}
	_, err = tx.NewUpdate().Model((*webhookDeliveryRow)(nil)).Set("job_id = ?", job.ID).Set("delivered_at = NULL").
		Where("id = ?", deliveryID).Exec(ctx)
	return err
}

// WebhookDelivery returns a delivery and the body it sends.
func (db *DB) WebhookDelivery(ctx context.Context, id int64) (*examgate.WebhookDelivery, []byte, error) {
	var row webhookDeliveryRow
	if err := db.bun.NewSelect().Model(&row).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, nil, notFound(err, "webhook delivery")
	}
	return row.domain(), []byte(row.Body), nil
}

// RecordWebhookAttempt counts one HTTP attempt and its outcome.
func (db *DB) RecordWebhookAttempt(ctx context.Context, id int64, out examgate.WebhookOutcome, now time.Time) error {
	errMsg := ""
	if out.Err != nil {
		errMsg = out.Err.Error()
	}
	q := db.bun.NewUpdate().Model((*webhookDeliveryRow)(nil)).
		Set("last_status = ?", out.Status).Set("last_error = ?", truncateError(errMsg)).Set("last_attempt_at = ?", now).
		Set("last_duration_ms = ?", out.Latency.Milliseconds()).Set("last_response = ?", out.Response).
		Set("attempts = attempts + 1").Where("id = ?", id)
	if out.Err == nil {
		q = q.Set("delivered_at = ?", now)
	}
	if _, err := q.Exec(ctx); err != nil {
		return examgate.Wrap(examgate.EINTERNAL, err, "could not record the webhook attempt")
	}
	return nil
}

// WebhookDeliveries lists an endpoint's deliveries newest first, with the
// state of their jobs.
func (db *DB) WebhookDeliveries(ctx context.Context, endpointID, beforeID int64, limit int) ([]*examgate.WebhookDelivery, error) {
	limit = min(max(limit, 1), 500)
	var rows []webhookLogRow
	q := db.bun.NewSelect().Model(&rows).
		ColumnExpr("d.*").
		ColumnExpr("j.state AS job_state, j.run_at AS job_run_at, j.last_error AS job_last_error").
		Join("LEFT JOIN jobs AS j ON j.id = d.job_id").
		Where("d.endpoint_id = ?", endpointID).
		OrderExpr("d.id DESC").Limit(int64(limit))
	if beforeID > 0 {
		q = q.Where("d.id < ?", beforeID)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, examgate.Wrap(examgate.EINTERNAL, err, "could not list webhook deliveries")
	}
	out := make([]*examgate.WebhookDelivery, len(rows))
	for i := range rows {
		out[i] = rows[i].domain()
	}
	return out, nil
}

// EnableWebhookEndpoint clears an endpoint's disabled mark.
func (db *DB) EnableWebhookEndpoint(ctx context.Context, id int64, now time.Time) error {
	_, err := db.bun.NewUpdate().Model((*webhookEndpointRow)(nil)).
		Set("disabled_at = NULL").Set("disabled_reason = ''").Set("updated_at = ?", now).
		Where("id = ?", id).Exec(ctx)
	if err != nil {
		return examgate.Wrap(examgate.EINTERNAL, err, "could not enable the webhook endpoint")
	}
	return nil
}

// RotateWebhookSecret replaces the secret, keeping the old one as the
// previous secret until previousUntil.
func (db *DB) RotateWebhookSecret(ctx context.Context, id int64, secret string, previousUntil, now time.Time) error {
	res, err := db.bun.NewUpdate().Model((*webhookEndpointRow)(nil)).
		Set("previous_secret = secret").Set("previous_secret_until = ?", previousUntil).
		Set("secret = ?", secret).Set("updated_at = ?", now).
		Where("id = ?", id).Exec(ctx)
	if err != nil {
		return examgate.Wrap(examgate.EINTERNAL, err, "could not rotate the webhook secret")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return examgate.Errorf(examgate.ENOTFOUND, "No webhook endpoint with id %d.", id)
	}
	return nil
}

// AddWebhookPing writes a ping's delivery, which has no job: it is sent at
// once and not retried.
func (db *DB) AddWebhookPing(ctx context.Context, endpointID int64, eventID string, body []byte, now time.Time) (*examgate.WebhookDelivery, error) {
	d := webhookDeliveryRow{EndpointID: endpointID, EventID: eventID, EventType: examgate.EventPing, Body: string(body), CreatedAt: now}
	if _, err := db.bun.NewInsert().Model(&d).Returning("id").Exec(ctx); err != nil {
		return nil, examgate.Wrap(examgate.EINTERNAL, err, "could not write the ping")
	}
	return d.domain(), nil
}

// RedeliverWebhooks queues the deliveries f selects again.
func (db *DB) RedeliverWebhooks(ctx context.Context, f examgate.RedeliveryFilter, jobKey func(*examgate.WebhookDelivery) string, now time.Time) ([]*examgate.WebhookDelivery, error) {
	var out []*examgate.WebhookDelivery
	err := db.bun.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		out = nil
		var rows []webhookLogRow
		q := tx.NewSelect().Model(&rows).
			ColumnExpr("d.*").
			ColumnExpr("j.state AS job_state, j.run_at AS job_run_at, j.last_error AS job_last_error").
			Join("LEFT JOIN jobs AS j ON j.id = d.job_id").
			OrderExpr("d.id")
		if f.DeliveryID != 0 {
			q = q.Where("d.id = ?", f.DeliveryID)
		} else {
			q = q.Where("d.endpoint_id = ? AND d.created_at >= ? AND d.created_at < ?", f.EndpointID, f.Since.UTC(), f.Until.UTC()).
				Where("d.delivered_at IS NULL AND d.event_type <> ?", examgate.EventPing).
				Where("j.state IN (?)", bun.In([]string{examgate.JobFailed, examgate.JobDone})).
				Limit(int64(max(f.Limit, 1)))
		}
		if db.postgres {
			// Two redeliveries of the same deliveries at once: the second
			// waits, then finds them pending or in a new range.
			q = q.For("UPDATE OF d")
		}
		if err := q.Scan(ctx); err != nil {
			return err
		}
		if f.DeliveryID != 0 {
			if len(rows) == 0 {
				return examgate.Errorf(examgate.ENOTFOUND, "No webhook delivery with id %d.", f.DeliveryID)
			}
			if d := rows[0].domain(); d.State == examgate.WebhookPending {
				return examgate.Errorf(examgate.ECONFLICT, "Delivery %d is still pending: it will be sent (next try %s).", d.ID, timeText(d.NextTryAt))
			}
		}
		for i := range rows {
			d := rows[i].domain()
			if err := queueDelivery(ctx, tx, d.ID, jobKey(d), now); err != nil {
				return err
			}
			d.State, d.DeliveredAt, d.NextTryAt = examgate.WebhookPending, nil, &now
			out = append(out, d)
		}
		return nil
	})
	var de *examgate.Error
	if errors.As(err, &de) {
		return nil, err
	}
	if err != nil {
		return nil, examgate.Wrap(examgate.EINTERNAL, err, "could not queue the deliveries again")
	}
	return out, nil
}

func timeText(t *time.Time) string {
	if t == nil {
		return "soon"
	}
	return t.UTC().Format(time.RFC3339)
}
