package graph

import (
	"context"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Error codes of the operations refused before they run. They are protocol
// errors: with Accept: application/graphql-response+json the answer is a 400.
const (
	CodeDepthLimit            = "DEPTH_LIMIT_EXCEEDED"
	CodeComplexityLimit       = "COMPLEXITY_LIMIT_EXCEEDED" // set by gqlgen's complexity extension
	CodeIntrospectionDisabled = "INTROSPECTION_DISABLED"
)

func init() {
	for _, code := range []string{CodeDepthLimit, CodeComplexityLimit, CodeIntrospectionDisabled} {
		errcode.RegisterErrorType(code, errcode.KindProtocol)
	}
}

// operationLimits refuses, after validation and before anything runs, an
// operation nested deeper than MaxDepth, one selecting more than MaxFields
// fields (an alias bomb) and, where introspection is off,
// one that asks for __schema or __type. Without the second check gqlgen
// would run the operation and answer the introspection field with an
// internal error.
type operationLimits struct {
	maxDepth      int
	maxFields     int
	introspection bool
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = operationLimits{}

func (operationLimits) ExtensionName() string                   { return "OperationLimits" }
func (operationLimits) Validate(graphql.ExecutableSchema) error { return nil }

func (l operationLimits) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	w := depthWalker{fragments: oc.Doc.Fragments, memo: map[string]shape{}}
	op := w.walk(oc.Operation.SelectionSet)
	if op.depth > l.maxDepth {
		err := gqlerror.Errorf("operation has depth %d, which exceeds the limit of %d: ask for fewer nested fields or split it into several queries", op.depth, l.maxDepth)
		errcode.Set(err, CodeDepthLimit)
		return err
	}
	if op.fields > l.maxFields {
		err := gqlerror.Errorf("operation selects %d fields, which exceeds the limit of %d: ask for fewer fields (each alias counts) or split it into several queries", op.fields, l.maxFields)
		errcode.Set(err, CodeComplexityLimit)
		return err
	}
	if !l.introspection && w.introspects {
		err := gqlerror.Errorf("introspection is turned off on this server: the schema is in the repository (graph/*.graphqls), or run a server with the playground on to explore it")
		errcode.Set(err, CodeIntrospectionDisabled)
		return err
	}
	return nil
}

// depthWalker measures how deeply an operation nests fields and how many it
// selects (each alias, and each spread of a fragment, counted), following
// fragment spreads and inline fragments. A fragment's shape does not
// depend on where it is spread, so each is measured once: fragments
// spreading each other many times cannot make the walk itself expensive.
type depthWalker struct {
	fragments   ast.FragmentDefinitionList
	memo        map[string]shape
	introspects bool
}

type shape struct{ depth, fields int }

// maxCount saturates field counts: fragments spreading each other can
// select more fields than an int holds.
const maxCount = 1 << 40

func (w *depthWalker) walk(set ast.SelectionSet) shape {
	var out shape
	for _, sel := range set {
		var s shape
		switch sel := sel.(type) {
		case *ast.Field:
			// __schema and __type are only valid on the root query type
			// (validation has checked that), so seeing them anywhere in the
			// walk means the operation introspects.
			if sel.Name == "__schema" || sel.Name == "__type" {
				w.introspects = true
			}
			s = w.walk(sel.SelectionSet)
			s.depth++
			s.fields = min(s.fields+1, maxCount)
			if strings.HasPrefix(sel.Name, "__") {
				// Introspection (on only with the playground) and
				// __typename resolve from the schema in memory: they cost
				// depth but no fields, as with gqlgen's complexity.
				s.fields = 0
			}
		case *ast.InlineFragment:
			s = w.walk(sel.SelectionSet)
		case *ast.FragmentSpread:
			s = w.fragment(sel.Name)
		}
		out.depth = max(out.depth, s.depth)
		out.fields = min(out.fields+s.fields, maxCount)
	}
	return out
}

func (w *depthWalker) fragment(name string) shape {
	if s, ok := w.memo[name]; ok {
		return s
	}
	// Validation refuses fragment cycles; the marker keeps the walk finite
	// should one ever get here.
	w.memo[name] = shape{}
	f := w.fragments.ForName(name)
	if f == nil {
		return shape{}
	}
	s := w.walk(f.SelectionSet)
	w.memo[name] = s
	return s
}
