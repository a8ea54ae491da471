package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/examgate/examgate"
)

const accommodationUsage = `usage:
  examgate accommodation set --email EMAIL --exam CODE --multiplier 1.5
  examgate accommodation list [--exam CODE]
The multiplier (1 to 4) stretches the exam's duration for that candidate's
next attempts; 1 removes the accommodation. The database is
EXAMGATE_DATABASE_URL (or --db).`

// accommodation grants or lists extra exam time. It is an operator command,
// not an API, because it is a decision about a person made by staff.
func accommodation(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "set" && args[0] != "list") {
		return errors.New(accommodationUsage)
	}
	verb := args[0]
	fs := flag.NewFlagSet("examgate accommodation "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	dsn := dbFlag(fs, getenv)
	email := fs.String("email", "", "the candidate's email")
	exam := fs.String("exam", "", "exam code")
	mult := fs.Float64("multiplier", 0, "duration multiplier, 1 to 4")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	store, err := openExisting(ctx, *dsn, stderr)
	if err != nil {
		return err
	}
	defer store.Close()
	if verb == "list" {
		list, err := store.Accommodations(ctx, *exam)
		if err != nil {
			return err
		}
		if len(list) == 0 {
			fmt.Fprintln(stdout, "no accommodations")
		}
		for _, a := range list {
			fmt.Fprintf(stdout, "%s\t%s\t%.2f\n", a.Email, a.ExamCode, a.Multiplier)
		}
		return nil
	}
	if *email == "" || *exam == "" || *mult < 1 || *mult > 4 {
		return errors.New("give --email, --exam and a --multiplier from 1 to 4\n" + accommodationUsage)
	}
	cand, err := store.CandidateByEmail(ctx, *email)
	if err != nil {
		return fmt.Errorf("no candidate with email %s: they appear once they have launched an exam", *email)
	}
	if err := store.SetAccommodation(ctx, cand.ID, *exam, *mult, time.Now().UTC()); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %s duration × %.2f from the next attempt\n", examgate.NormalizeEmail(*email), *exam, *mult)
	return nil
}

const deliveriesUsage = `usage:
  examgate deliveries list [--status queued|running|done|failed] [--limit 50]
  examgate deliveries retry ID
Lists the deliveries of results to Thought Industries (posting the grade,
and resetting the course after a fail), or queues a failed one again.`

// deliveries is the operator's view of result deliveries.
func deliveries(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "list" && args[0] != "retry") {
		return errors.New(deliveriesUsage)
	}
	verb := args[0]
	fs := flag.NewFlagSet("examgate deliveries "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	dsn := dbFlag(fs, getenv)
	status := fs.String("status", "", "only deliveries in this state")
	limit := fs.Int("limit", 50, "how many, newest first (at most 500)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	store, err := openExisting(ctx, *dsn, stderr)
	if err != nil {
		return err
	}
	defer store.Close()
	if verb == "retry" {
		id, err := strconv.ParseInt(fs.Arg(0), 10, 64)
		if err != nil {
			return errors.New("give the delivery id to retry\n" + deliveriesUsage)
		}
		job, err := store.JobByID(ctx, id)
		if err != nil || (job.Kind != examgate.JobTIResult && job.Kind != examgate.JobTIReset) {
			return fmt.Errorf("no delivery with id %d", id)
		}
		if err := store.RequeueJob(ctx, id, time.Now().UTC()); err != nil {
			return fmt.Errorf("delivery %d: %w (only failed deliveries can be retried)", id, err)
		}
		fmt.Fprintf(stdout, "delivery %d queued again\n", id)
		return nil
	}
	jobs, err := store.Jobs(ctx, examgate.JobFilter{Kinds: []string{examgate.JobTIResult, examgate.JobTIReset}, State: *status, Limit: *limit})
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tSTATE\tATTEMPTS\tNEXT TRY (UTC)\tLAST ERROR")
	for _, j := range jobs {
		next := j.RunAt.Format(time.DateTime)
		if j.State == examgate.JobDone || j.State == examgate.JobFailed {
			next = "-"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%s\n", j.ID, j.Kind, j.State, j.Attempts, next, oneLine(j.LastError, 80))
	}
	return tw.Flush()
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}
