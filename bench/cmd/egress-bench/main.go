// Command egress-bench runs the benchmarks of package bench, prints the
// results table and writes it as JSON (bench/latest.json by default).
//
//	BENCH_SCALE=0.05 go run ./bench/cmd/egress-bench -run 'release|copy'
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"strconv"
	"syscall"

	"github.com/tre-egress/egress/bench"
)

func main() {
	if code, ok := bench.MaybeRunChild(); ok {
		os.Exit(code)
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "egress-bench:", err)
		os.Exit(1)
	}
}

func run() error {
	scale := 1.0
	if s := os.Getenv("BENCH_SCALE"); s != "" {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("BENCH_SCALE: %w", err)
		}
		scale = v
	}
	out := flag.String("out", "bench/latest.json", "where to write the JSON report")
	only := flag.String("run", "", "run only the scenarios matching this regexp (release, copy, listing, coldstart, e2e, checks, cost, console)")
	profiles := flag.String("cpuprofile-dir", "", "write CPU profiles of the release children, and of this process (bench.pprof), to this folder")
	flag.Parse()
	var re *regexp.Regexp
	if *only != "" {
		var err error
		if re, err = regexp.Compile(*only); err != nil {
			return fmt.Errorf("-run: %w", err)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env, err := bench.NewEnv(scale, os.Stderr)
	if err != nil {
		return err
	}
	defer env.Close()
	if *profiles != "" {
		if err := os.MkdirAll(*profiles, 0o755); err != nil {
			return err
		}
		env.ProfileDir = *profiles
		f, err := os.Create(filepath.Join(*profiles, "bench.pprof"))
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	rep := bench.Run(ctx, env, re)
	if err := rep.WriteMarkdown(os.Stdout); err != nil {
		return err
	}
	if err := rep.WriteFile(*out); err != nil {
		return err
	}
	if rep.Failed() {
		return fmt.Errorf("a scenario failed; see the ERROR rows")
	}
	return nil
}
