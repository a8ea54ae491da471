package examgate_test

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/examgate/examgate"
)

// withDelivery is a one-exam catalog with the given delivery mapping.
func withDelivery(delivery string) []byte {
	return []byte(`exams: [{code: DEMO-101, title: x, eligibilityDays: 9, ti: {courseIds: [c]}, delivery: {` + delivery + `}}]`)
}

// loadDelivery parses a one-exam catalog and returns its delivery.
func loadDelivery(t *testing.T, delivery string) *examgate.Delivery {
	t.Helper()
	c, err := examgate.ParseCatalog(withDelivery(delivery))
	if err != nil {
		t.Fatal(err)
	}
	e, _ := c.Exam("DEMO-101")
	return e.Delivery
}

const okItem = `{id: q1, type: single, stem: S, options: [{id: a, text: A}, {id: b, text: B}], correct: [a]}`

func TestDeliveryErrors(t *testing.T) {
	const d = `durationMinutes: 30, `
	items := func(list ...string) string { return d + "items: [" + strings.Join(list, ", ") + "]" }
	many := make([]string, 27)
	for i := range many {
		many[i] = fmt.Sprintf("{id: o%d, text: T}", i)
	}
	cases := []struct{ in, want string }{
		{`durationMinutes: 0, items: [` + okItem + `]`, `exam "DEMO-101": delivery.durationMinutes: must be between 1 and 600`},
		{`durationMinutes: 601, items: [` + okItem + `]`, `delivery.durationMinutes: must be between 1 and 600`},
		{d + `passMark: 100.5, items: [` + okItem + `]`, `exam "DEMO-101": delivery.passMark: must be a percentage between 0 and 100`},
		{d + `passMark: -1, items: [` + okItem + `]`, `delivery.passMark`},
		{d + `passMark: .nan, items: [` + okItem + `]`, `delivery.passMark`},
		{d + `maxAttempts: 101, items: [` + okItem + `]`, `exam "DEMO-101": delivery.maxAttempts: must be between 0 and 100`},
		{d + `maxAttempts: -1, items: [` + okItem + `]`, `delivery.maxAttempts`},
		{d + `grace: 11m, items: [` + okItem + `]`, `exam "DEMO-101": delivery.grace: must be at most 10m`},
		{d + `grace: soon, items: [` + okItem + `]`, `"soon" is not a duration`},
		{`durationMinutes: 30`, `exam "DEMO-101": delivery.items: set exactly one of items, sections or itemsFile`},
		{d + `items: []`, `delivery.items: set exactly one of items, sections or itemsFile`},
		{d + `items: [` + okItem + `], sections: [{items: [` + okItem + `]}]`, `set exactly one of items, sections or itemsFile`},
		{d + `items: [` + okItem + `], itemsFile: x.yaml`, `set exactly one of items, sections or itemsFile`},
		{d + `sections: [{title: One, items: [` + okItem + `]}, {title: Two}]`, `exam "DEMO-101": delivery.sections[1]: has no items`},
		{d + `items: [{id: q1, type: single, stem: S, options: [{id: a, text: A}, {id: b, text: B}], correct: [a], hint: h}]`, `field hint not found`},

		{items(`{type: single, stem: S, options: [{id: a, text: A}, {id: b, text: B}], correct: [a]}`), `exam "DEMO-101": delivery.items[0]: id: is required`},
		{items(`{id: "a b", type: single, stem: S, options: [{id: a, text: A}, {id: b, text: B}], correct: [a]}`), `delivery.items[0] (id "a b"): id: use 1-64 letters`},
		{items(`{id: "` + strings.Repeat("q", 65) + `", type: single, stem: S, options: [{id: a, text: A}, {id: b, text: B}], correct: [a]}`), `: id: use 1-64 letters`},
		{items(okItem, okItem), `exam "DEMO-101": delivery.items[1] (id "q1"): id: appears twice in this exam`},
		{d + `sections: [{items: [` + okItem + `]}, {items: [` + okItem + `]}]`, `delivery.sections[1].items[0] (id "q1"): id: appears twice`},
		{items(okItem, `{id: q2, stem: S, options: [{id: a, text: A}, {id: b, text: B}], correct: [a]}`), `delivery.items[1] (id "q2"): type: is required`},
		{items(`{id: q1, type: essay, stem: S, options: [{id: a, text: A}, {id: b, text: B}], correct: [a]}`), `delivery.items[0] (id "q1"): type: "essay" is not single, multiple or truefalse`},
		{items(`{id: q1, type: single, stem: "  ", options: [{id: a, text: A}, {id: b, text: B}], correct: [a]}`), `delivery.items[0] (id "q1"): stem: is required`},
		{items(`{id: q1, type: single, stem: ` + strings.Repeat("x", 20001) + `, options: [{id: a, text: A}, {id: b, text: B}], correct: [a]}`), `delivery.items[0] (id "q1"): stem: is 20001 bytes: at most 20000`},
		{items(`{id: q1, type: single, stem: S, options: [{id: a, text: A}, {id: b, text: B}], correct: [a], points: -1}`), `delivery.items[0] (id "q1"): points: must be more than 0 and at most 1000`},
		{items(`{id: q1, type: single, stem: S, options: [{id: a, text: A}, {id: b, text: B}], correct: [a], points: 1000.5}`), `(id "q1"): points:`},
		{items(`{id: q1, type: single, stem: S, options: [{id: a, text: A}], correct: [a]}`), `delivery.items[0] (id "q1"): options: list between 2 and 26 options`},
		{items(`{id: q1, type: multiple, stem: S, options: [` + strings.Join(many, ", ") + `], correct: [o1]}`), `(id "q1"): options: list between 2 and 26 options`},
		{items(`{id: q1, type: single, stem: S, options: [{id: a, text: A}, {text: B}], correct: [a]}`), `delivery.items[0] (id "q1"): options[1].id: is required`},
		{items(`{id: q1, type: single, stem: S, options: [{id: a, text: A}, {id: a, text: B}], correct: [a]}`), `(id "q1"): options[1].id: "a" appears twice`},
		{items(`{id: q1, type: single, stem: S, options: [{id: a, text: A}, {id: b, text: " "}], correct: [a]}`), `(id "q1"): options[1].text: is required`},
		{items(`{id: q1, type: truefalse, stem: S, options: [{id: yes, text: Yes}, {id: no, text: No}], correct: [yes]}`), `(id "q1"): options: a true/false item has exactly the option ids "true" and "false"`},
		{items(`{id: q1, type: truefalse, stem: S, options: [{id: "true", text: T}, {id: "false", text: F}, {id: maybe, text: M}], correct: ["true"]}`), `(id "q1"): options: a true/false item`},
		{items(`{id: q1, type: truefalse, stem: S, options: [{id: "true", text: T}, {id: "false", text: ""}], correct: ["true"]}`), `(id "q1"): options[1].text: is required`},
		{items(`{id: q1, type: truefalse, stem: S, correct: [maybe]}`), `(id "q1"): correct: "maybe" is not an option id`},
		{items(`{id: q1, type: single, stem: S, options: [{id: a, text: A}, {id: b, text: B}]}`), `delivery.items[0] (id "q1"): correct: list exactly one option id`},
		{items(`{id: q1, type: single, stem: S, options: [{id: a, text: A}, {id: b, text: B}], correct: [a, b]}`), `(id "q1"): correct: list exactly one option id`},
		{items(`{id: q1, type: truefalse, stem: S, correct: ["true", "false"]}`), `(id "q1"): correct: list exactly one option id`},
		{items(`{id: q1, type: multiple, stem: S, options: [{id: a, text: A}, {id: b, text: B}], correct: []}`), `(id "q1"): correct: list at least one option id`},
		{items(`{id: q1, type: multiple, stem: S, options: [{id: a, text: A}, {id: b, text: B}], correct: [a, a]}`), `(id "q1"): correct: "a" appears twice`},
		{items(okItem, `{id: q2, type: single, stem: S, options: [{id: a, text: A}, {id: b, text: B}], correct: [b]}`,
			`{id: q3, type: multiple, stem: S, options: [{id: a, text: A}, {id: b, text: B}], correct: [a, e]}`),
			`exam "DEMO-101": delivery.items[2] (id "q3"): correct: "e" is not an option id`},
	}
	for _, c := range cases {
		_, err := examgate.ParseCatalog(withDelivery(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			name := c.in
			if len(name) > 120 {
				name = name[:120] + "…"
			}
			t.Errorf("%s:\nerr  = %v\nwant it to contain %q", name, err, c.want)
		}
	}
}

func TestDeliveryDefaults(t *testing.T) {
	d := loadDelivery(t, `durationMinutes: 45, items: [`+okItem+`, {id: t1, type: truefalse, stem: S, correct: ["false"], points: 2.5}]`)
	if d.Attempts() != 1 || d.GraceD() != 30*time.Second {
		t.Errorf("Attempts = %d, GraceD = %v; want 1 and 30s", d.Attempts(), d.GraceD())
	}
	// Top-level items become one untitled section.
	if len(d.Items) != 0 || len(d.Sections) != 1 || d.Sections[0].Title != "" || d.ItemCount() != 2 {
		t.Fatalf("items %v, sections %+v", d.Items, d.Sections)
	}
	q1, ok := d.Item("q1")
	if !ok || q1.Points != 1 {
		t.Errorf("q1 = %+v, %v; want the default of 1 point", q1, ok)
	}
	t1, ok := d.Item("t1")
	want := []examgate.Option{{ID: "true", Text: "True"}, {ID: "false", Text: "False"}}
	if !ok || !reflect.DeepEqual(t1.Options, want) || t1.Points != 2.5 {
		t.Errorf("t1 = %+v, want options %v", t1, want)
	}
	if _, ok := d.Item("nope"); ok {
		t.Error("Item found an unknown id")
	}
	if d.MaxPoints() != 3.5 {
		t.Errorf("MaxPoints = %v, want 3.5", d.MaxPoints())
	}

	d = loadDelivery(t, `durationMinutes: 600, passMark: 100, maxAttempts: 100, grace: 10m, items: [
		{id: t1, type: truefalse, stem: S, options: [{id: "false", text: Onwaar}, {id: "true", text: Waar}], correct: ["true"], points: 1000}]`)
	if d.Attempts() != 100 || d.GraceD() != 10*time.Minute || d.MaxPoints() != 1000 {
		t.Errorf("Attempts = %d, GraceD = %v, MaxPoints = %v", d.Attempts(), d.GraceD(), d.MaxPoints())
	}
	if t1, _ := d.Item("t1"); t1.Options[0] != (examgate.Option{ID: "false", Text: "Onwaar"}) {
		t.Errorf("given true/false options must be kept as written: %v", t1.Options)
	}

	// A delivery built in code, with top-level items and no defaults filled.
	code := &examgate.Delivery{DurationMinutes: 10, Items: []examgate.Item{{ID: "x", Type: examgate.ItemTrueFalse, Stem: "S", Correct: []string{"true"}}}}
	if x, ok := code.Item("x"); !ok || x.ID != "x" || code.ItemCount() != 1 || code.MaxPoints() != 1 {
		t.Errorf("code-built delivery: %v %v %d %v", x, ok, code.ItemCount(), code.MaxPoints())
	}
	if p := code.Present(1); len(p) != 1 || len(p[0].Items[0].Options) != 2 || p[0].Items[0].StemHTML != "<p>S</p>\n" {
		t.Errorf("code-built Present = %+v", p)
	}
}

func TestDeliverySections(t *testing.T) {
	d := loadDelivery(t, `durationMinutes: 30, sections: [
		{title: Basics, items: [`+okItem+`]},
		{title: Advanced, items: [{id: q2, type: multiple, stem: S, options: [{id: a, text: A}, {id: b, text: B}, {id: c, text: C}], correct: [a, c], points: 3}]}]`)
	if len(d.Sections) != 2 || d.Sections[0].Title != "Basics" || d.Sections[1].Title != "Advanced" || d.ItemCount() != 2 || d.MaxPoints() != 4 {
		t.Fatalf("sections = %+v", d.Sections)
	}
	if q2, ok := d.Item("q2"); !ok || q2 != &d.Sections[1].Items[0] {
		t.Error("Item must return the catalog's item")
	}
}

// writeFiles writes name → content under dir, creating directories.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const itemsCatalog = `exams:
  - code: DEMO-101
    title: Demo
    eligibilityDays: 9
    ti: {courseIds: [c]}
    delivery:
      durationMinutes: 30
      itemsFile: %s
`

func TestItemsFile(t *testing.T) {
	dir := t.TempDir()
	abs := filepath.Join(t.TempDir(), "elsewhere.yaml")
	writeFiles(t, dir, map[string]string{
		"exams.yaml":         fmt.Sprintf(itemsCatalog, "content/items.yaml"),
		"flat.yaml":          fmt.Sprintf(itemsCatalog, "flat-items.yaml"),
		"absolute.yaml":      fmt.Sprintf(itemsCatalog, abs),
		"content/items.yaml": "sections:\n  - title: One\n    items: [" + okItem + "]\n  - title: Two\n    items: [{id: t1, type: truefalse, stem: S, correct: [\"true\"]}]\n",
		"flat-items.yaml":    "items: [" + okItem + "]\n",
	})
	writeFiles(t, filepath.Dir(abs), map[string]string{"elsewhere.yaml": "items: [" + okItem + "]\n"})

	// The test runs in the package directory, not dir: the items file must
	// be found next to the catalog, not in the working directory.
	c, err := examgate.LoadCatalog(filepath.Join(dir, "exams.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	e, _ := c.Exam("DEMO-101")
	d := e.Delivery
	if len(d.Sections) != 2 || d.Sections[0].Title != "One" || d.Sections[1].Title != "Two" || d.ItemCount() != 2 {
		t.Fatalf("sections = %+v", d.Sections)
	}
	if t1, ok := d.Item("t1"); !ok || len(t1.Options) != 2 || t1.Points != 1 {
		t.Errorf("defaults not filled from the items file: %+v", t1)
	}
	for _, name := range []string{"flat.yaml", "absolute.yaml"} {
		c, err := examgate.LoadCatalog(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		e, _ := c.Exam("DEMO-101")
		if s := e.Delivery.Sections; len(s) != 1 || s[0].Title != "" || len(s[0].Items) != 1 || s[0].Items[0].ID != "q1" {
			t.Errorf("%s: sections = %+v", name, s)
		}
	}
}

func TestItemsFileErrors(t *testing.T) {
	cases := []struct{ items, want string }{
		{"sections:\n  - items: [" + okItem + ", {id: q2, type: single, stem: S, options: [{id: a, text: A}, {id: b, text: B}], correct: [e]}]\n",
			`: sections[0].items[1] (id "q2"): correct: "e" is not an option id`},
		{"items: [" + okItem + ", " + okItem + "]\n", `: items[1] (id "q1"): id: appears twice`},
		{"items: [" + okItem + "]\nsections: [{items: [" + okItem + "]}]\n", `: has both items and sections`},
		{"", `: has no items`},
		{"items: []\n", `: has no items`},
		{"questions: [" + okItem + "]\n", `field questions not found`},
		{"items: [{id: q1, type: single, stem: S, options: [{id: a, text: A}, {id: b, text: B}], correct: [a], answer: a}]\n", `field answer not found`},
		{"sections: [{title: Empty}]\n", `: sections[0]: has no items`},
	}
	for i, c := range cases {
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{"exams.yaml": fmt.Sprintf(itemsCatalog, "items.yaml"), "items.yaml": c.items})
		catalog := filepath.Join(dir, "exams.yaml")
		_, err := examgate.LoadCatalog(catalog)
		// The message names the catalog, the exam, the items file and the problem.
		prefix := "exam catalog " + catalog + `: exam "DEMO-101": delivery.itemsFile ` + filepath.Join(dir, "items.yaml")
		if err == nil || !strings.HasPrefix(err.Error(), prefix) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("case %d: err = %v\nwant %q … %q", i, err, prefix, c.want)
		}
	}

	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"exams.yaml": fmt.Sprintf(itemsCatalog, "missing.yaml")})
	_, err := examgate.LoadCatalog(filepath.Join(dir, "exams.yaml"))
	if err == nil || !strings.Contains(err.Error(), `exam "DEMO-101": delivery.itemsFile `+filepath.Join(dir, "missing.yaml")+": cannot be read: ") {
		t.Errorf("missing items file: %v", err)
	}
}

// presentCatalog has 10 items in its first section, 3 in its second, and
// shuffles both items and options.
func presentCatalog() []byte {
	var b strings.Builder
	b.WriteString("durationMinutes: 30, shuffleItems: true, shuffleOptions: true, sections: [{title: First, items: [")
	for i := range 10 {
		fmt.Fprintf(&b, "{id: a%d, type: single, stem: '**Q%d**', options: [{id: a, text: A}, {id: b, text: B}, {id: c, text: C}, {id: d, text: D}], correct: [b]}, ", i, i)
	}
	b.WriteString("]}, {title: Second, items: [")
	b.WriteString("{id: b0, type: truefalse, stem: S, correct: [\"true\"]}, ")
	b.WriteString("{id: b1, type: multiple, stem: S, options: [{id: a, text: A}, {id: b, text: B}, {id: c, text: C}, {id: d, text: D}, {id: e, text: E}], correct: [a, b], points: 2}, ")
	b.WriteString("{id: b2, type: single, stem: S, options: [{id: a, text: A}, {id: b, text: B}, {id: c, text: C}], correct: [c]}]}]")
	return withDelivery(b.String())
}

// order lists the presented item ids and their option ids.
func order(p []examgate.PresentedSection) []string {
	var out []string
	for _, s := range p {
		for _, it := range s.Items {
			ids := make([]string, len(it.Options))
			for i, o := range it.Options {
				ids[i] = o.ID
			}
			out = append(out, it.ID+":"+strings.Join(ids, ""))
		}
	}
	return out
}

func TestPresent(t *testing.T) {
	c, err := examgate.ParseCatalog(presentCatalog())
	if err != nil {
		t.Fatal(err)
	}
	e, _ := c.Exam("DEMO-101")
	d := e.Delivery

	p := d.Present(42)
	if len(p) != 2 || p[0].Title != "First" || p[1].Title != "Second" || len(p[0].Items) != 10 || len(p[1].Items) != 3 {
		t.Fatalf("sections must keep their order and items: %+v", p)
	}
	for i, it := range append(slices.Clone(p[0].Items), p[1].Items...) {
		if it.Number != i+1 {
			t.Errorf("item %s has number %d, want %d", it.ID, it.Number, i+1)
		}
		if i < 10 && !strings.HasPrefix(it.ID, "a") || i >= 10 && !strings.HasPrefix(it.ID, "b") {
			t.Errorf("item %s left its section", it.ID)
		}
		if it.ID == "b0" && (it.Options[0].ID != "true" || it.Options[1].ID != "false") {
			t.Errorf("true/false options must not be shuffled: %v", it.Options)
		}
		src, _ := d.Item(it.ID)
		if it.Type != src.Type || it.Points != src.Points || !sameOptions(it.Options, src.Options) {
			t.Errorf("item %s = %+v, not a presentation of %+v", it.ID, it, src)
		}
	}
	if p[0].Items[0].StemHTML == "" || !strings.Contains(p[0].Items[0].StemHTML, "<strong>Q") {
		t.Errorf("StemHTML = %q", p[0].Items[0].StemHTML)
	}

	// Stable for the seed, also after reloading the catalog; different for
	// another seed.
	c2, _ := examgate.ParseCatalog(presentCatalog())
	e2, _ := c2.Exam("DEMO-101")
	if a, b := order(p), order(e2.Delivery.Present(42)); !slices.Equal(a, b) {
		t.Errorf("seed 42 gave\n%v\nthen\n%v", a, b)
	}
	if a, b := order(p), order(d.Present(43)); slices.Equal(a, b) {
		t.Errorf("seeds 42 and 43 gave the same order %v", a)
	}
	if slices.Equal(ids(d.Present(42)[0].Items), ids(d.Present(7)[0].Items)) {
		t.Error("items are not shuffled between attempts")
	}

	// Presenting must not reorder the catalog's content.
	for i, it := range d.Sections[0].Items {
		if it.ID != fmt.Sprintf("a%d", i) || it.Options[0].ID != "a" {
			t.Fatalf("Present changed the delivery: %+v", d.Sections[0].Items)
		}
	}

	// Without shuffling, the file's order.
	d.ShuffleItems, d.ShuffleOptions = false, false
	got := order(d.Present(42))
	if got[0] != "a0:abcd" || got[9] != "a9:abcd" || got[11] != "b1:abcde" {
		t.Errorf("unshuffled order = %v", got)
	}
}

func ids(items []examgate.PresentedItem) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.ID
	}
	return out
}

func sameOptions(a, b []examgate.Option) bool {
	cmp := func(x, y examgate.Option) int { return strings.Compare(x.ID, y.ID) }
	return slices.Equal(slices.SortedFunc(slices.Values(a), cmp), slices.SortedFunc(slices.Values(b), cmp))
}

// TestPresentedItemHasNoAnswers guards the browser payload: no type
// reachable from a PresentedSection may carry the correct options.
func TestPresentedItemHasNoAnswers(t *testing.T) {
	var fields []string
	seen := map[reflect.Type]bool{}
	var walk func(reflect.Type)
	walk = func(ty reflect.Type) {
		for ty.Kind() == reflect.Slice || ty.Kind() == reflect.Pointer || ty.Kind() == reflect.Map || ty.Kind() == reflect.Array {
			ty = ty.Elem()
		}
		if ty.Kind() != reflect.Struct || seen[ty] {
			return
		}
		seen[ty] = true
		for f := range ty.Fields() {
			fields = append(fields, ty.Name()+"."+f.Name)
			walk(f.Type)
		}
	}
	walk(reflect.TypeFor[examgate.PresentedSection]())
	want := []string{
		"PresentedSection.Title", "PresentedSection.Items",
		"PresentedItem.ID", "PresentedItem.Type", "PresentedItem.StemHTML", "PresentedItem.Options",
		"Option.ID", "Option.Text",
		"PresentedItem.Points", "PresentedItem.Number",
	}
	if !slices.Equal(fields, want) {
		t.Errorf("fields = %v\nwant %v: review that no new field exposes answers", fields, want)
	}
	for _, f := range fields {
		if strings.Contains(strings.ToLower(f), "correct") {
			t.Errorf("field %s", f)
		}
	}
	if seen[reflect.TypeFor[examgate.Item]()] {
		t.Error("a PresentedSection reaches an Item")
	}
}

func TestRenderMarkdown(t *testing.T) {
	unsafe := []string{
		"<script>alert(1)</script>",
		"Before <script>alert(1)</script> after",
		"[x](javascript:alert(1))",
		"[x](JaVaScRiPt:alert(1))",
		"[x](< javascript:alert(1)>)",
		"[x](&#32;javascript:alert(1))",
		"<javascript:alert(1)>",
		"[x]: javascript:alert(1)\n\n[x]",
		"![i](javascript:alert(1))",
		"[x](data:text/html,<script>alert(1)</script>)",
		"<img src=x onerror=alert(1)>",
		"<a href=\"javascript:alert(1)\">x</a>",
	}
	for _, src := range unsafe {
		got := strings.ToLower(examgate.RenderMarkdown(src))
		for _, bad := range []string{"<script", `href="javascript:`, `src="javascript:`, `"data:text`, "onerror", "<a href=\"javascript"} {
			if strings.Contains(got, bad) {
				t.Errorf("RenderMarkdown(%q) = %q, contains %q", src, got, bad)
			}
		}
	}
	for src, want := range map[string]string{
		"**bold** and `code`":             "<p><strong>bold</strong> and <code>code</code></p>",
		"~~gone~~":                        "<del>gone</del>",
		"| a | b |\n|---|---|\n| 1 | 2 |": "<td>1</td>",
		"[docs](https://example.com/x)":   `<a href="https://example.com/x">docs</a>`,
		"a < b & c":                       "a &lt; b &amp; c",
	} {
		if got := examgate.RenderMarkdown(src); !strings.Contains(got, want) {
			t.Errorf("RenderMarkdown(%q) = %q, want it to contain %q", src, got, want)
		}
	}

	// Stems from the catalog are rendered the same way.
	d := loadDelivery(t, `durationMinutes: 30, items: [{id: q1, type: truefalse, stem: "Safe? <script>alert(1)</script> [x](javascript:alert(1))", correct: ["true"]}]`)
	if h := d.Present(1)[0].Items[0].StemHTML; strings.Contains(h, "<script") || strings.Contains(h, "javascript:alert(1)\"") || !strings.Contains(h, "Safe?") {
		t.Errorf("StemHTML = %q", h)
	}
}

func TestAttemptDeadline(t *testing.T) {
	start := time.Date(2026, 6, 10, 9, 0, 0, 0, time.UTC)
	cases := []struct {
		minutes    int
		multiplier float64
		want       time.Duration
	}{
		{60, 1, time.Hour},
		{60, 1.5, 90 * time.Minute},
		{60, 0, time.Hour},
		{60, -2, time.Hour},
		{60, math.NaN(), time.Hour},
		{7, 1.333, 560 * time.Second},  // 559.86s
		{1, 1.0001, 60 * time.Second},  // 60.006s
		{1, 1.0099, 61 * time.Second},  // 60.594s
		{45, 1.25, 3375 * time.Second}, // 56m15s
	}
	for _, c := range cases {
		d := &examgate.Delivery{DurationMinutes: c.minutes}
		if got := examgate.AttemptDeadline(start, d, c.multiplier); !got.Equal(start.Add(c.want)) {
			t.Errorf("%d min × %v: deadline %v, want %v", c.minutes, c.multiplier, got, start.Add(c.want))
		}
	}
}
