package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	gqlcomplexity "github.com/99designs/gqlgen/complexity"
	"github.com/99designs/gqlgen/graphql"
	"github.com/examgate/examgate/graph/model"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Compiled operations. The web app's hottest documents — the autosave every
// answer sends and the dashboard every launch opens — are answered by code
// written for those documents alone: it calls the same resolvers and writes
// what gqlgen's executor would write for them, byte for byte, without
// parsing the request twice, building an operation context, walking
// selection sets or starting a goroutine per field (about a quarter of an
// autosave's CPU went there). Anything else, and any request to these
// documents that is not plainly well formed (another content type or
// Accept, extensions, a variable of another shape), goes to the general
// executor, so that its answers, errors included, stay gqlgen's.
// TestCompiledOperationsMatchExecutor (autosave) and
// TestCompiledDashboardMatchesExecutor hold both paths to the same bytes;
// TestCompiledDocumentsAreTheWebApps holds the documents to the web app's.

// compiledOp answers one document.
type compiledOp struct {
	name string // the operation's name
	// run decodes the variables and resolves the operation into c. It
	// reports false, having done nothing, when the variables are not in
	// the form it reads; the general executor then answers.
	run func(c *compiledCall, vars []byte) bool
	// cost is the operation's complexity as the complexity limit computes
	// it; it depends on no variable of these documents.
	cost int
	// locs are the fields' places in the document, by path ("saveAnswer",
	// "exam.attemptsLeft"), for the locations of their errors.
	locs map[string]gqlerror.Location
}

// compiledOps is the set the handler consults, keyed by document text.
type compiledOps struct {
	byQuery map[string]*compiledOp
	// prefixes are the bodies' beginnings as the web app writes them
	// ({"query":"<document>"…): a body that starts with none of them is
	// left to the executor before anything is decoded.
	prefixes [][]byte
	r        *Resolver
	present  graphql.ErrorPresenterFunc
	recover  graphql.RecoverFunc
	observe  func(operation, outcome string)
}

// newCompiledOps checks every compiled document against the schema (it must
// parse, validate and stay under the limits) and prices it once.
func newCompiledOps(r *Resolver, es graphql.ExecutableSchema, present graphql.ErrorPresenterFunc, recoverFn graphql.RecoverFunc, observe func(string, string)) *compiledOps {
	c := &compiledOps{byQuery: map[string]*compiledOp{}, r: r, present: present, recover: recoverFn, observe: observe}
	for query, op := range map[string]*compiledOp{
		SaveAnswerDocument: {name: "PlayerSaveAnswer", run: runSaveAnswer},
		DashboardDocument:  {name: "ExamDashboard", run: runDashboard},
	} {
		doc, errs := gqlparser.LoadQuery(es.Schema(), query)
		if errs != nil {
			panic(fmt.Sprintf("compiled operation %s does not validate: %v", op.name, errs))
		}
		def := doc.Operations.ForName(op.name)
		if def == nil {
			panic("compiled operation " + op.name + " is not in its document")
		}
		op.cost = gqlcomplexity.Calculate(context.Background(), es, def, nil)
		op.locs = map[string]gqlerror.Location{}
		fieldLocations(def.SelectionSet, "", op.locs)
		if op.cost > MaxComplexity {
			panic("compiled operation " + op.name + " is over the complexity limit")
		}
		c.byQuery[query] = op
		q, _ := json.Marshal(query)
		c.prefixes = append(c.prefixes, append([]byte(`{"query":`), q...))
	}
	return c
}

// fieldLocations notes where each field of set stands, under prefix.
func fieldLocations(set ast.SelectionSet, prefix string, locs map[string]gqlerror.Location) {
	for _, sel := range set {
		switch sel := sel.(type) {
		case *ast.Field:
			path := prefix + sel.Alias
			locs[path] = gqlerror.Location{Line: sel.Position.Line, Column: sel.Position.Column}
			fieldLocations(sel.SelectionSet, path+".", locs)
		case *ast.FragmentSpread:
			fieldLocations(sel.Definition.SelectionSet, prefix, locs)
		case *ast.InlineFragment:
			fieldLocations(sel.SelectionSet, prefix, locs)
		}
	}
}

// compiledRequest is the body of a request a compiled operation may answer.
type compiledRequest struct {
	Query         string          `json:"query"`
	OperationName string          `json:"operationName"`
	Variables     json.RawMessage `json:"variables"`
	Extensions    json.RawMessage `json:"extensions"`
}

// serve answers req if one of the compiled operations can, and reports
// whether it did.
func (c *compiledOps) serve(w http.ResponseWriter, req *http.Request, body []byte) bool {
	if req.Method != http.MethodPost || !c.known(body) || !plainJSON(req.Header.Get("Content-Type")) || req.Header.Get("Accept") != "application/json" {
		return false
	}
	var params compiledRequest
	if json.Unmarshal(body, &params) != nil || (len(params.Extensions) > 0 && string(params.Extensions) != "null") {
		return false
	}
	op := c.byQuery[params.Query]
	if op == nil || (params.OperationName != "" && params.OperationName != op.name) {
		return false
	}
	call := &compiledCall{ctx: req.Context(), ops: c, op: op}
	if !op.run(call, params.Variables) {
		return false
	}
	if c.observe != nil {
		outcome := "ok"
		if len(call.errs) > 0 {
			outcome = "error"
			if code, ok := call.errs[0].Extensions["code"].(string); ok {
				outcome = code
			}
		}
		c.observe(op.name, outcome)
	}
	var out []byte
	if len(call.errs) == 0 {
		out = call.envelope(op.cost)
	} else {
		// Errors are rare: json.Marshal writes them as the executor does.
		resp := &graphql.Response{Errors: call.errs, Data: call.data.Bytes()}
		if call.dataNull {
			resp.Data = []byte("null")
		}
		resp.Extensions = map[string]any{"cost": costExtension(req.Context(), op.cost, MaxComplexity)}
		var err error
		if out, err = json.Marshal(resp); err != nil {
			panic(fmt.Errorf("compiled operation %s: %w", op.name, err))
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(out)
	return true
}

// envelope writes an answer without errors as json.Marshal writes the
// executor's graphql.Response: the data, escaped for HTML as Marshal
// escapes a json.RawMessage, then extensions.cost with its keys sorted.
func (c *compiledCall) envelope(cost int) []byte {
	data := c.data.Bytes()
	out := make([]byte, 0, len(data)+160)
	out = append(out, `{"data":`...)
	out = appendHTMLSafe(out, data)
	out = append(out, `,"extensions":{"cost":{"limit":`...)
	out = strconv.AppendInt(out, MaxComplexity, 10)
	if rl, ok := rateLimitOf(c.ctx); ok {
		out = append(out, `,"rateLimit":{"limit":`...)
		out = strconv.AppendInt(out, int64(rl.Limit), 10)
		out = append(out, `,"remaining":`...)
		out = strconv.AppendInt(out, int64(rl.Remaining), 10)
		out = append(out, `,"resetAt":"`...)
		out = rl.ResetAt.UTC().AppendFormat(out, time.RFC3339)
		out = append(out, `"}`...)
	}
	out = append(out, `,"requested":`...)
	out = strconv.AppendInt(out, int64(cost), 10)
	return append(out, "}}}"...)
}

// appendHTMLSafe appends JSON written by the marshalers above with <, >, &
// and the line and paragraph separators escaped, as encoding/json does;
// they can stand only inside strings there, where the escapes mean the same.
func appendHTMLSafe(dst, src []byte) []byte {
	start := 0
	for i := 0; i < len(src); i++ {
		var esc string
		switch b := src[i]; {
		case b == '<':
			esc = `\u003c`
		case b == '>':
			esc = `\u003e`
		case b == '&':
			esc = `\u0026`
		case b == 0xE2 && i+2 < len(src) && src[i+1] == 0x80 && (src[i+2] == 0xA8 || src[i+2] == 0xA9):
			esc = `\u2028`
			if src[i+2] == 0xA9 {
				esc = `\u2029`
			}
		default:
			continue
		}
		dst = append(append(dst, src[start:i]...), esc...)
		if src[i] == 0xE2 {
			i += 2
		}
		start = i + 1
	}
	return append(dst, src[start:]...)
}

func (c *compiledOps) known(body []byte) bool {
	for _, p := range c.prefixes {
		if bytes.HasPrefix(body, p) {
			return true
		}
	}
	return false
}

// plainJSON reports whether a Content-Type is JSON with no parameter but
// UTF-8, as browsers and the web app send it.
func plainJSON(ct string) bool {
	switch ct {
	case "application/json", "application/json; charset=utf-8", "application/json;charset=utf-8", "application/json; charset=UTF-8":
		return true
	}
	return false
}

// compiledCall is one request's answer being written: the data object and
// the errors, presented as the general executor presents them.
type compiledCall struct {
	ctx  context.Context
	ops  *compiledOps
	op   *compiledOp
	data bytes.Buffer
	errs gqlerror.List
	// dataNull is set when an error reached a non-null root field: the
	// answer's data is null, as the GraphQL spec has errors propagate.
	dataNull bool
}

// fail records err as the error of the field at path, with the field's
// place in the document as the general executor gives it.
func (c *compiledCall) fail(err error, path ...any) { c.record(err, true, path) }

// record records err at path, with the field's place in the document when
// located (the executor leaves it out for a recovered panic).
func (c *compiledCall) record(err error, located bool, path []any) {
	p := make(ast.Path, 0, len(path))
	field := ""
	for _, el := range path {
		switch el := el.(type) {
		case string:
			p = append(p, ast.PathName(el))
			if field != "" {
				field += "."
			}
			field += el
		case int:
			p = append(p, ast.PathIndex(el))
		}
	}
	wrapped := gqlerror.WrapPath(p, err)
	if loc, ok := c.op.locs[field]; ok && located {
		wrapped.Locations = []gqlerror.Location{loc}
	}
	if e := c.ops.present(c.ctx, wrapped); e != nil {
		c.errs = append(c.errs, e)
	}
}

// resolve runs a resolver as the general executor does: a panic is
// recovered into the field's error. It reports whether f returned.
func (c *compiledCall) resolve(f func() error, path ...any) (ok bool) {
	defer func() {
		if v := recover(); v != nil {
			c.record(c.ops.recover(c.ctx, v), false, path)
			ok = false
		}
	}()
	if err := f(); err != nil {
		c.fail(err, path...)
		return false
	}
	return true
}

// The writers below write values as gqlgen's marshalers do (they are
// gqlgen's marshalers), so that both paths agree on every escape.

func (c *compiledCall) key(comma bool, name string) {
	if comma {
		c.data.WriteByte(',')
	}
	c.data.WriteByte('"')
	c.data.WriteString(name) // field names and aliases need no escaping
	c.data.WriteString(`":`)
}

func (c *compiledCall) str(s string)     { graphql.MarshalString(s).MarshalGQL(&c.data) }
func (c *compiledCall) id(s string)      { graphql.MarshalID(s).MarshalGQL(&c.data) }
func (c *compiledCall) boolean(b bool)   { c.data.WriteString(strconv.FormatBool(b)) }
func (c *compiledCall) integer(n int)    { c.data.WriteString(strconv.Itoa(n)) }
func (c *compiledCall) time(t time.Time) { model.MarshalTime(t).MarshalGQL(&c.data) }
func (c *compiledCall) null()            { c.data.WriteString("null") }
func (c *compiledCall) float(f float64)  { c.data.WriteString(strconv.FormatFloat(f, 'g', -1, 64)) } // %g, as gqlgen

func (c *compiledCall) optStr(s *string) {
	if s == nil {
		c.null()
		return
	}
	c.str(*s)
}

func (c *compiledCall) optInt(n *int) {
	if n == nil {
		c.null()
		return
	}
	c.integer(*n)
}

func (c *compiledCall) optFloat(f *float64) {
	if f == nil {
		c.null()
		return
	}
	c.float(*f)
}

// strictVars decodes variables into v, refusing unknown fields, so that a
// request of another shape goes to the general executor.
func strictVars(vars []byte, v any) bool {
	if len(vars) == 0 {
		return false
	}
	d := json.NewDecoder(bytes.NewReader(vars))
	d.DisallowUnknownFields()
	d.UseNumber()
	return d.Decode(v) == nil && !d.More()
}

// intVar reads an Int variable written as a plain JSON integer.
func intVar(n *json.Number) (int, bool) {
	if n == nil {
		return 0, false
	}
	s := string(*n)
	if len(s) == 0 || len(s) > 10 {
		return 0, false
	}
	v, err := strconv.Atoi(s)
	return v, err == nil
}

// stringsVar reads a list of non-null strings.
func stringsVar(l *[]*string) ([]string, bool) {
	if l == nil {
		return nil, false
	}
	out := make([]string, len(*l))
	for i, s := range *l {
		if s == nil {
			return nil, false
		}
		out[i] = *s
	}
	return out, true
}
