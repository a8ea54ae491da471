package graph

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"

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
	MaxBodyBytes    = 64 << 10 // a query document with variables; far above any real one
	MaxComplexity   = 200
	MaxParserTokens = 2000
)

// Options configure the handler.
type Options struct {
	// Introspection is on only where the playground is, so that production
	// does not hand out its schema to anyone who asks.
	Introspection bool
	// RequestID returns the id the server gave the request, for error logs.
	RequestID func(context.Context) string
}

// NewHandler returns the GraphQL endpoint: POST (JSON) and GET (queries only),
// with complexity, token and body limits and an error presenter that turns
// domain errors into extensions.code and hides internal ones.
func NewHandler(r *Resolver, opts Options) http.Handler {
	srv := handler.New(NewExecutableSchema(Config{Resolvers: r}))
	srv.AddTransport(transport.GET{})
	srv.AddTransport(transport.POST{})
	srv.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	srv.SetParserTokenLimit(MaxParserTokens)
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
	srv.SetErrorPresenter(func(ctx context.Context, err error) *gqlerror.Error {
		gqlErr := graphql.DefaultErrorPresenter(ctx, err)
		var de *examgate.Error
		if !errors.As(err, &de) {
			// Parse and validation errors are the client's and safe to show.
			var ge *gqlerror.Error
			if errors.As(err, &ge) && ge.Err == nil {
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
		if id := reqID(ctx); id != "" && de.Code == examgate.EINTERNAL {
			gqlErr.Extensions["requestId"] = id
		}
		return gqlErr
	})
	srv.SetRecoverFunc(func(ctx context.Context, v any) error {
		log.ErrorContext(ctx, "graphql panic", "panic", v, "stack", string(debug.Stack()))
		return examgate.Errorf(examgate.EINTERNAL, "panic")
	})
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if len(req.URL.RawQuery) > MaxBodyBytes {
			http.Error(w, "query string too long: send large queries with POST", http.StatusRequestURITooLong)
			return
		}
		req.Body = http.MaxBytesReader(w, req.Body, MaxBodyBytes)
		srv.ServeHTTP(w, req)
	})
}
