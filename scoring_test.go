package examgate_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/examgate/examgate"
)

// scoringItems: s1 single (1 point), m1 multiple with a and b correct out of
// a-d (2 points), t1 true/false (1 point); 4 points in all.
const scoringItems = `items: [
	{id: s1, type: single, stem: S, options: [{id: a, text: A}, {id: b, text: B}], correct: [a]},
	{id: m1, type: multiple, stem: S, options: [{id: a, text: A}, {id: b, text: B}, {id: c, text: C}, {id: d, text: D}], correct: [a, b], points: 2},
	{id: t1, type: truefalse, stem: S, correct: ["false"]}]`

func TestScoreItems(t *testing.T) {
	cases := []struct {
		name    string
		partial bool
		item    string
		choices []string
		points  float64
		correct bool
		stored  []string // ItemResult.Choices
	}{
		{"single right", false, "s1", []string{"a"}, 1, true, []string{"a"}},
		{"single wrong", false, "s1", []string{"b"}, 0, false, []string{"b"}},
		{"single unanswered", false, "s1", nil, 0, false, []string{}},
		{"single empty", false, "s1", []string{}, 0, false, []string{}},
		{"single both", false, "s1", []string{"b", "a"}, 0, false, []string{"a", "b"}},
		{"single unknown ignored", false, "s1", []string{"zz", "a"}, 1, true, []string{"a", "zz"}},
		{"single only unknown", false, "s1", []string{"zz"}, 0, false, []string{"zz"}},
		{"single duplicate", false, "s1", []string{"a", "a"}, 1, true, []string{"a"}},
		{"true/false right", false, "t1", []string{"false"}, 1, true, []string{"false"}},
		{"true/false wrong", false, "t1", []string{"true"}, 0, false, []string{"true"}},
		{"true/false both", false, "t1", []string{"true", "false"}, 0, false, []string{"false", "true"}},

		{"multiple exact", false, "m1", []string{"b", "a"}, 2, true, []string{"a", "b"}},
		{"multiple exact, duplicates", false, "m1", []string{"b", "a", "b"}, 2, true, []string{"a", "b"}},
		{"multiple exact, unknown", false, "m1", []string{"a", "b", "zz"}, 2, true, []string{"a", "b", "zz"}},
		{"multiple missing one", false, "m1", []string{"a"}, 0, false, []string{"a"}},
		{"multiple one extra", false, "m1", []string{"a", "b", "c"}, 0, false, []string{"a", "b", "c"}},
		{"multiple unanswered", false, "m1", nil, 0, false, []string{}},

		{"partial exact", true, "m1", []string{"a", "b"}, 2, true, []string{"a", "b"}},
		{"partial half", true, "m1", []string{"a"}, 1, false, []string{"a"}},
		{"partial right and wrong", true, "m1", []string{"a", "b", "c"}, 1, false, []string{"a", "b", "c"}},
		{"partial even", true, "m1", []string{"a", "c"}, 0, false, []string{"a", "c"}},
		{"partial more wrong than right", true, "m1", []string{"a", "c", "d"}, 0, false, []string{"a", "c", "d"}},
		{"partial everything", true, "m1", []string{"a", "b", "c", "d"}, 0, false, []string{"a", "b", "c", "d"}},
		{"partial only wrong", true, "m1", []string{"d"}, 0, false, []string{"d"}},
		{"partial unknown ignored", true, "m1", []string{"a", "zz"}, 1, false, []string{"a", "zz"}},
		{"partial does not apply to single", true, "s1", []string{"a", "b"}, 0, false, []string{"a", "b"}},
	}
	for _, c := range cases {
		d := loadDelivery(t, fmt.Sprintf("durationMinutes: 30, partialCredit: %v, %s", c.partial, scoringItems))
		s := d.Score(map[string][]string{c.item: c.choices})
		i := slices.IndexFunc(s.Items, func(r examgate.ItemResult) bool { return r.ItemID == c.item })
		r := s.Items[i]
		if r.Points != c.points || r.Correct != c.correct || !slices.Equal(r.Choices, c.stored) || r.Choices == nil {
			t.Errorf("%s: %+v, want %v points, correct %v, choices %q", c.name, r, c.points, c.correct, c.stored)
		}
		if s.Points != c.points || s.MaxPoints != 4 {
			t.Errorf("%s: total %v of %v, want %v of 4", c.name, s.Points, s.MaxPoints, c.points)
		}
	}
}

func TestScoreTotals(t *testing.T) {
	d := loadDelivery(t, "durationMinutes: 30, passMark: 50, shuffleItems: true, "+scoringItems)
	s := d.Score(map[string][]string{"s1": {"a"}, "m1": {"a", "b"}, "t1": {"true"}, "gone": {"a"}})
	if s.Points != 3 || s.MaxPoints != 4 || s.Percent != 75 || s.PassMark != 50 || !s.Passed {
		t.Errorf("score = %+v", s)
	}
	// The delivery's order, not a presented one; answers to unknown items
	// are ignored.
	var order []string
	for _, r := range s.Items {
		order = append(order, r.ItemID)
	}
	if !slices.Equal(order, []string{"s1", "m1", "t1"}) || s.Items[1].MaxPoints != 2 {
		t.Errorf("items = %+v", s.Items)
	}
	if s := d.Score(nil); s.Points != 0 || s.Percent != 0 || s.Passed || len(s.Items) != 3 {
		t.Errorf("no answers: %+v", s)
	}
}

// tenItems is a delivery of ten single items q0..q9, each worth points,
// with correct answer a.
func tenItems(passMark float64, points string) string {
	var items []string
	for i := range 10 {
		items = append(items, fmt.Sprintf("{id: q%d, type: single, stem: S, options: [{id: a, text: A}, {id: b, text: B}], correct: [a], points: %s}", i, points))
	}
	return fmt.Sprintf("durationMinutes: 30, passMark: %v, items: [%s]", passMark, strings.Join(items, ", "))
}

// rightAnswers answers the first n of tenItems correctly and the rest wrong.
func rightAnswers(n int) map[string][]string {
	answers := map[string][]string{}
	for i := range 10 {
		answers[fmt.Sprintf("q%d", i)] = []string{map[bool]string{true: "a", false: "b"}[i < n]}
	}
	return answers
}

func TestScorePassMark(t *testing.T) {
	cases := []struct {
		name     string
		passMark float64
		points   string
		right    int
		percent  float64
		passed   bool
	}{
		{"exactly at", 70, "1", 7, 70, true},
		{"0.01 below", 70.01, "1", 7, 70, false},
		{"below", 70, "1", 6, 60, false},
		{"float noise", 70, "0.1", 7, 70, true}, // 0.7 of 0.9999999999999999
		{"float noise below", 70.01, "0.1", 7, 70, false},
		{"zero pass mark", 0, "1", 0, 0, true},
		{"all right", 100, "3", 10, 100, true},
		{"one short of all", 100, "3", 9, 90, false},
	}
	for _, c := range cases {
		d := loadDelivery(t, tenItems(c.passMark, c.points))
		s := d.Score(rightAnswers(c.right))
		if s.Percent != c.percent || s.Passed != c.passed {
			t.Errorf("%s: %v%% passed=%v, want %v%% passed=%v (points %v of %v)", c.name, s.Percent, s.Passed, c.percent, c.passed, s.Points, s.MaxPoints)
		}
	}
}

func TestScoreWeightingAndRounding(t *testing.T) {
	// a is worth 1 point, b 31: rounding half away from zero, weights count.
	d := loadDelivery(t, `durationMinutes: 30, passMark: 3.13, items: [
		{id: a, type: truefalse, stem: S, correct: ["true"]},
		{id: b, type: truefalse, stem: S, correct: ["true"], points: 31}]`)
	cases := []struct {
		answers map[string][]string
		points  float64
		percent float64
		passed  bool
	}{
		{map[string][]string{"a": {"true"}}, 1, 3.13, true}, // 3.125
		{map[string][]string{"b": {"true"}}, 31, 96.88, true},
		{map[string][]string{"a": {"true"}, "b": {"true"}}, 32, 100, true},
		{map[string][]string{"a": {"false"}, "b": {"false"}}, 0, 0, false},
	}
	for _, c := range cases {
		if s := d.Score(c.answers); s.Points != c.points || s.MaxPoints != 32 || s.Percent != c.percent || s.Passed != c.passed {
			t.Errorf("%v: %+v, want %v points, %v%%, passed %v", c.answers, s, c.points, c.percent, c.passed)
		}
	}

	// Thirds round to two decimals.
	d = loadDelivery(t, `durationMinutes: 30, items: [
		{id: a, type: truefalse, stem: S, correct: ["true"]},
		{id: b, type: truefalse, stem: S, correct: ["true"]},
		{id: c, type: truefalse, stem: S, correct: ["true"]}]`)
	if s := d.Score(map[string][]string{"a": {"true"}}); s.Percent != 33.33 {
		t.Errorf("1/3 = %v%%", s.Percent)
	}
	if s := d.Score(map[string][]string{"a": {"true"}, "b": {"true"}}); s.Percent != 66.67 {
		t.Errorf("2/3 = %v%%", s.Percent)
	}
}

func TestValidChoices(t *testing.T) {
	d := loadDelivery(t, "durationMinutes: 30, "+scoringItems)
	s1, _ := d.Item("s1")
	m1, _ := d.Item("m1")
	t1, _ := d.Item("t1")
	// A true/false item built in code, without its default options.
	bare := &examgate.Item{ID: "x", Type: examgate.ItemTrueFalse, Stem: "S", Correct: []string{"true"}}
	cases := []struct {
		item    *examgate.Item
		choices []string
		want    string // "" for valid, else part of the message
	}{
		{s1, []string{"a"}, ""},
		{s1, nil, ""},
		{s1, []string{}, ""},
		{s1, []string{"a", "b"}, "takes one answer"},
		{s1, []string{"zz"}, `"zz" is not an option of question s1`},
		{s1, []string{"a", "a"}, `"a" is chosen twice`},
		{t1, []string{"true"}, ""},
		{t1, []string{"true", "false"}, "takes one answer"},
		{t1, []string{"yes"}, `"yes" is not an option`},
		{bare, []string{"false"}, ""},
		{bare, []string{"maybe"}, `"maybe" is not an option`},
		{m1, []string{"a", "b", "c", "d"}, ""},
		{m1, []string{"c"}, ""},
		{m1, []string{"a", "b", "a"}, `"a" is chosen twice`},
		{m1, []string{"a", "e"}, `"e" is not an option of question m1`},
		{m1, []string{""}, `"" is not an option`},
	}
	for _, c := range cases {
		err := examgate.ValidChoices(c.item, c.choices)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s %q: %v", c.item.ID, c.choices, err)
		case c.want != "" && (examgate.ErrorCode(err) != examgate.EINVALID || !strings.Contains(examgate.ErrorMessage(err), c.want)):
			t.Errorf("%s %q: err = %v, want INVALID with %q", c.item.ID, c.choices, err, c.want)
		}
	}
}
