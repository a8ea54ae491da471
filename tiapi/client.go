// Package tiapi talks to Thought Industries: the REST client that confirms
// learners and purchases, and the verifier for the launch token TI appends to
// exam links.
package tiapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/examgate/examgate"
)

const (
	maxBodyBytes   = 1 << 20 // TI pages are small; anything bigger is not TI
	maxRetries     = 3       // on 429, after the first attempt
	maxPages       = 100     // guards against a cursor that never ends
	defaultWait    = time.Second
	unreachableMsg = "We could not reach your course platform to confirm your purchase. Please try again in a minute."
)

// errNotFound is a 404 from TI; each caller decides what is missing.
var errNotFound = errors.New("thought industries answered 404")

// Client is the Thought Industries REST client. It implements examgate.TI.
// The exported fields may be replaced before first use.
type Client struct {
	HTTP *http.Client
	// Sleep waits between retries; tests replace it to avoid real waiting.
	Sleep func(ctx context.Context, d time.Duration) error
	// MaxRetryAfter is the longest Retry-After we are willing to wait; a
	// learner is looking at a spinner, so longer waits fail fast instead.
	MaxRetryAfter time.Duration
	Logger        *slog.Logger // optional
	// Pace, when set, spaces every request to TI, launch-time GETs and
	// result POSTs alike, to stay within the key's rate limit.
	Pace *Pacer
	// ConfigRetry is how long a result job waits after TI refused the API
	// key or the endpoint: the operator has to fix the configuration, and
	// hammering TI meanwhile only fills the logs. Zero means
	// DefaultConfigRetry.
	ConfigRetry time.Duration

	baseURL string
	apiKey  string
}

var _ examgate.TI = (*Client)(nil)

// NewClient returns a client for the TI instance at baseURL (for example
// https://school.thoughtindustries.com) using apiKey for every request. It
// does not pace requests; set Pace to share TI's rate limit.
func NewClient(baseURL, apiKey string) *Client {
	return &Client{
		HTTP:          &http.Client{Timeout: 10 * time.Second, Transport: newTransport()},
		Sleep:         sleep,
		MaxRetryAfter: 30 * time.Second,
		ConfigRetry:   DefaultConfigRetry,
		baseURL:       strings.TrimRight(baseURL, "/"),
		apiKey:        apiKey,
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// UserID returns TI's id for the user with the given email.
func (c *Client) UserID(ctx context.Context, email string) (string, error) {
	var user struct {
		ID json.RawMessage `json:"id"`
	}
	err := c.get(ctx, "/incoming/v2/users/"+url.PathEscape(email), "/incoming/v2/users/{email}", nil, &user)
	if errors.Is(err, errNotFound) {
		return "", examgate.Errorf(examgate.ENOTFOUND, "Your course account could not be found. Go back to your course and open the exam again, or contact support.")
	}
	if err != nil {
		return "", err
	}
	id, ok := jsonScalar(user.ID)
	if !ok || id == "" {
		return "", unavailable(errors.New("thought industries user response has no usable id"))
	}
	return id, nil
}

type purchasePage struct {
	PageInfo struct {
		Cursor  string `json:"cursor"`
		HasMore bool   `json:"hasMore"`
	} `json:"pageInfo"`
	Events []struct {
		Timestamp     string  `json:"timestamp"`
		PurchasableID *string `json:"purchasableId"`
	} `json:"events"`
}

// LatestPurchase returns the time of the newest purchase of courseID by
// userID. TI does not promise any order, so every page is read.
func (c *Client) LatestPurchase(ctx context.Context, userID, courseID string) (time.Time, error) {
	const path = "/incoming/v2/events/coursePurchase"
	q := url.Values{"userId": {userID}, "notifiableId": {courseID}}
	var latest time.Time
	for range maxPages {
		var page purchasePage
		err := c.get(ctx, path, path, q, &page)
		if errors.Is(err, errNotFound) {
			return time.Time{}, unavailable(errors.New("thought industries answered 404 for the purchase events endpoint; check the TI base URL"))
		}
		if err != nil {
			return time.Time{}, err
		}
		for _, ev := range page.Events {
			// notifiableId should already filter, but a purchase of another
			// course must never open this exam.
			if ev.PurchasableID != nil && *ev.PurchasableID != courseID {
				continue
			}
			t, err := time.Parse(time.RFC3339Nano, ev.Timestamp)
			if err != nil {
				return time.Time{}, unavailable(fmt.Errorf("thought industries purchase event has an unreadable timestamp: %w", err))
			}
			if t.After(latest) {
				latest = t
			}
		}
		if !page.PageInfo.HasMore {
			if latest.IsZero() {
				return time.Time{}, examgate.Errorf(examgate.ENOTFOUND, "We could not find a purchase of this course on your account. Check that you are signed in to your course with the account you bought it with, or contact support.")
			}
			return latest.UTC(), nil
		}
		if page.PageInfo.Cursor == "" {
			return time.Time{}, unavailable(errors.New("thought industries said more purchase events follow but sent no cursor"))
		}
		q.Set("cursor", page.PageInfo.Cursor)
	}
	return time.Time{}, unavailable(fmt.Errorf("thought industries purchase events did not end after %d pages", maxPages))
}

// get performs a GET with retries on 429 and decodes a 2xx JSON body into
// out. label names the endpoint in errors without the learner's email.
func (c *Client) get(ctx context.Context, path, label string, q url.Values, out any) error {
	u := c.baseURL + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	for attempt := 0; ; attempt++ {
		if err := c.Pace.Wait(ctx); err != nil {
			return unavailable(fmt.Errorf("waiting for a free TI request slot for %s: %w", label, err))
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return unavailable(fmt.Errorf("building request for %s: %w; check the TI base URL", label, err))
		}
		req.Header.Set("Authorization", "Bearer "+c.apiKey)
		req.Header.Set("Accept", "application/json")

		hc := c.HTTP
		if hc == nil {
			hc = http.DefaultClient
		}
		resp, err := hc.Do(req)
		if err != nil {
			// url.Error repeats the URL, which holds the learner's email.
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err
			}
			return unavailable(fmt.Errorf("GET %s: %w", label, err))
		}
		body, readErr := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes+1))
		resp.Body.Close()

		switch s := resp.StatusCode; {
		case s >= 200 && s < 300:
			if readErr != nil {
				return unavailable(fmt.Errorf("reading %s response: %w", label, readErr))
			}
			if len(body) > maxBodyBytes {
				return unavailable(fmt.Errorf("%s response is larger than %d bytes", label, maxBodyBytes))
			}
			if err := json.Unmarshal(body, out); err != nil {
				return unavailable(fmt.Errorf("%s response is not the expected JSON: %w", label, err))
			}
			return nil
		case s == http.StatusTooManyRequests:
			if attempt == maxRetries {
				return unavailable(fmt.Errorf("thought industries still rate limited %s after %d retries", label, maxRetries))
			}
			d := retryAfter(resp.Header.Get("Retry-After"), time.Now())
			if d > c.MaxRetryAfter {
				return unavailable(fmt.Errorf("thought industries asked us to wait %s before retrying %s, more than the %s we allow", d, label, c.MaxRetryAfter))
			}
			if c.Logger != nil {
				c.Logger.WarnContext(ctx, "thought industries rate limited a request; retrying", "endpoint", label, "wait", d, "retry", attempt+1)
			}
			wait := c.Sleep
			if wait == nil {
				wait = sleep
			}
			if err := wait(ctx, d); err != nil {
				return unavailable(fmt.Errorf("waiting to retry %s: %w", label, err))
			}
		case s == http.StatusUnauthorized || s == http.StatusForbidden:
			err := fmt.Errorf("thought industries refused the API key (HTTP %d on %s); check EXAMGATE_TI_API_KEY", s, label)
			if c.Logger != nil {
				c.Logger.ErrorContext(ctx, "thought industries refused the API key; check EXAMGATE_TI_API_KEY", "status", s, "endpoint", label)
			}
			return unavailable(err)
		case s == http.StatusNotFound:
			return errNotFound
		default:
			return unavailable(fmt.Errorf("thought industries answered HTTP %d on %s", s, label))
		}
	}
}

func unavailable(err error) error {
	return examgate.Wrap(examgate.EUNAVAILABLE, err, unreachableMsg)
}

// retryAfter reads a Retry-After header, either delta seconds or an
// HTTP-date. A missing or unreadable value waits a default second.
func retryAfter(v string, now time.Time) time.Duration {
	return retryAfterOr(v, now, defaultWait)
}

// retryAfterOr is retryAfter with the default wait given by the caller.
func retryAfterOr(v string, now time.Time, def time.Duration) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return def
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return def
		}
		// Clamp so absurd values compare as "too long" instead of overflowing.
		if n > int64(24*time.Hour/time.Second) {
			return 24 * time.Hour
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
		return 0
	}
	return def
}

// jsonScalar returns a JSON string or number as text.
func jsonScalar(raw json.RawMessage) (string, bool) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return strings.TrimSpace(s), true
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil {
		return n.String(), true
	}
	return "", false
}

// newTransport keeps enough idle connections to TI for concurrent launches:
// the default two per host would mean a new TCP and TLS handshake for most
// launches under load.
func newTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 64
	t.MaxIdleConnsPerHost = 32
	return t
}
