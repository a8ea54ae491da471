package tiapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/examgate/examgate"
)

// Result statuses TI accepts for an external activity.
const (
	ResultCompleted  = "completed"
	ResultIncomplete = "incomplete"
)

const (
	// DefaultConfigRetry is Client.ConfigRetry when it is zero.
	DefaultConfigRetry = 30 * time.Minute
	// defaultRateWait is the wait after a 429 without Retry-After: TI's
	// limit is per minute, so a shorter wait would likely be refused again.
	defaultRateWait = time.Minute
	maxErrorBytes   = 64 << 10
	maxDetailBytes  = 300
	resultPath      = "/incoming/v2/assignmentExternalActivity"
)

// ResultPost is the outcome of one exam for TI's External Activity.
type ResultPost struct {
	Status        string // ResultCompleted or ResultIncomplete
	AssignmentID  string
	LearnerID     string  // TI's user id
	Grade         float64 // percent, 0 to 100
	GradeFeedback string
}

// resultBody fixes the key order of the JSON TI receives.
type resultBody struct {
	Status        string  `json:"status"`
	AssignmentID  string  `json:"assignmentId"`
	LearnerID     string  `json:"learnerId"`
	Grade         float64 `json:"grade"`
	GradeFeedback string  `json:"gradeFeedback"`
}

type resetBody struct {
	Slug          string `json:"slug"`
	ResetProgress bool   `json:"resetProgress"`
	RevokeAccess  bool   `json:"revokeAccess"`
}

// PostResult reports p to TI. It makes one attempt: the error says how the
// job worker should retry (see classify), and the worker owns the retries.
func (c *Client) PostResult(ctx context.Context, p ResultPost) error {
	if err := p.check(); err != nil {
		return examgate.Permanent(err)
	}
	_, err := c.post(ctx, resultPath, "assignmentExternalActivity", resultBody(p))
	return err
}

// check refuses what TI would refuse (docs/rest/assignments/external-activity:
// assignmentId and learnerId must be UUIDs), so that a bad id is reported
// with its cause instead of as TI's 400.
func (p ResultPost) check() error {
	switch {
	case p.Status != ResultCompleted && p.Status != ResultIncomplete:
		return fmt.Errorf("result status %q is neither %q nor %q", truncate(p.Status), ResultCompleted, ResultIncomplete)
	case strings.TrimSpace(p.AssignmentID) == "":
		return errors.New("result has no TI assignment id; set the exam's TI assignment id in the catalog")
	case !examgate.IsUUID(p.AssignmentID):
		return fmt.Errorf("TI assignment id %q is not a UUID, which TI requires; correct ti.assignmentId in the catalog (or the assignmentId TI puts in the launch), then requeue the job", truncate(p.AssignmentID))
	case strings.TrimSpace(p.LearnerID) == "":
		return errors.New("result has no TI learner id")
	case !examgate.IsUUID(p.LearnerID):
		return fmt.Errorf("TI learner id %q is not a UUID, which TI requires; check the userId TI puts in the launch token", truncate(p.LearnerID))
	case math.IsNaN(p.Grade) || p.Grade < 0 || p.Grade > 100:
		return fmt.Errorf("result grade %v is outside 0..100", p.Grade)
	}
	return nil
}

// ResetProgress clears the learner's progress in the course with slug and
// revokes their access to it, so a failed exam sends them back through the
// course. It follows docs/rest/privacy/reset-course-progress: POST
// /incoming/v2/users/:id/resetProgress with slug and revokeAccess, answered
// {"data":{"ResetUserCourseProgress":true}}. Only true is done; any other
// answer is retried like a 5xx. Errors are classified as for PostResult.
func (c *Client) ResetProgress(ctx context.Context, learnerID, slug string) error {
	switch {
	case strings.TrimSpace(learnerID) == "":
		return examgate.Permanent(errors.New("reset progress has no TI learner id"))
	case strings.TrimSpace(slug) == "":
		return examgate.Permanent(errors.New("reset progress has no course slug; set the exam's TI course slug in the catalog"))
	}
	path := "/incoming/v2/users/" + url.PathEscape(learnerID) + "/resetProgress"
	const label = "resetProgress"
	body, err := c.post(ctx, path, label, resetBody{Slug: slug, ResetProgress: true, RevokeAccess: true})
	if err != nil {
		return err
	}
	raw, _, err := unwrap(label, body, "ResetUserCourseProgress", "ResetUserCourseProgress")
	if err == nil {
		var bare map[string]json.RawMessage
		if json.Unmarshal(raw, &bare) == nil {
			raw = bare["ResetUserCourseProgress"]
		}
		var done bool
		if json.Unmarshal(raw, &done) == nil && done {
			return nil
		}
		err = fmt.Errorf("thought industries answered resetProgress with ResetUserCourseProgress %s, not true: the course was not reset; retrying", truncate(string(bytes.TrimSpace(raw))))
	}
	if c.Logger != nil {
		c.Logger.WarnContext(ctx, "thought industries did not confirm the course reset", "endpoint", label, "error", err)
	}
	return err // plain: the worker retries it with backoff, as a 5xx
}

// post sends body as JSON without following redirects: TI answers a
// successful assignmentExternalActivity with a 302 to a page for browsers.
// It returns the body of a 2xx answer.
func (c *Client) post(ctx context.Context, path, label string, body any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // feedback text reaches TI as written
	if err := enc.Encode(body); err != nil {
		return nil, examgate.Permanent(fmt.Errorf("encoding %s body: %w", label, err))
	}
	payload := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))

	var category *Pacer
	if strings.HasPrefix(path, "/incoming/v2/users/") {
		category = c.UserWritePace
	}
	if err := waitSlot(ctx, category, c.Pace); err != nil {
		return nil, fmt.Errorf("waiting for a free TI request slot for %s: %w", label, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.baseURL+path, bytes.NewReader(payload))
	if err != nil {
		return nil, c.configError(ctx, label, 0, fmt.Errorf("building request for %s: %w; check EXAMGATE_TI_BASE_URL", label, err))
	}
	req.Header.Set("Authorization", "Bearer "+c.apiKey)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")

	hc := http.DefaultClient
	if c.HTTP != nil {
		hc = c.HTTP
	}
	// A copy shares the transport and its connections.
	nr := *hc
	nr.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := nr.Do(req)
	if err == nil {
		c.observe(resp.Header)
	}
	return c.classify(ctx, label, req.URL, resp, err)
}

// classify turns the answer to a POST into an error for the job worker:
//
//   - 2xx, or the 302 TI sends on success: nil.
//   - 400 and 422: TI refused the data; Permanent, with TI's messages.
//   - 401 and 403: the API key is wrong; RetryAfter(ConfigRetry).
//   - 404: Permanent when TI says the learner, user or assignment does not
//     exist. Any other 404 is treated as configuration, RetryAfter
//     (ConfigRetry): a wrong base URL also answers 404, and failing every
//     result for good because of a typo would lose them.
//   - other redirects: configuration (a base URL on http, or a moved host).
//   - 429: RetryAfter(Retry-After, or a minute).
//   - anything else, timeouts and connection errors: a plain error, which
//     the worker retries with backoff.
func (c *Client) classify(ctx context.Context, label string, reqURL *url.URL, resp *http.Response, err error) ([]byte, error) {
	if err != nil {
		// url.Error repeats the URL, which holds the learner's id.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("POST %s: %w", label, err)
	}
	defer resp.Body.Close()
	s := resp.StatusCode
	if s >= 200 && s < 300 {
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes))
		if err != nil {
			return nil, fmt.Errorf("reading the answer to POST %s: %w", label, err)
		}
		return body, nil
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBytes))
	detail := c.errorDetail(body)
	return nil, c.classifyRefusal(ctx, label, reqURL, resp, s, detail)
}

// classifyRefusal is classify for an answer other than 2xx.
func (c *Client) classifyRefusal(ctx context.Context, label string, reqURL *url.URL, resp *http.Response, s int, detail string) error {

	switch {
	case s == http.StatusFound:
		// A redirect back to the endpoint itself is a proxy moving us to
		// https or another host, not TI accepting the post.
		if h := resp.Header.Get("Location"); h != "" {
			if loc, err := reqURL.Parse(h); err == nil && loc.Path == reqURL.Path {
				return c.configError(ctx, label, s, fmt.Errorf("POST %s was redirected to %s://%s; set EXAMGATE_TI_BASE_URL to the address TI answers on", label, loc.Scheme, loc.Host))
			}
		}
		return nil
	case s >= 300 && s < 400:
		where := "elsewhere"
		if loc, err := reqURL.Parse(resp.Header.Get("Location")); err == nil && resp.Header.Get("Location") != "" {
			where = loc.Scheme + "://" + loc.Host
		}
		return c.configError(ctx, label, s, fmt.Errorf("thought industries answered HTTP %d on %s, redirecting %s; set EXAMGATE_TI_BASE_URL to the address TI answers on", s, label, where))
	case s == http.StatusBadRequest && featureDisabled(detail):
		return c.configError(ctx, label, s, fmt.Errorf("thought industries refused %s: %s; ask TI to enable the External Activity feature for the company, then the result is sent on the next try", label, detail))
	case s == http.StatusBadRequest || s == http.StatusUnprocessableEntity:
		return examgate.Permanent(fmt.Errorf("thought industries rejected %s (HTTP %d): %s; correct the data, then requeue the job", label, s, detail))
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		return c.configError(ctx, label, s, fmt.Errorf("thought industries refused the API key (HTTP %d on %s); check EXAMGATE_TI_API_KEY", s, label))
	case s == http.StatusNotFound:
		if saysMissing(detail) {
			return examgate.Permanent(fmt.Errorf("thought industries answered 404 on %s: %s; check the learner and the exam's TI assignment id, then requeue the job", label, detail))
		}
		return c.configError(ctx, label, s, fmt.Errorf("thought industries answered 404 on %s (%s); check EXAMGATE_TI_BASE_URL", label, detail))
	case s == http.StatusTooManyRequests:
		d := retryAfterOr(resp.Header.Get("Retry-After"), time.Now(), defaultRateWait)
		c.Pace.Block(min(d, maxBlock))
		return examgate.RetryAfter(d, fmt.Errorf("thought industries rate limited %s (HTTP 429); if this persists, lower the request rate", label))
	default:
		return fmt.Errorf("thought industries answered HTTP %d on %s: %s", s, label, detail)
	}
}

// featureDisabled reports whether TI refused a post because the company
// lacks the externalActivity feature: 400 {"errors":["externalActivity
// feature is not enabled"]} (docs/rest/assignments/external-activity).
func featureDisabled(detail string) bool {
	d := strings.ToLower(detail)
	return strings.Contains(d, "feature") && strings.Contains(d, "not enabled")
}

// configError logs a failure only the operator can fix and asks the worker
// to come back after ConfigRetry.
func (c *Client) configError(ctx context.Context, label string, status int, err error) error {
	if c.Logger != nil {
		msg := "thought industries configuration problem; check EXAMGATE_TI_BASE_URL"
		switch status {
		case http.StatusUnauthorized, http.StatusForbidden:
			msg = "TI refused the API key; check EXAMGATE_TI_API_KEY"
		case http.StatusBadRequest:
			msg = "thought industries configuration problem: the External Activity feature is not enabled for the company"
		}
		c.Logger.ErrorContext(ctx, msg, "status", status, "endpoint", label, "error", err)
	}
	d := c.ConfigRetry
	if d <= 0 {
		d = DefaultConfigRetry
	}
	return examgate.RetryAfter(d, err)
}

// errorDetail returns TI's messages (see errorMessages), or the start of
// any other body, made safe for logs.
func (c *Client) errorDetail(body []byte) string {
	text := strings.Join(errorMessages(body), "; ")
	if text == "" {
		text = strings.TrimSpace(string(body))
	}
	if text == "" {
		return "no message"
	}
	// A proxy might echo the request headers back.
	if c.apiKey != "" {
		text = strings.ReplaceAll(text, c.apiKey, "REDACTED")
	}
	text = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, text)
	if len(text) > maxDetailBytes {
		text = strings.ToValidUTF8(text[:maxDetailBytes], "") + "…"
	}
	return text
}

// saysMissing reports whether TI's message names a learner, user or
// assignment that does not exist, as opposed to a route that does not.
func saysMissing(detail string) bool {
	d := strings.ToLower(detail)
	missing := strings.Contains(d, "not found") || strings.Contains(d, "does not exist") || strings.Contains(d, "no such")
	return missing && (strings.Contains(d, "learner") || strings.Contains(d, "user") || strings.Contains(d, "assignment"))
}
