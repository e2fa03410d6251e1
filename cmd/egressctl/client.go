package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// APIError is a GraphQL error the API answered with: its errorType (for
// example UnauthorizedException, NotFoundError, ConflictError) and message.
type APIError struct {
	Type    string
	Message string
}

func (e *APIError) Error() string {
	if e.Type == "" {
		return "API error: " + e.Message
	}
	return fmt.Sprintf("API error %s: %s", e.Type, e.Message)
}

// TokenSource yields the bearer token of each call.
type TokenSource func(ctx context.Context) (string, error)

// Client speaks to the stack's GraphQL API, and to nothing else.
type Client struct {
	Endpoint string
	Token    TokenSource
	HTTP     *http.Client
}

// maxResponseBytes bounds a response read into memory (AppSync's own
// response limit is 5 MB).
const maxResponseBytes = 16 << 20

// Do runs a GraphQL document and decodes its data into out. The first
// GraphQL error comes back as an *APIError.
func (c *Client) Do(ctx context.Context, query string, vars map[string]any, out any) error {
	token, err := c.Token(ctx)
	if err != nil {
		return &signInError{err}
	}
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Endpoint, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("API URL %q: %w", c.Endpoint, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", token)
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return &connError{fmt.Errorf("reach the API at %s: %w", c.Endpoint, unwrapURL(err))}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return &connError{fmt.Errorf("read the API's answer: %w", err)}
	}
	var res struct {
		Data   json.RawMessage `json:"data"`
		Errors []struct {
			ErrorType string `json:"errorType"`
			Message   string `json:"message"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(b, &res); err != nil {
		return &connError{fmt.Errorf("the API answered HTTP %d, not GraphQL JSON: %w", resp.StatusCode, err)}
	}
	if len(res.Errors) > 0 {
		return &APIError{Type: res.Errors[0].ErrorType, Message: res.Errors[0].Message}
	}
	if resp.StatusCode != http.StatusOK {
		return &connError{fmt.Errorf("the API answered HTTP %d", resp.StatusCode)}
	}
	if out != nil && len(res.Data) > 0 {
		if err := json.Unmarshal(res.Data, out); err != nil {
			return fmt.Errorf("decode the API's answer: %w", err)
		}
	}
	return nil
}

// unwrapURL drops the URL an *url.Error quotes: a presigned URL is a
// credential and must not reach the terminal.
func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

// Errors sorted by exit code (see exitCode).
type (
	usageError  struct{ error }
	checkFailed struct{ error }
	signInError struct{ error }
	connError   struct{ error }
)

func (e *signInError) Unwrap() error { return e.error }
func (e *connError) Unwrap() error   { return e.error }

func usagef(format string, args ...any) error { return &usageError{fmt.Errorf(format, args...)} }

// Exit codes, documented in README ("Operating with egressctl").
const (
	exitOK      = 0
	exitCheck   = 1 // a check failed: release drift, a broken audit chain
	exitUsage   = 2 // bad command line
	exitAPI     = 3 // the API refused or failed (GraphQL errorType shown)
	exitSignIn  = 4 // could not sign in
	exitConnect = 5 // could not reach the API or the download, or write the output
)

func exitCode(err error) int {
	var (
		u  *usageError
		c  *checkFailed
		a  *APIError
		si *signInError
	)
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &u):
		return exitUsage
	case errors.As(err, &c):
		return exitCheck
	case errors.As(err, &a):
		return exitAPI
	case errors.As(err, &si):
		return exitSignIn
	default:
		return exitConnect
	}
}
