package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"runtime/debug"
	"strings"
	"sync/atomic"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/examgate/examgate"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Limits bound what one request may cost.
const (
	MaxBodyBytes = 64 << 10 // a query document with variables; far above any real one
	// MaxFields bounds the fields an operation selects, each alias and
	// each fragment spread counted: an alias bomb runs a resolver per alias.
	MaxFields = 200
	// MaxComplexity bounds what an operation may resolve: each field costs
	// 1 plus its children, and a list field its rows (first, or 100 for a
	// candidate's lists) times what each row asks (complexity.go), so that
	// lists nested in lists cannot multiply the response unchecked. The
	// partner guide's page of 100 bookings costs 2802, its candidate query
	// 1508 (TestPartnerDocsOperationsRun).
	MaxComplexity   = 5000
	MaxParserTokens = 2000
	// MaxDepth is how deeply fields may nest. The deepest real query (the
	// playground's introspection query, whose type references nest eight
	// deep) has depth 13.
	MaxDepth = 15
	// QueryCacheSize is how many parsed documents are kept, and
	// PersistedQueries how many automatic persisted queries, each at most
	// MaxPersistedQueryBytes long: at most 4 MiB of query text.
	QueryCacheSize         = 1000
	PersistedQueries       = 512
	MaxPersistedQueryBytes = 8 << 10
)

// Options configure the handler.
type Options struct {
	// Introspection is on only where the playground is, so that production
	// does not hand out its schema to anyone who asks.
	Introspection bool
	// RequestID returns the id the server gave the request, for error logs.
	RequestID func(context.Context) string
	// ExecutorOnly answers every operation with gqlgen's executor, the
	// web app's hot documents too (compiled.go); tests compare the two.
	ExecutorOnly bool
	// Observe, when set, is told each operation's name and outcome (ok, or
	// the code of its first error).
	Observe func(operation, outcome string)
}

// Outcome collects what the transport needs to know of a request's errors
// after execution: an UNAVAILABLE error makes the answer a 503.
type Outcome struct{ unavailable atomic.Bool }

// Unavailable reports whether any error of the request was UNAVAILABLE.
func (o *Outcome) Unavailable() bool { return o.unavailable.Load() }

type outcomeKey struct{}

// WithOutcome returns a context whose request's errors are recorded in the
// returned Outcome.
func WithOutcome(ctx context.Context) (context.Context, *Outcome) {
	o := &Outcome{}
	return context.WithValue(ctx, outcomeKey{}, o), o
}

// NewHandler returns the GraphQL endpoint: POST (JSON) and GET (queries
// only), following the GraphQL-over-HTTP spec (docs/graphql-http.md), with
// automatic persisted queries, a cache of parsed documents, depth,
// complexity, token and body limits, and an error presenter that turns
// domain errors into extensions.code and hides internal ones.
func NewHandler(r *Resolver, opts Options) http.Handler {
	es := NewExecutableSchema(Config{Resolvers: r, Complexity: complexity()})
	srv := handler.New(es)
	srv.AddTransport(transport.GET{})
	srv.AddTransport(transport.POST{})
	srv.SetQueryCache(lru.New[*ast.QueryDocument](QueryCacheSize))
	srv.SetParserTokenLimit(MaxParserTokens)
	srv.Use(persistedQueryCodes{extension.AutomaticPersistedQuery{Cache: persistedQueries{lru.New[string](PersistedQueries)}}})
	srv.Use(operationLimits{maxDepth: MaxDepth, maxFields: MaxFields, introspection: opts.Introspection})
	srv.Use(extension.FixedComplexityLimit(MaxComplexity))
	if opts.Introspection {
		srv.Use(extension.Introspection{})
	}
	log := r.Logger
	if log == nil {
		log = slog.Default()
	}
	reqID := opts.RequestID
	if reqID == nil {
		reqID = func(context.Context) string { return "" }
	}
	present := func(ctx context.Context, err error) *gqlerror.Error {
		gqlErr := graphql.DefaultErrorPresenter(ctx, err)
		// The request's deadline passed (a stalled table, an exhausted
		// pool) or the database could not be reached: an outage, not a
		// bug; the server answers 503.
		err = examgate.Outage(err, "examgate cannot answer just now. Try again in a few seconds.")
		var de *examgate.Error
		if !errors.As(err, &de) {
			// Parse and validation errors are the client's and safe to show.
			var ge *gqlerror.Error
			if errors.As(err, &ge) && ge.Err == nil {
				if gqlErr.Extensions["code"] == CodeComplexityLimit && strings.HasPrefix(gqlErr.Message, "operation has complexity") {
					e := *gqlErr
					e.Message += ": ask for smaller pages (first) or fewer lists nested in lists (each row counts), or split it into several queries"
					return &e
				}
				if gqlErr.Extensions["code"] == nil {
					// Every error carries a code; gqlgen's own refusals
					// without one are about the request's form.
					e := *gqlErr
					e.Extensions = map[string]any{"code": CodeBadRequest}
					return &e
				}
				return gqlErr
			}
			de = examgate.Wrap(examgate.EINTERNAL, err, "")
		}
		if de.Code == examgate.EINTERNAL {
			log.ErrorContext(ctx, "graphql internal error", "path", gqlErr.Path.String(), "err", err)
		}
		gqlErr.Message = examgate.ErrorMessage(de)
		if gqlErr.Extensions == nil {
			gqlErr.Extensions = map[string]any{}
		}
		gqlErr.Extensions["code"] = de.Code
		if de.Code == examgate.EUNAVAILABLE {
			if o, ok := ctx.Value(outcomeKey{}).(*Outcome); ok {
				o.unavailable.Store(true)
			}
		}
		if id := reqID(ctx); id != "" && de.Code == examgate.EINTERNAL {
			gqlErr.Extensions["requestId"] = id
		}
		return gqlErr
	}
	srv.SetErrorPresenter(present)
	srv.AroundResponses(addCost)
	if opts.Observe != nil {
		srv.AroundResponses(func(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
			resp := next(ctx)
			name, outcome := "", "ok"
			if graphql.HasOperationContext(ctx) {
				oc := graphql.GetOperationContext(ctx)
				name = oc.OperationName
				if oc.Operation != nil && oc.Operation.Name != "" {
					name = oc.Operation.Name // named in the document, not only in the request
				}
			}
			if resp != nil && len(resp.Errors) > 0 {
				outcome = "error"
				if code, ok := resp.Errors[0].Extensions["code"].(string); ok {
					outcome = code
				}
			}
			opts.Observe(name, outcome)
			return resp
		})
	}
	recoverFn := func(ctx context.Context, v any) error {
		log.ErrorContext(ctx, "graphql panic", "panic", v, "stack", string(debug.Stack()))
		return examgate.Errorf(examgate.EINTERNAL, "panic")
	}
	srv.SetRecoverFunc(recoverFn)
	var compiled *compiledOps
	if !opts.ExecutorOnly {
		compiled = newCompiledOps(r, es, present, recoverFn, opts.Observe)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if len(req.URL.RawQuery) > MaxBodyBytes {
			writeError(w, http.StatusRequestURITooLong, CodeRequestTooLarge, fmt.Sprintf("The query string is over %d KiB: send large queries with POST.", MaxBodyBytes>>10))
			return
		}
		var bodyBytes []byte
		if req.Body != nil && req.Body != http.NoBody {
			// Read the body here so that one over the limit is a 413, not
			// a GraphQL error about an unreadable body.
			body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, MaxBodyBytes))
			if err != nil {
				var tooLarge *http.MaxBytesError
				if errors.As(err, &tooLarge) {
					writeError(w, http.StatusRequestEntityTooLarge, CodeRequestTooLarge, fmt.Sprintf("The request body is over %d KiB: send a smaller query or fewer variables.", MaxBodyBytes>>10))
					return
				}
				writeError(w, http.StatusBadRequest, CodeBadRequest, "The request body could not be read to its end.")
				return
			}
			req.Body = io.NopCloser(bytes.NewReader(body))
			bodyBytes = body
		}
		if compiled != nil && compiled.serve(w, req, bodyBytes) {
			return
		}
		if status, msg := checkRequest(req, bodyBytes); status != 0 {
			writeError(w, status, CodeBadRequest, msg)
			return
		}
		cw := &conformingWriter{ResponseWriter: w, method: req.Method}
		srv.ServeHTTP(cw, req)
		cw.finish()
	})
}

// persistedQueries keeps automatic persisted queries, refusing to keep long
// ones: the text is stored before it is parsed, so the parser's token limit
// does not bound it. A query not kept still runs; the client just sends it
// in full again next time.
type persistedQueries struct{ graphql.Cache[string] }

func (c persistedQueries) Add(ctx context.Context, hash, query string) {
	if len(query) <= MaxPersistedQueryBytes {
		c.Cache.Add(ctx, hash, query)
	}
}

// conformingWriter adjusts gqlgen's answers to a request the GraphQL
// document of which was refused (parse, validation, variable or limit
// errors) to the GraphQL-over-HTTP spec:
//   - application/json: such an answer is a 200 (gqlgen sends 422), as
//     clients that predate the spec expect errors in a 200;
//   - application/graphql-response+json: the 4xx answer carries no data
//     entry (gqlgen writes "data": null), since nothing was executed;
//   - a mutation sent with GET is a 405 with Allow: POST (gqlgen sends 406).
type conformingWriter struct {
	http.ResponseWriter
	method string
	status int
	buf    *bytes.Buffer // the held body of a 4xx graphql-response+json answer
	// replaced is set once the answer was written here instead of gqlgen's.
	replaced bool
}

func (w *conformingWriter) WriteHeader(code int) {
	mediaType, _, _ := mime.ParseMediaType(w.Header().Get("Content-Type"))
	switch {
	case code == http.StatusNotAcceptable && w.method == http.MethodGet:
		// gqlgen's GET transport answers 406 only to a mutation, with a
		// body without a code: it is replaced.
		w.Header().Set("Allow", "POST")
		w.replaced = true
		writeError(w.ResponseWriter, http.StatusMethodNotAllowed, CodeMethodNotAllowed, "A mutation must be sent with POST; GET runs queries only.")
		return
	case code == http.StatusUnprocessableEntity && mediaType == "application/json":
		code = http.StatusOK
	case code >= 400 && code < 500 && mediaType == "application/graphql-response+json":
		w.status, w.buf = code, &bytes.Buffer{}
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *conformingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *conformingWriter) Write(p []byte) (int, error) {
	if w.replaced {
		return len(p), nil
	}
	if w.buf != nil {
		return w.buf.Write(p)
	}
	return w.ResponseWriter.Write(p)
}

func (w *conformingWriter) finish() {
	if w.buf == nil {
		return
	}
	body := w.buf.Bytes()
	var resp map[string]json.RawMessage
	if json.Unmarshal(body, &resp) == nil {
		if d, ok := resp["data"]; ok && string(d) == "null" {
			delete(resp, "data")
			if b, err := json.Marshal(resp); err == nil {
				body = b
			}
		}
	}
	w.ResponseWriter.WriteHeader(w.status)
	_, _ = w.ResponseWriter.Write(body)
}
