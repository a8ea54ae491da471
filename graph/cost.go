package graph

import (
	"context"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/examgate/examgate/graph/model"
)

// RateLimit is what is left of the caller's request budget, as the
// server's rate limiter counted it for this request.
type RateLimit struct {
	Limit     int       // requests that may be sent at once (the burst)
	Remaining int       // requests left now, this one counted
	ResetAt   time.Time // when the budget is full again
}

type rateLimitKey struct{}

// WithRateLimit returns a context whose GraphQL answer tells the caller
// its budget.
func WithRateLimit(ctx context.Context, rl RateLimit) context.Context {
	return context.WithValue(ctx, rateLimitKey{}, rl)
}

func rateLimitOf(ctx context.Context) (RateLimit, bool) {
	rl, ok := ctx.Value(rateLimitKey{}).(RateLimit)
	return rl, ok
}

// costOf returns the operation's computed complexity and the limit, once
// the complexity extension has priced it.
func costOf(ctx context.Context) (cost, limit int, ok bool) {
	if !graphql.HasOperationContext(ctx) {
		return 0, 0, false
	}
	stats := extension.GetComplexityStats(ctx)
	if stats == nil {
		return 0, 0, false
	}
	return stats.Complexity, stats.ComplexityLimit, true
}

// addCost puts extensions.cost on every answer to an operation that was
// priced: its complexity, the most one operation may cost, and the
// caller's request budget when one applies.
func addCost(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	cost, limit, ok := costOf(ctx)
	if resp == nil || !ok {
		return resp
	}
	if resp.Extensions == nil {
		resp.Extensions = map[string]any{}
	}
	resp.Extensions["cost"] = costExtension(ctx, cost, limit)
	return resp
}

// costExtension is extensions.cost of an answer.
func costExtension(ctx context.Context, cost, limit int) map[string]any {
	c := map[string]any{"requested": cost, "limit": limit}
	if rl, ok := rateLimitOf(ctx); ok {
		c["rateLimit"] = map[string]any{"limit": rl.Limit, "remaining": rl.Remaining, "resetAt": rl.ResetAt.UTC().Format(time.RFC3339)}
	}
	return c
}

// partnerRateLimit is the partner.rateLimit field.
func partnerRateLimit(ctx context.Context) *model.RateLimit {
	rl, ok := rateLimitOf(ctx)
	if !ok {
		return nil
	}
	cost, _, _ := costOf(ctx)
	return &model.RateLimit{Limit: rl.Limit, Remaining: rl.Remaining, ResetAt: rl.ResetAt.UTC(), Cost: cost}
}
