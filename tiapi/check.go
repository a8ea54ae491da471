package tiapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// PingResult is TI's answer to a ping, with what its headers tell of the
// key's rate limit and of TI's clock.
type PingResult struct {
	Valid     bool
	Date      time.Time // TI's clock, from the Date header; zero when absent
	Limit     int       // X-RateLimit-Limit; 0 when absent
	Remaining int       // X-RateLimit-Remaining; -1 when absent
}

// Ping checks that TI answers and takes the API key: GET
// /incoming/v2/ping answers {"valid": true} (docs/rest/ping); a key TI
// refuses is a 401 with an empty body (docs/rest/, Authentication).
func (c *Client) Ping(ctx context.Context) (PingResult, error) {
	const label = "/incoming/v2/ping"
	res := PingResult{Remaining: -1}
	ans, err := c.get(ctx, label, label, nil)
	if errors.Is(err, errNotFound) {
		return res, unavailable(errors.New("thought industries answered 404 for ping; check EXAMGATE_TI_BASE_URL (the address of your TI site, without /incoming)"))
	}
	if err != nil {
		return res, err
	}
	var body struct {
		Valid *bool `json:"valid"`
	}
	if json.Unmarshal(ans.body, &body) != nil || body.Valid == nil {
		return res, c.unreadable(ctx, &shapeError{label: label, want: `{"valid": true}`, keys: keysOf(ans.body)})
	}
	res.Valid = *body.Valid
	if d, err := http.ParseTime(ans.header.Get("Date")); err == nil {
		res.Date = d
	}
	if n, err := strconv.Atoi(strings.TrimSpace(ans.header.Get("X-RateLimit-Limit"))); err == nil {
		res.Limit = n
	}
	if n, err := strconv.Atoi(strings.TrimSpace(ans.header.Get("X-RateLimit-Remaining"))); err == nil {
		res.Remaining = n
	}
	return res, nil
}

// CourseExists looks a course up by id with GET
// /incoming/v2/courses/:courseId/structure (docs/rest/courses/structure),
// the nearest TI has to a course lookup: {"data":{"APICourseStructure":
// {"id",…}}}, or bare as the course-structure tutorial shows it.
func (c *Client) CourseExists(ctx context.Context, courseID string) (bool, error) {
	const label = "/incoming/v2/courses/{id}/structure"
	ans, err := c.get(ctx, "/incoming/v2/courses/"+url.PathEscape(courseID)+"/structure", label, nil)
	if errors.Is(err, errNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	raw, _, err := unwrap(label, ans.body, "APICourseStructure", "id")
	if err != nil {
		return false, c.unreadable(ctx, err)
	}
	return !isNull(raw), nil
}
