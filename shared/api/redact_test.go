package api

import (
	"strings"
	"testing"

	"github.com/tre-egress/egress/shared/egress"
)

func TestRedact(t *testing.T) {
	token := strings.Repeat("AQCEAAAAKgAAAAMAAAAAAAAAAe", 8)
	in := "send task result: token " + token + ` failed; GET "http://127.0.0.1:9000/b/k?X-Amz-Signature=abc" done`
	got := egress.Redact(in)
	if strings.Contains(got, token) || strings.Contains(got, "X-Amz") || strings.Contains(got, "127.0.0.1") {
		t.Fatalf("redact = %q", got)
	}
	if !strings.Contains(got, "send task result") || !strings.Contains(got, "done") {
		t.Fatalf("redact removed too much: %q", got)
	}
}
