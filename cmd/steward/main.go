// Command steward is the Steward XMPP moderation bot.
//
//	steward run --config steward.yaml [--dev]
//	steward check-config --config steward.yaml
//	steward reload --config steward.yaml
//	steward version
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // vetting hours name time zones; hosts may lack zoneinfo

	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/steward-xmpp/steward/internal/app"
	"github.com/steward-xmpp/steward/internal/config"
)

var version = "dev"

func main() {
	if err := root().Execute(); err != nil {
		os.Exit(1)
	}
}

func root() *cobra.Command {
	var cfgPath string
	var dev bool
	rootCmd := &cobra.Command{
		Use:           "steward",
		Short:         "Steward moderates XMPP group chats (XEP-0045) as a room admin.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	rootCmd.PersistentFlags().StringVarP(&cfgPath, "config", "c", "steward.yaml", "path of the YAML config file")

	run := &cobra.Command{
		Use:   "run",
		Short: "Connect, join the rooms and moderate until SIGINT/SIGTERM (SIGHUP reloads the config).",
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBot(cfgPath, dev)
		},
	}
	run.Flags().BoolVar(&dev, "dev", false, "human-readable console logs at debug level")

	check := &cobra.Command{
		Use:   "check-config",
		Short: "Validate the config file and print every problem with its key.",
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := app.Load(cfgPath, os.Environ())
			if err != nil {
				fmt.Fprintf(os.Stderr, "%s: the configuration has problems:\n%s\n", cfgPath, config.FormatErrors(err))
				return err
			}
			fmt.Printf("%s: OK\n", cfgPath)
			return nil
		},
	}

	reload := &cobra.Command{
		Use:   "reload",
		Short: "Ask a running Steward (at http.listen) to re-read its config file.",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := app.Load(cfgPath, os.Environ())
			if err != nil {
				fmt.Fprintf(os.Stderr, "%s: not reloading, the configuration has problems:\n%s\n", cfgPath, config.FormatErrors(err))
				return err
			}
			if cfg.HTTP.Listen == "" {
				err := errors.New("http.listen is not set, so there is no endpoint to call: send SIGHUP to the steward process instead")
				fmt.Fprintln(os.Stderr, err)
				return err
			}
			c := &http.Client{Timeout: 60 * time.Second}
			resp, err := c.Post("http://"+cfg.HTTP.Listen+"/-/reload", "text/plain", nil)
			if err != nil {
				fmt.Fprintf(os.Stderr, "could not reach steward at %s: %v\n", cfg.HTTP.Listen, err)
				return err
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			fmt.Print(string(body))
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("reload failed: %s", resp.Status)
			}
			return nil
		},
	}

	ver := &cobra.Command{
		Use:   "version",
		Short: "Print the version.",
		Run:   func(*cobra.Command, []string) { fmt.Println("steward", version) },
	}
	rootCmd.AddCommand(run, check, reload, ver)
	return rootCmd
}

func newLogger(cfg config.Log, dev bool) (*zap.Logger, error) {
	var zc zap.Config
	if dev || cfg.Format == "console" {
		zc = zap.NewDevelopmentConfig()
	} else {
		zc = zap.NewProductionConfig()
	}
	if !dev {
		lvl, err := zapcore.ParseLevel(cfg.Level)
		if err != nil {
			return nil, fmt.Errorf("log.level: %w", err)
		}
		zc.Level = zap.NewAtomicLevelAt(lvl)
	}
	return zc.Build()
}

// zapRedisLogger routes go-redis' own messages into zap.
type zapRedisLogger struct{ l *zap.Logger }

func (z zapRedisLogger) Printf(_ context.Context, format string, v ...any) {
	z.l.Warn(strings.TrimSpace(fmt.Sprintf(format, v...)))
}

func runBot(path string, dev bool) error {
	cfg, err := app.Load(path, os.Environ())
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: refusing to start, the configuration has problems:\n%s\n", path, config.FormatErrors(err))
		return err
	}
	log, err := newLogger(cfg.Log, dev)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return err
	}
	defer func() { _ = log.Sync() }()
	redis.SetLogger(zapRedisLogger{log.Named("redis")})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := app.New(ctx, cfg, log, app.Options{})
	if err != nil {
		log.Error("could not start", zap.Error(err))
		return err
	}
	a.ReloadFromFile = func() error { return a.ReloadFile(path, os.Environ()) }
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		for s := range sigs {
			if s == syscall.SIGHUP {
				_ = a.ReloadFromFile()
				continue
			}
			log.Info("shutting down: leaving rooms", zap.String("signal", s.String()))
			a.Stop()
			cancel()
			return
		}
	}()
	log.Info("starting", zap.String("jid", cfg.XMPP.JID), zap.Int("rooms", len(cfg.Rooms)), zap.String("redis", cfg.Redis.SafeURL()))
	return a.Run(ctx)
}
