package graph

import (
	"context"

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
// operation nested deeper than MaxDepth and, where introspection is off,
// one that asks for __schema or __type. Without the second check gqlgen
// would run the operation and answer the introspection field with an
// internal error.
type operationLimits struct {
	maxDepth      int
	introspection bool
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = operationLimits{}

func (operationLimits) ExtensionName() string                   { return "OperationLimits" }
func (operationLimits) Validate(graphql.ExecutableSchema) error { return nil }

func (l operationLimits) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	w := depthWalker{fragments: oc.Doc.Fragments, memo: map[string]int{}}
	depth := w.depth(oc.Operation.SelectionSet)
	if depth > l.maxDepth {
		err := gqlerror.Errorf("operation has depth %d, which exceeds the limit of %d: ask for fewer nested fields or split it into several queries", depth, l.maxDepth)
		errcode.Set(err, CodeDepthLimit)
		return err
	}
	if !l.introspection && w.introspects {
		err := gqlerror.Errorf("introspection is turned off on this server: the schema is in the repository (graph/*.graphqls), or run a server with the playground on to explore it")
		errcode.Set(err, CodeIntrospectionDisabled)
		return err
	}
	return nil
}

// depthWalker measures how deeply an operation nests fields, following
// fragment spreads and inline fragments. A fragment's depth does not depend
// on where it is spread, so each is measured once: fragments spreading each
// other many times cannot make the walk itself expensive.
type depthWalker struct {
	fragments   ast.FragmentDefinitionList
	memo        map[string]int
	introspects bool
}

func (w *depthWalker) depth(set ast.SelectionSet) int {
	deepest := 0
	for _, sel := range set {
		d := 0
		switch sel := sel.(type) {
		case *ast.Field:
			// __schema and __type are only valid on the root query type
			// (validation has checked that), so seeing them anywhere in the
			// walk means the operation introspects.
			if sel.Name == "__schema" || sel.Name == "__type" {
				w.introspects = true
			}
			d = 1 + w.depth(sel.SelectionSet)
		case *ast.InlineFragment:
			d = w.depth(sel.SelectionSet)
		case *ast.FragmentSpread:
			d = w.fragment(sel.Name)
		}
		deepest = max(deepest, d)
	}
	return deepest
}

func (w *depthWalker) fragment(name string) int {
	if d, ok := w.memo[name]; ok {
		return d
	}
	// Validation refuses fragment cycles; the marker keeps the walk finite
	// should one ever get here.
	w.memo[name] = 0
	f := w.fragments.ForName(name)
	if f == nil {
		return 0
	}
	d := w.depth(f.SelectionSet)
	w.memo[name] = d
	return d
}
