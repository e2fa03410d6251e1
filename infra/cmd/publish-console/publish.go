package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/amplify"
	"github.com/aws/aws-sdk-go-v2/service/amplify/types"
)

// Amplify is what publishing needs of Amplify Hosting; *amplify.Client
// implements it.
type Amplify interface {
	CreateDeployment(context.Context, *amplify.CreateDeploymentInput, ...func(*amplify.Options)) (*amplify.CreateDeploymentOutput, error)
	StartDeployment(context.Context, *amplify.StartDeploymentInput, ...func(*amplify.Options)) (*amplify.StartDeploymentOutput, error)
	GetJob(context.Context, *amplify.GetJobInput, ...func(*amplify.Options)) (*amplify.GetJobOutput, error)
}

// publisher deploys a zip to an Amplify Hosting branch: a manual
// deployment (CreateDeployment), the zip PUT to the upload URL it returns,
// StartDeployment, then GetJob until the job ends.
type publisher struct {
	Amplify Amplify
	HTTP    *http.Client  // uploads the zip
	Poll    time.Duration // between GetJob calls
	Log     func(format string, args ...any)
}

// publish deploys zip to branch of app and waits for the job; ctx bounds
// the wait. It returns the job's id.
func (p *publisher) publish(ctx context.Context, app, branch string, zip []byte) (string, error) {
	where := fmt.Sprintf("Amplify app %s branch %s", app, branch)
	created, err := p.Amplify.CreateDeployment(ctx, &amplify.CreateDeploymentInput{AppId: aws.String(app), BranchName: aws.String(branch)})
	if err != nil {
		return "", fmt.Errorf("%s: create deployment: %w", where, err)
	}
	job, upload := aws.ToString(created.JobId), aws.ToString(created.ZipUploadUrl)
	if job == "" || upload == "" {
		return "", fmt.Errorf("%s: create deployment returned no job id or no zip upload URL", where)
	}
	p.logf("uploading %d bytes for job %s", len(zip), job)
	if err := p.upload(ctx, upload, zip); err != nil {
		return job, fmt.Errorf("%s: job %s: %w", where, job, err)
	}
	if _, err := p.Amplify.StartDeployment(ctx, &amplify.StartDeploymentInput{AppId: aws.String(app), BranchName: aws.String(branch), JobId: aws.String(job)}); err != nil {
		return job, fmt.Errorf("%s: start deployment of job %s: %w", where, job, err)
	}
	last := types.JobStatus("")
	for {
		got, err := p.Amplify.GetJob(ctx, &amplify.GetJobInput{AppId: aws.String(app), BranchName: aws.String(branch), JobId: aws.String(job)})
		if err != nil && ctx.Err() != nil && last != "" {
			// Cut short by the deadline: say how far the job got.
			return job, fmt.Errorf("%s: job %s still %s: %w", where, job, last, ctx.Err())
		}
		if err != nil {
			return job, fmt.Errorf("%s: job %s: %w", where, job, err)
		}
		if got.Job == nil || got.Job.Summary == nil {
			return job, fmt.Errorf("%s: job %s: GetJob returned no job summary", where, job)
		}
		status := got.Job.Summary.Status
		if status != last {
			p.logf("job %s: %s", job, status)
			last = status
		}
		switch status {
		case types.JobStatusSucceed:
			return job, nil
		case types.JobStatusFailed, types.JobStatusCancelled, types.JobStatusCancelling:
			return job, fmt.Errorf("%s: job %s ended %s%s", where, job, status, failedSteps(got.Job.Steps))
		}
		select {
		case <-ctx.Done():
			return job, fmt.Errorf("%s: job %s still %s: %w", where, job, status, ctx.Err())
		case <-time.After(p.Poll):
		}
	}
}

// failedSteps describes the steps that did not succeed, with their
// reasons (never their log URLs: presigned).
func failedSteps(steps []types.Step) string {
	var s []string
	for _, st := range steps {
		if st.Status != types.JobStatusSucceed {
			d := aws.ToString(st.StepName) + " " + string(st.Status)
			if r := aws.ToString(st.StatusReason); r != "" {
				d += ": " + r
			}
			s = append(s, d)
		}
	}
	if len(s) == 0 {
		return ""
	}
	return " (" + strings.Join(s, "; ") + ")"
}

// upload PUTs zip to the presigned upload URL. The URL is a credential:
// errors name its host only.
func (p *publisher) upload(ctx context.Context, uploadURL string, zip []byte) error {
	u, err := url.Parse(uploadURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return errors.New("the zip upload URL Amplify returned is not an http(s) URL")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, uploadURL, bytes.NewReader(zip))
	if err != nil {
		return fmt.Errorf("upload the zip to %s: %v", u.Host, redact(err))
	}
	req.Header.Set("Content-Type", "application/zip")
	resp, err := p.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("upload the zip to %s: %v", u.Host, redact(err))
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("upload the zip to %s: %s: %s", u.Host, resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

// redact drops the URL from an *url.Error, keeping what went wrong.
func redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func (p *publisher) logf(format string, args ...any) {
	if p.Log != nil {
		p.Log(format, args...)
	}
}
