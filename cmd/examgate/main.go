// Command examgate runs the exam gateway.
//
//	examgate [serve] [flags]   run the server (migrates first)
//	examgate migrate [flags]   apply database migrations and exit
package main

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/db"
	"github.com/examgate/examgate/frontend"
	"github.com/examgate/examgate/server"
	"github.com/examgate/examgate/tiapi"
	"github.com/examgate/examgate/tiapi/titest"
)

//go:embed demo-exams.yaml
var demoExams []byte

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "examgate:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && (args[0] == "serve" || args[0] == "migrate") {
		cmd, args = args[0], args[1:]
	}
	cfg, err := parseConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	logger := newLogger(cfg, stdout)

	store, err := db.Open(cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.Migrate(ctx); err != nil {
		return fmt.Errorf("%w (check EXAMGATE_DATABASE_URL)", err)
	}
	if cmd == "migrate" {
		logger.Info("migrations applied")
		return nil
	}
	return serve(ctx, cfg, store, logger)
}

func newLogger(cfg *config, out io.Writer) *slog.Logger {
	var h slog.Handler
	if cfg.Demo {
		h = slog.NewTextHandler(out, nil)
	} else {
		h = slog.NewJSONHandler(out, nil)
	}
	return slog.New(server.LogHandler{Handler: h})
}

func loadCatalog(cfg *config) (*examgate.Catalog, error) {
	if cfg.ExamsFile == "" && cfg.Demo {
		return examgate.ParseCatalog(demoExams)
	}
	return examgate.LoadCatalog(cfg.ExamsFile)
}

func serve(ctx context.Context, cfg *config, store *db.DB, logger *slog.Logger) error {
	catalog, err := loadCatalog(cfg)
	if err != nil {
		return err
	}
	base, _ := url.Parse(cfg.BaseURL)
	clock := examgate.SystemClock{}
	ti := tiapi.NewClient(cfg.TIBaseURL, cfg.TIAPIKey)
	ti.Logger = logger

	var demo *server.Demo
	if cfg.Demo {
		demo = &server.Demo{TI: titest.New(cfg.TIAPIKey), Secret: cfg.TISecrets[0]}
		logger.Warn("demo mode: the built-in TI simulator is mounted at /ti-sim; never use demo mode in production")
	}
	app := frontend.App()
	if app == nil {
		logger.Warn("the web app is not built: run `make build` to include it")
	}
	var ready atomic.Bool
	srv := server.New(server.Deps{
		BaseURL: base, Store: store, Catalog: catalog, Clock: clock, Logger: logger,
		Verifier: tiapi.NewLaunchVerifier(cfg.TISecrets, cfg.TISkew, clock),
		Launcher: &examgate.Launcher{
			Store: store, TI: ti, Catalog: catalog, Clock: clock, Logger: logger,
			ReplayWindow: 2 * cfg.TISkew,
		},
		Playground: cfg.Playground,
		Ready:      ready.Load,
		App:        app,
		Demo:       demo,
	})

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (set EXAMGATE_ADDR to a free address)", cfg.Addr, err)
	}
	httpServer := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	go sweep(ctx, store, clock, logger)
	ready.Store(true)
	logger.Info("examgate listening", "addr", ln.Addr().String(), "base_url", cfg.BaseURL,
		"database", dbKind(store), "exams", len(catalog.Exams()), "demo", cfg.Demo, "playground", cfg.Playground)
	if cfg.Demo {
		logger.Info("open the demo", "url", cfg.BaseURL+"/demo")
	}

	errc := make(chan error, 1)
	go func() { errc <- httpServer.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down: finishing requests in flight")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := httpServer.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// sweep deletes expired sessions and replay records once an hour.
func sweep(ctx context.Context, store *db.DB, clock examgate.Clock, logger *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if err := store.DeleteExpired(ctx, clock.Now()); err != nil && ctx.Err() == nil {
			logger.Error("deleting expired sessions failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func dbKind(store *db.DB) string {
	if store.Postgres() {
		return "postgres"
	}
	return "sqlite"
}
