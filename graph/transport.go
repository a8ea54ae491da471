package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Codes of requests refused before a GraphQL document is read: what the
// client sent is not a GraphQL request examgate can take.
const (
	// CodeBadRequest: not JSON, a body that is not a GraphQL request
	// object, another content type, a malformed persisted query extension.
	CodeBadRequest = "BAD_REQUEST"
	// CodeRequestTooLarge: a body or query string over the limit (413, 414).
	CodeRequestTooLarge = "REQUEST_TOO_LARGE"
	// CodeMethodNotAllowed: a mutation sent with GET, or a method other
	// than GET and POST (405).
	CodeMethodNotAllowed = "METHOD_NOT_ALLOWED"
	// CodePersistedQueryMismatch: a query sent with a persisted query hash
	// that is not its SHA-256.
	CodePersistedQueryMismatch = "PERSISTED_QUERY_MISMATCH"
)

func init() {
	for _, code := range []string{CodeBadRequest, CodePersistedQueryMismatch} {
		errcode.RegisterErrorType(code, errcode.KindProtocol)
	}
}

// writeError answers a request refused before GraphQL sees it, in the shape
// of a GraphQL response so that clients show the message and read the code.
func writeError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]any{{"message": message, "extensions": map[string]string{"code": code}}}})
}

// MethodNotAllowed answers a request to /graphql with a method other than
// GET and POST.
func MethodNotAllowed(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Allow", "GET, POST")
	writeError(w, http.StatusMethodNotAllowed, CodeMethodNotAllowed, "/graphql takes POST (application/json) and, for queries, GET.")
}

// requestShape is what a POST body must be: gqlgen's RawParams, decoded
// here first so that a body that is not one gets a message in the terms of
// the GraphQL-over-HTTP spec instead of the decoder's (which names Go types
// and echoes the body).
type requestShape struct {
	Query         string         `json:"query"`
	OperationName string         `json:"operationName"`
	Variables     map[string]any `json:"variables"`
	Extensions    map[string]any `json:"extensions"`
}

// checkRequest refuses, with a message for the client, a request gqlgen
// would refuse without a code or with a message about its internals.
func checkRequest(req *http.Request, body []byte) (status int, message string) {
	switch req.Method {
	case http.MethodPost:
		mediaType, _, err := mime.ParseMediaType(req.Header.Get("Content-Type"))
		if err != nil || mediaType != "application/json" {
			return http.StatusUnsupportedMediaType, "Send the request as Content-Type: application/json, with a body such as {\"query\": \"{ __typename }\"}."
		}
		if len(bytes.TrimSpace(body)) == 0 {
			return http.StatusBadRequest, "The request body is empty: send a JSON object such as {\"query\": \"{ __typename }\"}."
		}
		var shape requestShape
		if err := json.Unmarshal(body, &shape); err != nil {
			return http.StatusBadRequest, "The request body " + jsonProblem(err) + "."
		}
	case http.MethodGet:
		q, err := url.ParseQuery(req.URL.RawQuery)
		if err != nil {
			return http.StatusBadRequest, "The query string is malformed (a % not followed by two hex digits, or a ; separator): encode each parameter with URL encoding."
		}
		for _, name := range []string{"variables", "extensions"} {
			if v := q.Get(name); v != "" {
				var m map[string]any
				if err := json.Unmarshal([]byte(v), &m); err != nil {
					return http.StatusBadRequest, fmt.Sprintf("The %s parameter %s.", name, jsonProblem(err))
				}
			}
		}
	}
	return 0, ""
}

// jsonProblem says, in JSON's terms, what is wrong with a document that did
// not decode into requestShape or a JSON object.
func jsonProblem(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax) && syntax.Error() == "unexpected end of JSON input", errors.Is(err, io.ErrUnexpectedEOF):
		return "is cut short: it is not complete JSON"
	case errors.As(err, &syntax):
		return fmt.Sprintf("is not valid JSON (error at byte %d)", syntax.Offset)
	case errors.As(err, &typ) && typ.Field != "":
		want := "a string"
		if typ.Field == "variables" || typ.Field == "extensions" {
			want = "an object"
		}
		return fmt.Sprintf("has %q as a JSON %s: it must be %s", typ.Field, typ.Value, want)
	case errors.As(err, &typ):
		return fmt.Sprintf("is a JSON %s: it must be an object", typ.Value)
	default:
		return "is not valid JSON"
	}
}

// persistedQueryCodes is gqlgen's automatic persisted queries with a code
// on each of its errors: PERSISTED_QUERY_NOT_FOUND (gqlgen's own),
// PERSISTED_QUERY_MISMATCH for a hash that is not the query's, and
// BAD_REQUEST for an extension in another form or version.
type persistedQueryCodes struct {
	extension.AutomaticPersistedQuery
}

var _ graphql.OperationParameterMutator = persistedQueryCodes{}

func (p persistedQueryCodes) MutateOperationParameters(ctx context.Context, raw *graphql.RawParams) *gqlerror.Error {
	query := raw.Query
	err := p.AutomaticPersistedQuery.MutateOperationParameters(ctx, raw)
	if err == nil || err.Extensions["code"] != nil {
		return err
	}
	if query != "" && err.Message == "provided APQ hash does not match query" {
		errcode.Set(err, CodePersistedQueryMismatch)
		return err
	}
	err.Message = "The persistedQuery extension must be {\"version\": 1, \"sha256Hash\": \"<hex SHA-256 of the query>\"}."
	errcode.Set(err, CodeBadRequest)
	return err
}
