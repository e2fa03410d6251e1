package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tre-egress/egress/infra/lambdabuild"
	"github.com/tre-egress/egress/shared/config"
)

// helloPkg is the baseline: a hello-world aws-lambda-go function.
const helloPkg = "./bench/hello"

// coldStartRuns is how many timed starts each binary gets (after one
// untimed start that loads it into the page cache); the median counts.
// Single starts vary by several milliseconds with other load on the
// machine, so enough of them that the medians move by a few percent.
const coldStartRuns = 41

// sizeLimit is the limit on a bootstrap's size.
const sizeLimit = 20 << 20

// runColdStart measures scenario 5: each function's bootstrap, built as
// `make build` builds it, for this machine (to time it) and for
// linux/arm64 (its deployed size), against the hello-world baseline.
func runColdStart(ctx context.Context, env *Env) ([]Row, error) {
	root, err := moduleRoot(ctx)
	if err != nil {
		return nil, err
	}
	mains, err := filepath.Glob(filepath.Join(root, "functions", "*", "main.go"))
	if err != nil {
		return nil, err
	}
	var fns []string
	for _, m := range mains {
		if f := filepath.Base(filepath.Dir(m)); env.Functions == nil || slices.Contains(env.Functions, f) {
			fns = append(fns, f)
		}
	}
	host := filepath.Join(env.Dir, "bin-"+runtime.GOARCH)
	arm := filepath.Join(env.Dir, "bin-arm64")
	type bin struct {
		name       string
		path, size string // host binary; arm64 binary
		err        error
	}
	bins := []*bin{{name: "hello", path: filepath.Join(host, "hello"), size: filepath.Join(arm, "hello")}}
	for _, f := range fns {
		bins = append(bins, &bin{name: f, path: filepath.Join(host, f), size: filepath.Join(arm, f)})
	}
	// One build per core: linking, which dominates once the build cache
	// is warm, is single-threaded.
	sem := make(chan struct{}, runtime.NumCPU())
	var wg sync.WaitGroup
	for _, b := range bins {
		pkg := "./functions/" + b.name
		if b.name == "hello" {
			pkg = helloPkg
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if b.err = build(ctx, root, pkg, b.path, runtime.GOARCH); b.err == nil {
				b.err = build(ctx, root, pkg, b.size, "arm64")
			}
		})
	}
	wg.Wait()
	if bins[0].err != nil {
		return nil, fmt.Errorf("baseline: %w", bins[0].err)
	}
	built := 0
	for _, b := range bins {
		if b.err == nil {
			built++
		}
	}
	env.Logf("coldstart: %d of %d binaries built", built, len(bins))

	api, err := startRuntimeAPI()
	if err != nil {
		return nil, err
	}
	defer api.Close()
	runs := max(int(env.scaled(coldStartRuns, 3)), 3)
	times := make(map[string][]time.Duration)
	// Round-robin, so other load on the machine hits every binary alike.
	for round := -1; round < runs; round++ {
		for _, b := range bins {
			if b.err != nil {
				continue
			}
			d, err := api.start(ctx, b.path, lambdaEnv(b.name, api.addr, env.Dir))
			if err != nil {
				b.err = err
				continue
			}
			if round >= 0 {
				times[b.name] = append(times[b.name], d)
			}
		}
	}
	median := func(name string) float64 {
		t := slices.Sorted(slices.Values(times[name]))
		return ms(t[len(t)/2])
	}
	if bins[0].err != nil {
		return nil, fmt.Errorf("baseline: %w", bins[0].err)
	}
	helloStart := median("hello")
	helloSize, err := fileMiB(bins[0].size)
	if err != nil {
		return nil, err
	}
	const s5 = "5 Cold start"
	var rows, sizes []Row
	var errs []error
	for _, b := range bins[1:] {
		if b.err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", b.name, b.err))
			continue
		}
		rows = append(rows, newRow(Row{Scenario: s5, Name: b.name + ": start to ready", Ours: median(b.name), Baseline: helloStart, Unit: "ms",
			BaseName: "hello-world aws-lambda-go function", Goal: ratioAtMost(1.5)}))
		size, err := fileMiB(b.size)
		if err != nil {
			return nil, err
		}
		sizes = append(sizes, newRow(Row{Scenario: s5, Name: b.name + ": bootstrap size, linux/arm64", Ours: size, Baseline: helloSize, Unit: "MiB",
			BaseName: "hello-world bootstrap", Goal: oursAtMost(sizeLimit>>20, "MiB")}))
	}
	if len(rows) > 0 {
		rows[0].Note = fmt.Sprintf("median of %d starts each, round-robin, %s/%s builds with make build's flags; ready = the runtime's first GET of /runtime/invocation/next", runs, runtime.GOOS, runtime.GOARCH)
	}
	return append(rows, sizes...), errors.Join(errs...)
}

// build builds pkg with make build's flags (package infra/lambdabuild) for
// linux/arch. Host builds leave out -trimpath, which changes no code but
// would compile every dependency again rather than reuse what building
// this program compiled.
func build(ctx context.Context, root, pkg, out, arch string) error {
	args := append([]string{"build"}, lambdabuild.Flags...)
	if arch == runtime.GOARCH {
		args = slices.DeleteFunc(args, func(f string) bool { return f == "-trimpath" })
	}
	args = append(args, "-o", out, pkg)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+arch, "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		lines := strings.SplitN(strings.TrimSpace(string(b)), "\n", 4)
		return fmt.Errorf("go build %s (%s): %w: %s", pkg, arch, err, strings.Join(lines[:min(len(lines), 3)], " "))
	}
	return nil
}

func fileMiB(path string) (float64, error) {
	st, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return mibf(st.Size()), nil
}

// lambdaEnv is a Lambda environment with every variable a function may
// require, fake credentials and no shared config files, so init does what
// it does in Lambda and makes no network call.
func lambdaEnv(name, api, home string) []string {
	return []string{
		"AWS_LAMBDA_RUNTIME_API=" + api,
		"AWS_LAMBDA_FUNCTION_NAME=" + name,
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=512",
		"AWS_REGION=us-east-1",
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
		"AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		"AWS_SESSION_TOKEN=bench",
		"HOME=" + home,
		"TZ=:UTC",
		config.EnvRequestsTable + "=egress-requests",
		config.EnvEventsTable + "=egress-request-events",
		config.EnvSWBStoreTable + "=swb-egress-store",
		config.EnvStagingBucket + "=egress-staging",
		config.EnvDatalakeBucket + "=egress-datalake",
		config.EnvStateMachineArn + "=arn:aws:states:us-east-1:000000000000:stateMachine:egress",
		config.EnvFromEmail + "=egress@example.org",
		config.EnvAdminEmail + "=tre-admin@example.org",
		config.EnvReviewerEmails + `={"InformationGovernance":["ig@example.org"],"TREAdmin":["rit@example.org"]}`,
		config.EnvReviewerTopics + `={"InformationGovernance":"arn:aws:sns:us-east-1:000000000000:ig","TREAdmin":"arn:aws:sns:us-east-1:000000000000:rit"}`,
		config.EnvUserPoolID + "=us-east-1_bench",
		config.EnvWebAppURL + "=https://egress.example.org",
		config.EnvEventBus + "=egress-bus",
	}
}

// runtimeAPI is a stand-in for the Lambda Runtime API that records when a
// function first asks for an invocation, the moment it is ready.
type runtimeAPI struct {
	addr   string
	server *http.Server
	ready  chan time.Time
}

func startRuntimeAPI() (*runtimeAPI, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	a := &runtimeAPI{addr: ln.Addr().String(), ready: make(chan time.Time, 1)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", func(w http.ResponseWriter, r *http.Request) {
		select {
		case a.ready <- time.Now():
		default:
		}
		<-r.Context().Done() // never answer: the function is killed
	})
	a.server = &http.Server{Handler: mux}
	go a.server.Serve(ln)
	return a, nil
}

// start runs a bootstrap and returns the time from exec to its first
// invocation request. The process is killed afterwards.
func (a *runtimeAPI) start(ctx context.Context, path string, env []string) (time.Duration, error) {
	select {
	case <-a.ready: // a late signal of an earlier run
	default:
	}
	var out bytes.Buffer
	cmd := exec.Command(path)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = &out, &out
	exited := make(chan error, 1)
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	go func() { exited <- cmd.Wait() }()
	defer func() {
		cmd.Process.Kill()
		<-exited
	}()
	timeout := time.NewTimer(30 * time.Second)
	defer timeout.Stop()
	select {
	case t := <-a.ready:
		return t.Sub(t0), nil
	case err := <-exited:
		exited <- err // for the deferred wait
		return 0, fmt.Errorf("%s exited before asking for an invocation: %v: %s", filepath.Base(path), err, bytes.TrimSpace(out.Bytes()))
	case <-timeout.C:
		return 0, fmt.Errorf("%s not ready after 30s", filepath.Base(path))
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

func (a *runtimeAPI) Close() error { return a.server.Close() }
