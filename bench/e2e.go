package bench

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tre-egress/egress/local"
	"github.com/tre-egress/egress/shared/egress"
)

// runEndToEnd measures scenario 6 on the embedded stack: a two-stage
// approval of 100 files, from upload and SNS publish to a verified
// download, decisions made as soon as they are awaited; then 20 at once.
// The baseline is the data work alone on the same stack: the same upload,
// the same CopyAll to staging, WriteZip, deletion of the staged copies and
// the same verified download, with no workflow, database or e-mail.
func runEndToEnd(ctx context.Context, env *Env) ([]Row, error) {
	st, err := local.Start(ctx, local.Options{Dir: filepath.Join(env.Dir, "stack"), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	nFiles := int(env.scaled(100, 10))
	dir := filepath.Join(env.Dir, "e2e-store")
	if err := writeTree(dir, smallFiles(6, nFiles)); err != nil {
		return nil, err
	}
	scenario := func(ctx context.Context) error {
		rep, err := st.Scenario(ctx, dir, []string{"approve", "approve"}, local.ServiceDecider{S: st})
		if err != nil {
			return err
		}
		if !rep.ExpectedResult {
			return fmt.Errorf("request %s: %s", rep.RequestID, strings.Join(rep.Problems, "; "))
		}
		return nil
	}
	baseline := func(ctx context.Context) error { return dataPlane(ctx, st, dir) }

	// One untimed pass of each warms the JVM of DynamoDB Local and the
	// page cache.
	if err := errors.Join(scenario(ctx), baseline(ctx)); err != nil {
		return nil, fmt.Errorf("warm-up: %w", err)
	}
	const s6 = "6 End to end"
	concurrent := int(env.scaled(20, 2))
	var rows []Row
	for _, n := range []int{1, concurrent} {
		ours, err := timeParallel(ctx, n, scenario)
		if err != nil {
			return nil, fmt.Errorf("%d requests through the workflow: %w", n, err)
		}
		base, err := timeParallel(ctx, n, baseline)
		if err != nil {
			return nil, fmt.Errorf("%d requests, data work only: %w", n, err)
		}
		env.Logf("e2e: %d at once: %s vs %s", n, ours.Round(time.Millisecond), base.Round(time.Millisecond))
		name := fmt.Sprintf("two-stage approval of %d files", nFiles)
		if n > 1 {
			name = fmt.Sprintf("%d such requests at once", n)
		}
		rows = append(rows, newRow(Row{Scenario: s6, Name: name + ": upload, SNS publish → verified download", Ours: ms(ours) / 1000, Baseline: ms(base) / 1000, Unit: "s",
			BaseName: "the same uploads, copies, zip, deletes and download without the workflow"}))
	}
	rows[0].Note = "ratio > 1 is the workflow's cost over the bytes it moves: Step Functions engine, DynamoDB, decisions through the API, e-mails"
	return rows, nil
}

// timeParallel runs f n times at once and returns the wall time.
func timeParallel(ctx context.Context, n int, f func(context.Context) error) (time.Duration, error) {
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		wg.Go(func() { errs[i] = f(ctx) })
	}
	wg.Wait()
	return time.Since(start), errors.Join(errs...)
}

// writeTree writes files under dir.
func writeTree(dir string, files []file) error {
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		// Streamed: the cost scenario's file is hundreds of MiB.
		out, err := os.Create(p)
		if err != nil {
			return err
		}
		_, err = io.Copy(out, f.open())
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
	}
	return nil
}

// dataPlane does a request's data work directly: submit as SWB does, copy
// the submitted versions to staging, zip them into the datalake, delete
// the staged copies, then download the zip through a presigned URL and
// check it against the submitted files.
func dataPlane(ctx context.Context, st *local.Stack, dir string) error {
	swb := local.SWB{S3: st.Clients.S3, DynamoDB: st.Clients.DynamoDB, Now: time.Now}
	sub, err := swb.Submit(ctx, dir, "researcher@example.org")
	if err != nil {
		return err
	}
	prefix := sub.WorkspaceID + "/"
	staged := prefix + sub.RequestID + "/"
	var jobs []egress.CopyJob
	p := s3.NewListObjectVersionsPaginator(st.Clients.S3, &s3.ListObjectVersionsInput{Bucket: aws.String(local.SWBStoreBucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, v := range page.Versions {
			key := aws.ToString(v.Key)
			if strings.HasSuffix(key, "/") {
				continue
			}
			rel := strings.TrimPrefix(key, prefix)
			jobs = append(jobs, egress.CopyJob{Path: rel, Source: egress.ObjectVersion{Bucket: local.SWBStoreBucket, Key: key, VersionID: aws.ToString(v.VersionId)},
				DstBucket: local.StagingBucket, DstKey: staged + rel})
		}
	}
	files, err := st.Objects.CopyAll(ctx, jobs, st.Config.CopyConcurrency)
	if err != nil {
		return err
	}
	entries := make([]egress.ZipEntry, len(files))
	for i, f := range files {
		entries[i] = egress.ZipEntry{Path: f.Path, Bucket: local.StagingBucket, Key: staged + f.Path, SHA256: f.SHA256, Size: f.Size}
	}
	zipKey := "bench/" + prefix + sub.RequestID + "/egress_data.zip"
	if _, err := st.Objects.WriteZip(ctx, local.DatalakeBucket, zipKey, entries); err != nil {
		return err
	}
	if _, err := st.Objects.DeletePrefix(ctx, local.StagingBucket, staged); err != nil {
		return err
	}
	url, err := st.Objects.Presign(ctx, local.DatalakeBucket, zipKey, 5*time.Minute)
	if err != nil {
		return err
	}
	return checkDownload(ctx, url, sub.Files)
}

// checkDownload GETs a zip as a browser would and checks it holds exactly
// the files (besides its SHA256SUMS and manifest.json).
func checkDownload(ctx context.Context, url string, want map[string][]byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return fmt.Errorf("download: HTTP %d: %v", resp.StatusCode, err)
	}
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		return err
	}
	seen := 0
	for _, f := range zr.File {
		src, ok := want[f.Name]
		if !ok {
			if f.Name == egress.ZipSumsName || f.Name == egress.ZipManifestName {
				continue
			}
			return fmt.Errorf("unexpected entry %q", f.Name)
		}
		rc, err := f.Open()
		if err != nil {
			return err
		}
		h := sha256.New()
		_, err = io.Copy(h, rc)
		rc.Close()
		if err != nil {
			return err
		}
		if a, b := h.Sum(nil), sha256.Sum256(src); !bytes.Equal(a, b[:]) {
			return fmt.Errorf("%s: SHA-256 %s, want %s", f.Name, hex.EncodeToString(a), hex.EncodeToString(b[:]))
		}
		seen++
	}
	if seen != len(want) {
		return fmt.Errorf("zip has %d of %d files", seen, len(want))
	}
	return nil
}
