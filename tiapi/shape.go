package tiapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Shape names the layout TI answered in, for logs and `examgate ti check`.
const (
	ShapeEnveloped = "enveloped" // {"data":{"<Operation>":…}}
	ShapeBare      = "bare"      // the fields at the top level
)

// shapeError is a 2xx answer examgate cannot read. It lists the keys that
// were there, never their values, so that it can be logged as it is.
type shapeError struct {
	label string
	want  string
	keys  []string
}

func (e *shapeError) Error() string {
	seen := "no keys"
	if len(e.keys) > 0 {
		seen = "keys " + strings.Join(e.keys, ", ")
	}
	return fmt.Sprintf("thought industries answered %s in a shape examgate does not read (want %s; saw %s)", e.label, e.want, seen)
}

// unwrap finds the answer to operation op in body. TI's endpoint pages show
// answers wrapped as {"data":{"<op>":…}}, while other pages of the same
// documentation show the fields bare (docs/rest/pagination for events, the
// course-structure tutorial for courses), so both are read: the wrapped
// answer when "data" holds op, else the body itself when it has one of
// bareKeys. A null under op is returned as JSON null, for the caller to
// decide what a missing answer means.
func unwrap(label string, body []byte, op string, bareKeys ...string) (json.RawMessage, string, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil || top == nil {
		return nil, "", &shapeError{label: label, want: fmt.Sprintf("a JSON object (%v)", errOrNull(err))}
	}
	want := fmt.Sprintf(`{"data":{%q:…}} or a bare object with %s`, op, strings.Join(bareKeys, " or "))
	if data, ok := top["data"]; ok {
		var inner map[string]json.RawMessage
		if json.Unmarshal(data, &inner) == nil {
			if v, ok := inner[op]; ok {
				return v, ShapeEnveloped, nil
			}
			return nil, "", &shapeError{label: label, want: want, keys: prefixed("data.", inner)}
		}
	}
	for _, k := range bareKeys {
		if _, ok := top[k]; ok {
			return body, ShapeBare, nil
		}
	}
	keys := prefixed("", top)
	if msgs := errorMessages(body); len(msgs) > 0 {
		keys = append(keys, "errors: "+strings.Join(msgs, "; "))
	}
	return nil, "", &shapeError{label: label, want: want, keys: keys}
}

func errOrNull(err error) string {
	if err == nil {
		return "got null"
	}
	return err.Error()
}

// prefixed returns the keys of m, sorted, each after prefix; at most 20.
func prefixed(prefix string, m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, prefix+truncate(k))
	}
	slices.Sort(keys)
	if len(keys) > 20 {
		keys = append(keys[:20], "…")
	}
	return keys
}

func isNull(raw json.RawMessage) bool {
	return len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null"
}

// errorMessages reads TI's "errors" list, whose entries are strings on the
// External Activity page ({"errors":["…"]}) and objects elsewhere
// ({"errors":[{"error":"…"}]} in docs/rest/licenses/bulk-assignment, or
// {"message":"…"} as GraphQL answers carry them), and a top-level
// "message" such as the 429 body of docs/rest/rate-limits.
func errorMessages(body []byte) []string {
	var parsed struct {
		Errors  []json.RawMessage `json:"errors"`
		Message json.RawMessage   `json:"message"`
		Error   json.RawMessage   `json:"error"`
	}
	if json.Unmarshal(body, &parsed) != nil {
		return nil
	}
	var out []string
	add := func(raw json.RawMessage) bool {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
			return true
		}
		return false
	}
	for _, e := range parsed.Errors {
		if add(e) {
			continue
		}
		var obj struct {
			Message json.RawMessage `json:"message"`
			Error   json.RawMessage `json:"error"`
		}
		if json.Unmarshal(e, &obj) == nil && !add(obj.Message) {
			add(obj.Error)
		}
	}
	if len(out) == 0 && !add(parsed.Message) {
		add(parsed.Error)
	}
	return out
}

// eventTimeKeys are where a purchase event may carry its time. TI documents
// no event fields (docs/rest/events/course-purchase shows "events": [{}]),
// so the usual names are tried in order.
var eventTimeKeys = []string{"timestamp", "createdAt", "occurredAt", "purchasedAt"}

// eventTime reads an event's time: an ISO 8601 string, as the REST
// overview says bodies carry times (docs/rest/, Conventions), or a number
// of Unix milliseconds, the unit the same page gives cursors and filters.
func eventTime(ev map[string]json.RawMessage) (time.Time, error) {
	for _, k := range eventTimeKeys {
		raw, ok := ev[k]
		if !ok || isNull(raw) {
			continue
		}
		var s string
		if json.Unmarshal(raw, &s) == nil {
			t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
			if err != nil {
				return time.Time{}, fmt.Errorf("event %s %q is not an ISO 8601 time", k, truncate(s))
			}
			return t, nil
		}
		var n json.Number
		if json.Unmarshal(raw, &n) == nil {
			f, err := n.Float64()
			// Unix milliseconds between 1970 and 9999.
			if err != nil || math.IsNaN(f) || f < 0 || f > 253402300799999 {
				return time.Time{}, fmt.Errorf("event %s %s is not a time", k, truncate(n.String()))
			}
			return time.UnixMilli(int64(f)), nil
		}
		return time.Time{}, fmt.Errorf("event %s is neither a string nor a number", k)
	}
	return time.Time{}, fmt.Errorf("event has none of %s (keys %s)", strings.Join(eventTimeKeys, ", "), strings.Join(prefixed("", ev), ", "))
}

// eventCourse returns the course an event is about, when it says.
func eventCourse(ev map[string]json.RawMessage) (string, bool) {
	for _, k := range []string{"notifiableId", "purchasableId", "courseId"} {
		if raw, ok := ev[k]; ok && !isNull(raw) {
			if id, ok := jsonScalar(raw); ok {
				return id, true
			}
		}
	}
	return "", false
}
