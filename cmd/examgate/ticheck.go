package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/examgate/examgate/tiapi"
)

const tiUsage = `usage: examgate ti check

Checks the Thought Industries setup with the configured EXAMGATE_TI_BASE_URL,
EXAMGATE_TI_API_KEY, EXAMGATE_TI_SECRETS, EXAMGATE_TI_PLAN and exam catalog
(EXAMGATE_EXAMS): the key, the clock, the rate limit, each exam's TI ids and
one page of purchase events. It only reads from TI, prints no secret, and
exits non-zero when a line fails.`

// tiMain runs `examgate ti ...`.
func tiMain(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "check" {
		fmt.Fprintln(stderr, tiUsage)
		return errors.New("unknown ti command: use `examgate ti check`")
	}
	cfg, err := parseConfig(args[1:], getenv, stderr)
	if err != nil {
		return err
	}
	switch {
	case cfg.Demo:
		return errors.New("examgate ti check checks a real TI; in demo mode, the demo page (/demo) runs it against the simulator")
	case cfg.TIOff:
		return errors.New("no TI setting is given: set EXAMGATE_TI_BASE_URL, EXAMGATE_TI_API_KEY and EXAMGATE_TI_SECRETS")
	}
	catalog, err := loadCatalog(cfg)
	if err != nil {
		return err
	}
	lines := tiapi.Check(ctx, tiapi.CheckSetup{
		Client:  tiapi.NewClient(cfg.TIBaseURL, cfg.TIAPIKey),
		Exams:   catalog.Exams(),
		Secrets: len(cfg.TISecrets),
		Plan:    cfg.TIPlan,
	})
	printCheck(stdout, cfg.TIBaseURL, lines)
	if tiapi.Failed(lines) {
		return errors.New("the TI setup has failures: fix the lines marked FAIL, then run `examgate ti check` again")
	}
	return nil
}

// printCheck writes the check as a table with a closing verdict.
func printCheck(w io.Writer, base string, lines []tiapi.CheckLine) {
	fmt.Fprintf(w, "Thought Industries at %s\n\n", base)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tVERDICT\tDETAIL")
	fails, warns := 0, 0
	for _, l := range lines {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", l.Check, l.Verdict, l.Detail)
		switch l.Verdict {
		case tiapi.CheckFail:
			fails++
		case tiapi.CheckWarn:
			warns++
		}
	}
	_ = tw.Flush()
	switch {
	case fails > 0:
		fmt.Fprintf(w, "\nverdict: %d failed, %d warning(s): learners cannot get in or their results will not reach TI until the failures are fixed\n", fails, warns)
	case warns > 0:
		fmt.Fprintf(w, "\nverdict: ready, with %d warning(s) to read\n", warns)
	default:
		fmt.Fprintln(w, "\nverdict: ready")
	}
}
