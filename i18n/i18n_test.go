package i18n

import (
	"regexp"
	"slices"
	"testing"
	"time"
)

var verb = regexp.MustCompile(`%[-+# 0-9.\[\]]*[a-zA-Z%]`)

func TestCataloguesMatchEnglish(t *testing.T) {
	for _, l := range Langs {
		for key, en := range catalogues[English] {
			text, ok := catalogues[l][key]
			if !ok {
				t.Errorf("%s lacks %q", l, key)
				continue
			}
			if got, want := verb.FindAllString(text, -1), verb.FindAllString(en, -1); !slices.Equal(got, want) {
				t.Errorf("%s %q has verbs %v, English %v", l, key, got, want)
			}
		}
		for key := range catalogues[l] {
			if _, ok := catalogues[English][key]; !ok {
				t.Errorf("%s has %q, which English lacks", l, key)
			}
		}
	}
}

func TestChoose(t *testing.T) {
	for _, c := range []struct {
		locale, accept string
		want           Lang
	}{
		{"nl-NL", "en-US,en;q=0.9", Dutch},
		{"nl_BE", "", Dutch},
		{"en-US", "nl-NL", English},
		{"", "nl-NL,nl;q=0.9,en;q=0.8", Dutch},
		{"de", "nl;q=0.9", Dutch},
		{"", "de-DE,nl;q=0.5", English},
		{"", "", English},
	} {
		if got := Choose(c.locale, c.accept); got != c.want {
			t.Errorf("Choose(%q, %q) = %s, want %s", c.locale, c.accept, got, c.want)
		}
	}
}

func TestDate(t *testing.T) {
	at := time.Date(2027, time.May, 3, 9, 30, 0, 0, time.UTC)
	if got := Dutch.Date(at, "Mon 2 Jan 2006, 15:04"); got != "ma 3 mei 2027, 09:30" {
		t.Errorf("short: %q", got)
	}
	if got := Dutch.Date(at, "Monday 2 January 2006"); got != "maandag 3 mei 2027" {
		t.Errorf("long: %q", got)
	}
	if got := English.Date(at, "Monday 2 January 2006"); got != "Monday 3 May 2027" {
		t.Errorf("English: %q", got)
	}
	if got := Dutch.N("unit.minutes", 1); got != "1 minuut" {
		t.Errorf("N: %q", got)
	}
}
