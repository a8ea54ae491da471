package graph

import (
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/graph/model"
)

// toEventType turns booking.no_show into BOOKING_NO_SHOW.
func toEventType(t string) model.WebhookEventType {
	return model.WebhookEventType(strings.ToUpper(strings.Replace(t, ".", "_", 1)))
}

// fromEventType turns BOOKING_NO_SHOW into booking.no_show.
func fromEventType(t model.WebhookEventType) string {
	return strings.ToLower(strings.Replace(string(t), "_", ".", 1))
}

func toWebhookEndpoint(e *examgate.WebhookEndpoint) *model.WebhookEndpoint {
	m := &model.WebhookEndpoint{
		ID: strconv.FormatInt(e.ID, 10), URL: e.URL, Description: e.Description,
		DisabledAt: e.DisabledAt, CreatedAt: e.CreatedAt, Events: []model.WebhookEventType{},
	}
	for _, t := range e.Events {
		m.Events = append(m.Events, toEventType(t))
	}
	if e.DisabledReason != "" {
		m.DisabledReason = &e.DisabledReason
	}
	if e.PreviousSecretUntil != nil && e.PreviousSecretUntil.After(e.UpdatedAt) {
		m.PreviousSecretExpiresAt = e.PreviousSecretUntil
	}
	return m
}

func toWebhookDelivery(d *examgate.WebhookDelivery) *model.WebhookDelivery {
	m := &model.WebhookDelivery{
		ID: strconv.FormatInt(d.ID, 10), EventID: d.EventID, EventType: toEventType(d.EventType),
		State: model.WebhookDeliveryState(strings.ToUpper(d.State)), Attempts: d.Attempts,
		CreatedAt: d.CreatedAt, LastAttemptAt: d.LastAttemptAt, DeliveredAt: d.DeliveredAt, NextTryAt: d.NextTryAt,
	}
	if d.BookingID != 0 {
		id := strconv.FormatInt(d.BookingID, 10)
		m.BookingID = &id
	}
	if d.LastStatus != 0 {
		m.LastStatusCode = &d.LastStatus
	}
	if d.LastError != "" {
		m.LastError = &d.LastError
	}
	if d.Attempts > 0 {
		ms := int(d.LastLatency.Milliseconds())
		m.LastLatencyMs = &ms
		m.LastResponse = &d.LastResponse
	}
	return m
}

func webhookID(id string) (int64, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 {
		return 0, examgate.Errorf(examgate.ENOTFOUND, "No webhook endpoint with id %q; see the webhooks query.", id)
	}
	return n, nil
}

func parseDeliveryID(id string) (int64, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 {
		return 0, examgate.Errorf(examgate.ENOTFOUND, "No webhook delivery with id %q; see the webhookDeliveries query.", id)
	}
	return n, nil
}

func encodeWebhookCursor(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("webhook-delivery:" + strconv.FormatInt(id, 10)))
}

func decodeWebhookCursor(c string) (int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if s, ok := strings.CutPrefix(string(b), "webhook-delivery:"); err == nil && ok {
		if id, err := strconv.ParseInt(s, 10, 64); err == nil && id > 0 {
			return id, nil
		}
	}
	return 0, examgate.Errorf(examgate.EINVALID, "after is not a cursor from this list; use pageInfo.endCursor.")
}
