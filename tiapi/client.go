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
	// result POSTs alike, to stay within the key's rate limit. EventPace
	// and UserWritePace, when set, also space event reads and user writes,
	// which TI limits lower. UsePlan sets all three.
	Pace          *Pacer
	EventPace     *Pacer
	UserWritePace *Pacer
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

// UserID returns TI's id for the user with the given email. It follows
// docs/rest/users/details: GET /incoming/v2/users/:id answers
// {"data":{"UserById":{"id",…}}}. That page types :id as a uuid; TI's
// update-status page (docs/rest/users/update-status) says a user's :id may
// also be an email or externalCustomerId, and TI offers no other lookup by
// email, so the email goes in the path. A 404 or a null UserById is a
// learner TI does not know.
func (c *Client) UserID(ctx context.Context, email string) (string, error) {
	const label = "/incoming/v2/users/{email}"
	ans, err := c.get(ctx, "/incoming/v2/users/"+url.PathEscape(email), label, nil)
	if err == nil {
		var raw json.RawMessage
		if raw, _, err = unwrap(label, ans.body, "UserById", "id"); err == nil && isNull(raw) {
			err = errNotFound
		} else if err == nil {
			var user struct {
				ID json.RawMessage `json:"id"`
			}
			if jerr := json.Unmarshal(raw, &user); jerr != nil {
				err = &shapeError{label: label, want: "a user object", keys: []string{"UserById is not an object"}}
			} else if id, ok := jsonScalar(user.ID); ok && id != "" {
				return id, nil
			} else {
				err = &shapeError{label: label, want: "a user with an id", keys: keysOf(raw)}
			}
		}
	}
	if errors.Is(err, errNotFound) {
		return "", examgate.Errorf(examgate.ENOTFOUND, "Your course account could not be found. Go back to your course and open the exam again, or contact support.")
	}
	return "", c.unreadable(ctx, err)
}

// unreadable logs an answer in a shape examgate does not read, with the
// keys that were seen, and turns it into "try again": a TI that changed
// its format must never look like a learner without a purchase.
func (c *Client) unreadable(ctx context.Context, err error) error {
	var se *shapeError
	if errors.As(err, &se) {
		if c.Logger != nil {
			c.Logger.ErrorContext(ctx, "thought industries answered in a shape examgate does not read", "endpoint", se.label, "want", se.want, "seen", se.keys)
		}
		return unavailable(err)
	}
	return err
}

func keysOf(raw json.RawMessage) []string {
	var m map[string]json.RawMessage
	_ = json.Unmarshal(raw, &m)
	return prefixed("", m)
}

// PurchasePage is what one page of coursePurchase events held.
type PurchasePage struct {
	Shape   string // ShapeEnveloped or ShapeBare
	Events  int
	HasMore bool
	Latest  time.Time // zero when no event was for the course
}

// LatestPurchase returns the time of the newest purchase of courseID by
// userID. TI does not promise any order, so every page is read.
func (c *Client) LatestPurchase(ctx context.Context, userID, courseID string) (time.Time, error) {
	q := url.Values{"userId": {userID}, "notifiableId": {courseID}}
	var latest time.Time
	for range maxPages {
		page, cursor, err := c.purchasePage(ctx, q, courseID)
		if err != nil {
			return time.Time{}, err
		}
		if page.Latest.After(latest) {
			latest = page.Latest
		}
		if !page.HasMore {
			if latest.IsZero() {
				return time.Time{}, examgate.Errorf(examgate.ENOTFOUND, "We could not find a purchase of this course on your account. Check that you are signed in to your course with the account you bought it with, or contact support.")
			}
			return latest.UTC(), nil
		}
		q.Set("cursor", cursor)
	}
	return time.Time{}, unavailable(fmt.Errorf("thought industries purchase events did not end after %d pages", maxPages))
}

// FirstPurchasePage reads the first page of coursePurchase events of
// courseID, for `examgate ti check`.
func (c *Client) FirstPurchasePage(ctx context.Context, courseID string) (PurchasePage, error) {
	page, _, err := c.purchasePage(ctx, url.Values{"notifiableId": {courseID}}, courseID)
	return page, err
}

// purchasePage reads one page of GET /incoming/v2/events/coursePurchase
// (docs/rest/events/course-purchase): {"data":{"APIEvents":{"pageInfo":
// {"perPage","cursor","total","hasMore"},"events":[…]}}} on the endpoint's
// page, {"pageInfo":{"cursor","hasMore"},"events":[…]} in the pagination
// guide (docs/rest/pagination). The event object is not documented; see
// eventTime and eventCourse.
func (c *Client) purchasePage(ctx context.Context, q url.Values, courseID string) (PurchasePage, string, error) {
	const label = "/incoming/v2/events/coursePurchase"
	var page PurchasePage
	ans, err := c.get(ctx, label, label, q)
	if errors.Is(err, errNotFound) {
		return page, "", unavailable(errors.New("thought industries answered 404 for the purchase events endpoint; check the TI base URL"))
	}
	if err != nil {
		return page, "", err
	}
	raw, shape, err := unwrap(label, ans.body, "APIEvents", "pageInfo", "events")
	if err != nil {
		return page, "", c.unreadable(ctx, err)
	}
	var body struct {
		PageInfo *struct {
			Cursor  *string `json:"cursor"`
			HasMore *bool   `json:"hasMore"`
		} `json:"pageInfo"`
		Events []map[string]json.RawMessage `json:"events"`
	}
	if err := json.Unmarshal(raw, &body); err != nil || body.Events == nil {
		return page, "", c.unreadable(ctx, &shapeError{label: label, want: "an events list", keys: keysOf(raw)})
	}
	page.Shape, page.Events = shape, len(body.Events)
	for _, ev := range body.Events {
		// notifiableId should already filter, but a purchase of another
		// course must never open this exam.
		if id, ok := eventCourse(ev); ok && id != courseID {
			continue
		}
		t, err := eventTime(ev)
		if err != nil {
			return page, "", c.unreadable(ctx, &shapeError{label: label, want: "events with a readable time", keys: []string{err.Error()}})
		}
		if t.After(page.Latest) {
			page.Latest = t
		}
	}
	if body.PageInfo != nil && body.PageInfo.HasMore != nil && *body.PageInfo.HasMore {
		page.HasMore = true
		if body.PageInfo.Cursor == nil || *body.PageInfo.Cursor == "" {
			return page, "", unavailable(errors.New("thought industries said more purchase events follow but sent no cursor"))
		}
		return page, *body.PageInfo.Cursor, nil
	}
	return page, "", nil
}

// answer is a 2xx response to a GET.
type answer struct {
	body   []byte
	header http.Header
}

// get performs a GET with retries on 429 and returns a 2xx answer. label
// names the endpoint in errors without the learner's email. A 429 whose
// Retry-After would outlast ctx's deadline fails at once: a learner
// waiting on a launch gets "try again" instead of a hung page.
func (c *Client) get(ctx context.Context, path, label string, q url.Values) (*answer, error) {
	u := c.baseURL + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var category *Pacer
	if strings.HasPrefix(path, "/incoming/v2/events/") {
		category = c.EventPace
	}
	for attempt := 0; ; attempt++ {
		if err := waitSlot(ctx, category, c.Pace); err != nil {
			return nil, unavailable(fmt.Errorf("waiting for a free TI request slot for %s: %w", label, err))
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, unavailable(fmt.Errorf("building request for %s: %w; check the TI base URL", label, err))
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
			return nil, unavailable(fmt.Errorf("GET %s: %w", label, err))
		}
		body, readErr := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes+1))
		resp.Body.Close()
		c.observe(resp.Header)

		switch s := resp.StatusCode; {
		case s >= 200 && s < 300:
			if readErr != nil {
				return nil, unavailable(fmt.Errorf("reading %s response: %w", label, readErr))
			}
			if len(body) > maxBodyBytes {
				return nil, unavailable(fmt.Errorf("%s response is larger than %d bytes", label, maxBodyBytes))
			}
			return &answer{body: body, header: resp.Header}, nil
		case s == http.StatusTooManyRequests:
			if attempt == maxRetries {
				return nil, unavailable(fmt.Errorf("thought industries still rate limited %s after %d retries", label, maxRetries))
			}
			d := retryAfter(resp.Header.Get("Retry-After"), time.Now())
			c.Pace.Block(min(d, maxBlock)) // the whole key waits, not only this request
			if d > c.MaxRetryAfter {
				return nil, unavailable(fmt.Errorf("thought industries asked us to wait %s before retrying %s, more than the %s we allow", d, label, c.MaxRetryAfter))
			}
			if dl, ok := ctx.Deadline(); ok && time.Now().Add(d).After(dl) {
				return nil, unavailable(fmt.Errorf("thought industries asked us to wait %s before retrying %s, longer than this request may take", d, label))
			}
			if c.Logger != nil {
				c.Logger.WarnContext(ctx, "thought industries rate limited a request; retrying", "endpoint", label, "wait", d, "retry", attempt+1)
			}
			wait := c.Sleep
			if wait == nil {
				wait = sleep
			}
			if err := wait(ctx, d); err != nil {
				return nil, unavailable(fmt.Errorf("waiting to retry %s: %w", label, err))
			}
		case s == http.StatusUnauthorized || s == http.StatusForbidden:
			err := fmt.Errorf("thought industries refused the API key (HTTP %d on %s); check EXAMGATE_TI_API_KEY", s, label)
			if c.Logger != nil {
				c.Logger.ErrorContext(ctx, "thought industries refused the API key; check EXAMGATE_TI_API_KEY", "status", s, "endpoint", label)
			}
			return nil, unavailable(err)
		case s == http.StatusNotFound:
			return nil, errNotFound
		default:
			return nil, unavailable(fmt.Errorf("thought industries answered HTTP %d on %s", s, label))
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
